package session_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const scopes = "openid profile email offline_access api:read"

func newSession(t *testing.T, srv *oidctest.Server, store *tokencache.Store) *session.Session {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	pr, err := provider.New(&config.Profile{Name: "default", Prefix: "OAUTH", Provider: "oidc", Issuer: srv.Issuer, ClientID: srv.PublicClientID, Scopes: scopes}, hc)
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		store, _ = tokencache.Open(t.TempDir(), nil)
	}
	return &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: hc, Restarts: 1}
}

// person plays the human: it answers each code shown with answer.
func person(t *testing.T, srv *oidctest.Server, answer func(c deviceflow.Code) error) (session.LoginOptions, *[]deviceflow.Code) {
	var shown []deviceflow.Code
	return session.LoginOptions{Display: func(ctx context.Context, c deviceflow.Code) error {
		shown = append(shown, c)
		go func() {
			if err := answer(c); err != nil {
				t.Errorf("person: %v", err)
			}
		}()
		return nil
	}}, &shown
}

func approve(srv *oidctest.Server, o oidctest.ApproveOptions) func(deviceflow.Code) error {
	return func(c deviceflow.Code) error { return srv.Approve(context.Background(), c.UserCode, o) }
}

func login(t *testing.T, s *session.Session, srv *oidctest.Server) *tokencache.Entry {
	t.Helper()
	opts, _ := person(t, srv, approve(srv, oidctest.ApproveOptions{}))
	e, err := s.Login(context.Background(), opts)
	if err != nil {
		t.Fatalf("Login: %v\n%s", err, srv.Output())
	}
	return e
}

func TestLoginRefreshRotateRevoke(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s := newSession(t, srv, nil)
	ctx := context.Background()

	e := login(t, s, srv)
	if e.AccessToken == "" || e.RefreshToken == "" {
		t.Fatal("no tokens")
	}
	if e.Account != (tokencache.Account{Name: "Alice Example", Email: "alice@example.com", Subject: "alice"}) {
		t.Fatalf("account = %+v", e.Account)
	}
	if !slices.Contains(e.ScopesGranted, "api:read") {
		t.Fatalf("granted = %v", e.ScopesGranted)
	}
	st, _ := s.Status()
	if st.State != session.StateOK || !st.HasRefreshToken || len(st.ScopesNotGranted) != 0 || st.CacheEncrypted {
		t.Fatalf("status = %+v", st)
	}

	// A valid token is served from the cache: no request at all.
	srv.ResetStats(ctx)
	got, err := s.Token(ctx, time.Minute)
	if err != nil || got.AccessToken != e.AccessToken {
		t.Fatalf("Token: %v", err)
	}
	if stats, _ := srv.Stats(ctx); stats.RefreshRequests != 0 {
		t.Fatal("refreshed a valid token")
	}

	// Asking for more life than the token has forces one refresh, which
	// rotates the refresh token.
	got, err = s.Token(ctx, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken == e.AccessToken || got.RefreshToken == e.RefreshToken || got.RefreshToken == "" {
		t.Fatal("refresh did not rotate the tokens")
	}
	if stats, _ := srv.Stats(ctx); stats.RefreshRequests != 1 {
		t.Fatalf("refresh requests = %d", stats.RefreshRequests)
	}
	if got.Account.Email != "alice@example.com" {
		t.Fatal("refresh lost the identity")
	}

	// Logout revokes at the provider: the refresh token no longer works.
	res, err := s.Logout(ctx, false)
	if err != nil || res != session.Revoked {
		t.Fatalf("Logout = %v, %v", res, err)
	}
	if stats, _ := srv.Stats(ctx); stats.Revocations != 1 {
		t.Fatal("no revocation request")
	}
	if _, err := s.Token(ctx, 0); !errors.Is(err, session.ErrSignInRequired) || cli.Code(err) != exitcode.SignInRequired {
		t.Fatalf("after logout: %v", err)
	}
	// Putting the revoked grant back proves the provider forgot it.
	s.Store.Save(got)
	if _, err := s.Token(ctx, 2*time.Hour); !errors.Is(err, session.ErrSignInRequired) {
		t.Fatalf("revoked refresh token still works: %v", err)
	}
	if st, _ := s.Status(); st.State != session.StateSignInRequired || !strings.Contains(st.Reason, "invalid_grant") {
		t.Fatalf("status after invalid_grant = %+v", st)
	}
	// A second logout of a dead grant just forgets it.
	if res, err := s.Logout(ctx, false); err != nil || res != session.Forgotten {
		t.Fatalf("Logout after invalid_grant = %v, %v", res, err)
	}
}

func TestLoginDeclined(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s := newSession(t, srv, nil)
	opts, _ := person(t, srv, func(c deviceflow.Code) error { return srv.Deny(context.Background(), c.UserCode) })
	_, err := s.Login(context.Background(), opts)
	if !errors.Is(err, deviceflow.ErrDeclined) || cli.Code(err) != exitcode.Declined {
		t.Fatalf("err = %v (exit %d)", err, cli.Code(err))
	}
	if _, err := s.Store.Load("default"); !errors.Is(err, tokencache.ErrNotFound) {
		t.Fatal("a declined sign-in wrote a cache")
	}
}

func TestExpiryRestartsWithFreshCode(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second, DeviceCodeTTL: 3 * time.Second})
	s := newSession(t, srv, nil)
	// The person misses the first code and approves the second. Codes
	// issued after the first live a minute: the second must not expire
	// before a busy machine has approved it.
	opts, shown := person(t, srv, func(c deviceflow.Code) error {
		if c.Attempt == 0 {
			return srv.SetDeviceCodeTTL(context.Background(), time.Minute)
		}
		return srv.Approve(context.Background(), c.UserCode, oidctest.ApproveOptions{})
	})
	if _, err := s.Login(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if len(*shown) != 2 || (*shown)[0].UserCode == (*shown)[1].UserCode || (*shown)[1].Attempt != 1 {
		t.Fatalf("codes shown: %+v", *shown)
	}
}

