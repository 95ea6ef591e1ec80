package session_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// BenchmarkTokenCached measures the hot path of `sidecar token`: a valid
// token read from the cache, no network.
func BenchmarkTokenCached(b *testing.B) {
	for _, enc := range []bool{false, true} {
		name := map[bool]string{false: "plaintext", true: "encrypted"}[enc]
		b.Run(name, func(b *testing.B) {
			var key []byte
			if enc {
				key, _ = tokencache.ParseKey(tokencache.NewKey())
			}
			store, _ := tokencache.Open(b.TempDir(), key)
			store.Save(&tokencache.Entry{Profile: "default", Provider: "github", AccessToken: "gho_" + string(make([]byte, 36)),
				RefreshToken: "ghr_x", Expiry: time.Now().Add(time.Hour), ScopesGranted: []string{"repo", "read:org"}})
			pr, _ := provider.New(&config.Profile{Name: "default", Provider: "github", ClientID: "x"}, http.DefaultClient)
			s := &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: http.DefaultClient}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Token(ctx, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScopedTokenCached measures `sidecar token --scope` when the
// scope set's token is cached (three sets held), and
// BenchmarkAWSCredentialsCached `sidecar token --aws-credentials` with
// cached role credentials: both read the encrypted cache and nothing else.
func BenchmarkScopedTokenCached(b *testing.B) {
	key, _ := tokencache.ParseKey(tokencache.NewKey())
	store, _ := tokencache.Open(b.TempDir(), key)
	e := &tokencache.Entry{Profile: "default", Provider: "oidc", AccessToken: "a", RefreshToken: "r", Expiry: time.Now().Add(time.Hour)}
	for _, sc := range [][]string{{"openid"}, {"openid", "api:read"}, {"https://management.azure.com/.default"}} {
		e.SetScoped(&tokencache.ScopedToken{Scopes: sc, AccessToken: "scoped-" + sc[0], Expiry: time.Now().Add(time.Hour)})
	}
	store.Save(e)
	pr, _ := provider.New(&config.Profile{Name: "default", Provider: "oidc", Issuer: "https://idp.example", ClientID: "x"}, http.DefaultClient)
	s := &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: http.DefaultClient}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ScopedToken(ctx, time.Minute, []string{"api:read", "openid"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAWSCredentialsCached(b *testing.B) {
	key, _ := tokencache.ParseKey(tokencache.NewKey())
	store, _ := tokencache.Open(b.TempDir(), key)
	exp := time.Now().Add(time.Hour)
	store.Save(&tokencache.Entry{Profile: "aws", Provider: "aws", AccessToken: "a", RefreshToken: "r", Expiry: exp,
		AWS: &tokencache.AWS{AccountID: "123456789012", RoleName: "ReadOnly", ClientID: "c", ClientSecret: "s",
			Credentials: &tokencache.AWSCredentials{AccessKeyID: "ASIA", SecretAccessKey: "k", SessionToken: "t", Expiration: exp}}})
	pr, _ := provider.New(&config.Profile{Name: "aws", Provider: "aws", StartURL: "https://d-1.awsapps.com/start", Region: "eu-west-1",
		AccountID: "123456789012", RoleName: "ReadOnly"}, http.DefaultClient)
	s := &session.Session{Profile: "aws", Provider: pr, Store: store, HTTP: http.DefaultClient}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AWSCredentials(ctx, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
