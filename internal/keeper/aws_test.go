package keeper

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/testing/awsssotest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Keep-alive works for AWS like for any provider: the IAM Identity Center
// refresh token is used before it goes stale, through SSO-OIDC's
// refresh_token grant.
func TestKeepaliveAWS(t *testing.T) {
	t.Parallel()
	fake := awsssotest.Start(t, awsssotest.Options{})
	hc := &http.Client{Timeout: 10 * time.Second}
	pr, err := provider.New(&config.Profile{Name: "aws", Prefix: "OAUTH_AWS", Provider: "aws",
		StartURL: fake.StartURL(), Region: "eu-west-1", AccountID: fake.AccountID(), RoleName: fake.RoleName(),
		OidcURL: fake.URL, PortalURL: fake.URL}, hc)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := tokencache.Open(t.TempDir(), nil)
	s := &session.Session{Profile: "aws", Provider: pr, Store: store, HTTP: hc}
	ctx := context.Background()
	e, err := s.Login(ctx, session.LoginOptions{Display: func(ctx context.Context, c deviceflow.Code) error {
		return fake.Approve(c.UserCode)
	}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuf{}
	k := &Keeper{Sessions: []*session.Session{s}, Keepalive: time.Hour, Log: slog.New(slog.NewTextHandler(logs, nil))}
	k.Margin = time.Minute
	k.Round(ctx)
	if fake.Counts().Refresh != 0 {
		t.Fatal("refreshed a fresh sign-in")
	}
	// Eleven minutes on, with a ten-minute keep-alive (the access token is
	// still valid): one keep-alive refresh, and not another right after.
	k.Keepalive = 10 * time.Minute
	k.now = func() time.Time { return time.Now().Add(11 * time.Minute) }
	k.Round(ctx)
	k.Keepalive = time.Hour
	k.Round(ctx)
	if got := fake.Counts().Refresh; got != 1 {
		t.Fatalf("%d refreshes, want 1\n%s", got, logs)
	}
	after, _ := s.Load()
	if after.RefreshToken == e.RefreshToken || !strings.Contains(logs.String(), "why=keepalive") {
		t.Fatalf("refresh token not rotated, or log:\n%s", logs)
	}
	for _, secret := range []string{e.AccessToken, e.RefreshToken, after.RefreshToken, e.AWS.ClientSecret} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("a secret is in the log")
		}
	}
}
