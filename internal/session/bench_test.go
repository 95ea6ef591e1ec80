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