func TestTimedOutAfterAllRestarts(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second, DeviceCodeTTL: 2 * time.Second})
	s := newSession(t, srv, nil)
	s.Restarts = 1
	opts, shown := person(t, srv, func(deviceflow.Code) error { return nil })
	_, err := s.Login(context.Background(), opts)
	if cli.Code(err) != exitcode.TimedOut || !errors.Is(err, deviceflow.ErrExpired) {
		t.Fatalf("err = %v (exit %d)", err, cli.Code(err))
	}
	if len(*shown) != 2 {
		t.Fatalf("%d codes shown, want 2", len(*shown))
	}
}

func TestSlowDownIsHonoured(t *testing.T) {
	t.Parallel()
	// The provider answers slow_down to any poll sooner than the interval
	// it advertised: a client that respects the interval never draws one.
	// (Reacting to slow_down is covered in package deviceflow.)
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second, SlowDown: true, SlowDownIncrement: time.Second})
	s := newSession(t, srv, nil)
	opts, _ := person(t, srv, func(c deviceflow.Code) error {
		time.Sleep(2500 * time.Millisecond)
		return srv.Approve(context.Background(), c.UserCode, oidctest.ApproveOptions{})
	})
	if _, err := s.Login(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	st, _ := srv.Stats(context.Background())
	if st.SlowDownResponses != 0 {
		t.Fatalf("client drew %d slow_down answers by polling faster than the interval", st.SlowDownResponses)
	}
}

func TestNarrowedScopes(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s := newSession(t, srv, nil)
	opts, _ := person(t, srv, approve(srv, oidctest.ApproveOptions{Scopes: []string{"openid", "offline_access", "email"}}))
	e, err := s.Login(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status()
	if strings.Join(st.ScopesNotGranted, " ") != "profile api:read" {
		t.Fatalf("not granted = %v (granted %v)", st.ScopesNotGranted, e.ScopesGranted)
	}
}

func TestEncryptedCache(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	key, _ := tokencache.ParseKey(tokencache.NewKey())
	dir := t.TempDir()
	store, _ := tokencache.Open(dir, key)
	s := newSession(t, srv, store)
	login(t, s, srv)
	st, _ := s.Status()
	if !st.CacheEncrypted || st.State != session.StateOK {
		t.Fatalf("status %+v", st)
	}
	wrong, _ := tokencache.ParseKey(tokencache.NewKey())
	s.Store, _ = tokencache.Open(dir, wrong)
	_, err := s.Token(context.Background(), 0)
	if !errors.Is(err, session.ErrSignInRequired) || !strings.Contains(err.Error(), "SIDECAR_CACHE_KEY") {
		t.Fatalf("wrong key: %v", err)
	}
	s.Store, _ = tokencache.Open(dir, nil)
	_, err = s.Token(context.Background(), 0)
	var ke *session.KeyError
	if cli.Code(err) != exitcode.Usage || !errors.Is(err, tokencache.ErrNeedKey) || !errors.As(err, &ke) || ke.Profile != s.Profile {
		t.Fatalf("no key: %v", err)
	}
	// What to do is the command line's to say, not the message's.
	if strings.Contains(err.Error(), "set SIDECAR_CACHE_KEY") || !slices.Contains(cli.Sidecar.Hints(err),
		"set SIDECAR_CACHE_KEY (or SIDECAR_CACHE_KEY_FILE) to the key it was written with, or sign in again") {
		t.Fatalf("no key: %v, hints %q", err, cli.Sidecar.Hints(err))
	}
}

func TestProviderUnreachable(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second, AccessTokenTTL: 2 * time.Second})
	s := newSession(t, srv, nil)
	e := login(t, s, srv)
	s.Provider.Endpoints(context.Background()) // discovered while up
	srv.Close()
	// Still valid: handed out with a warning-worthy StaleError. The clock
	// is the session's, a second before the expiry: a busy machine that
	// takes two seconds to get here must not make the token expire.
	s.Now = func() time.Time { return e.Expiry.Add(-time.Second) }
	got, err := s.Token(context.Background(), time.Hour)
	var stale *session.StaleError
	if !errors.As(err, &stale) || got == nil || got.AccessToken != e.AccessToken {
		t.Fatalf("Token while down = %v, %v", got, err)
	}
	s.Now = func() time.Time { return e.Expiry.Add(100 * time.Millisecond) } // later: expired
	if _, err := s.Token(context.Background(), 0); cli.Code(err) != exitcode.Provider {
		t.Fatalf("expired while down: %v (exit %d)", err, cli.Code(err))
	}
	// Nothing was lost: the refresh token is still in the cache.
	if after, _ := s.Store.Load("default"); after.RefreshToken != e.RefreshToken || after.SignInRequired {
		t.Fatal("the cache changed while the provider was down")
	}
}
