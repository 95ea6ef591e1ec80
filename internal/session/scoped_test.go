package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// introspect asks the provider what a token is (RFC 7662); oidc-provider
// lets a public client introspect its own tokens.
func introspect(t *testing.T, srv *oidctest.Server, token string) (active bool, scope string) {
	t.Helper()
	res, err := http.PostForm(srv.IntrospectionEndpoint, url.Values{"token": {token}, "client_id": {srv.PublicClientID}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Active bool   `json:"active"`
		Scope  string `json:"scope"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Active, out.Scope
}

func refreshes(t *testing.T, srv *oidctest.Server) int {
	t.Helper()
	st, err := srv.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.RefreshRequests
}

// A token for fewer scopes comes from a refresh request with scope
// (RFC 6749 §6); it is cached per scope set, the rotated refresh token it
// brings replaces the stored one, and the sign-in's own token stays.
func TestScopedToken(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s := newSession(t, srv, nil)
	ctx := context.Background()
	e := login(t, s, srv)

	narrow := []string{"openid", "api:read"}
	tok, err := s.ScopedToken(ctx, time.Minute, narrow)
	if err != nil {
		t.Fatalf("ScopedToken: %v\n%s", err, srv.Output())
	}
	if tok.AccessToken == e.AccessToken {
		t.Fatal("the scoped token is the sign-in's own")
	}
	if active, scope := introspect(t, srv, tok.AccessToken); !active || scope != "openid api:read" {
		t.Fatalf("scoped token: active %v, scope %q; want openid api:read", active, scope)
	}
	if active, scope := introspect(t, srv, e.AccessToken); !active || !strings.Contains(scope, "email") {
		t.Fatalf("the sign-in's token: active %v, scope %q", active, scope)
	}
	after, _ := s.Store.Load(s.Profile)
	if after.RefreshToken == e.RefreshToken || after.AccessToken != e.AccessToken {
		t.Fatal("the rotated refresh token was not stored, or the main token was replaced")
	}

	// Cached: no second request, whatever the order of the scopes.
	n := refreshes(t, srv)
	again, err := s.ScopedToken(ctx, time.Minute, []string{"api:read", "openid", "api:read"})
	if err != nil || again.AccessToken != tok.AccessToken || refreshes(t, srv) != n {
		t.Fatalf("second call: %v, same token %v, refreshes %d -> %d", err, again != nil && again.AccessToken == tok.AccessToken, n, refreshes(t, srv))
	}
	// Another set has its own token.
	other, err := s.ScopedToken(ctx, time.Minute, []string{"email", "openid"})
	if err != nil || other.AccessToken == tok.AccessToken {
		t.Fatalf("other set: %v", err)
	}
	st, _ := s.Status()
	if len(st.ScopedTokens) != 2 {
		t.Fatalf("status lists %d scoped tokens, want 2", len(st.ScopedTokens))
	}

	// The stored (twice rotated) refresh token still works: had a spent
	// one been kept, oidc-provider would now revoke the whole grant.
	if _, err := s.Refresh(ctx); err != nil {
		t.Fatalf("plain refresh after scoped ones: %v", err)
	}
	if active, _ := introspect(t, srv, tok.AccessToken); !active {
		t.Fatal("the scoped token died: the grant was revoked")
	}
	stats, _ := srv.Stats(ctx)
	if stats.InvalidGrantResponses != 0 {
		t.Fatalf("%d invalid_grant answers", stats.InvalidGrantResponses)
	}
}

// A scope that was not granted is refused with a clear error, and the
// sign-in survives it.
func TestScopedTokenRefused(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s := newSession(t, srv, nil)
	ctx := context.Background()
	login(t, s, srv)

	_, err := s.ScopedToken(ctx, time.Minute, []string{"openid", "api:write"})
	if !errors.Is(err, session.ErrScopeRefused) || cli.Code(err) != exitcode.Provider || !strings.Contains(err.Error(), "invalid_scope") {
		t.Fatalf("got %v (exit %d)", err, cli.Code(err))
	}
	if st, _ := s.Status(); st.State != session.StateOK {
		t.Fatalf("state %s after a refused scope", st.State)
	}
	if _, err := s.Refresh(ctx); err != nil {
		t.Fatalf("refresh after a refused scope: %v", err)
	}
}

// Many processes asking for scoped tokens and refreshing at once spend
// each refresh token once: the grant is never revoked for reuse.
func TestScopedTokenConcurrent(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s0 := newSession(t, srv, nil)
	login(t, s0, srv)
	sets := [][]string{{"openid"}, {"openid", "api:read"}, {"email", "openid"}, {"api:read"}}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSession(t, srv, s0.Store) // a separate "process" on the same cache
			var err error
			if i%4 == 3 {
				_, err = s.Refresh(context.Background())
			} else {
				_, err = s.ScopedToken(context.Background(), time.Minute, sets[i%len(sets)])
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	stats, _ := srv.Stats(context.Background())
	if stats.InvalidGrantResponses != 0 {
		t.Fatalf("%d invalid_grant answers: a spent refresh token was sent", stats.InvalidGrantResponses)
	}
	if _, err := s0.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// GitHub takes no scope on refresh: said before anything is sent.
func TestScopedTokenGitHub(t *testing.T) {
	pr, err := provider.New(&config.Profile{Name: "gh", Prefix: "OAUTH_GH", Provider: "github", ClientID: "Iv1.x"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := tokencache.Open(t.TempDir(), nil)
	s := &session.Session{Profile: "gh", Provider: pr, Store: store, HTTP: http.DefaultClient}
	_, err = s.ScopedToken(context.Background(), 0, []string{"repo"})
	if !errors.Is(err, session.ErrNoScopedRefresh) || cli.Code(err) != exitcode.Usage || !strings.Contains(err.Error(), "GitHub") {
		t.Fatalf("got %v", err)
	}
}

// A one-off grant keeps no refresh token: access ends with the access
// token, status says so, and logout revokes what is left.
func TestOneOff(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s := newSession(t, srv, nil)
	ctx := context.Background()
	opts, _ := person(t, srv, approve(srv, oidctest.ApproveOptions{}))
	opts.OneOff = true
	e, err := s.Login(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if e.RefreshToken != "" || !e.OneOff || e.Expiry.IsZero() {
		t.Fatalf("entry: refresh token kept %v, one-off %v", e.RefreshToken != "", e.OneOff)
	}
	for _, sc := range e.ScopesRequested {
		if sc == "offline_access" {
			t.Fatal("offline_access was asked for")
		}
	}
	st, _ := s.Status()
	if st.State != session.StateOK || !st.OneOff || !strings.Contains(st.Reason, "one-off") || st.HasRefreshToken {
		t.Fatalf("status %+v", st)
	}
	if ev := cli.SignedInEvent(s, "signed_in", e); !ev.OneOff || ev.AccessExpiresAt == nil {
		t.Fatalf("event %+v", ev)
	}
	if _, err := s.Token(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ScopedToken(ctx, 0, []string{"openid"}); !errors.Is(err, session.ErrNoScopedRefresh) {
		t.Fatalf("scoped token from a one-off grant: %v", err)
	}

	// After the access token expires: a sign-in is required, and why.
	later := *s
	later.Now = func() time.Time { return e.Expiry.Add(time.Second) }
	_, err = later.Token(ctx, 0)
	if !errors.Is(err, session.ErrSignInRequired) {
		t.Fatalf("after expiry: %v", err)
	}
	if st, _ := later.Status(); st.State != session.StateSignInRequired || !strings.Contains(st.Reason, "one-off grant ended") {
		t.Fatalf("status after expiry %+v", st)
	}

	// Logout revokes the access token, the only thing left.
	res, err := s.Logout(ctx, false)
	if err != nil || res != session.Revoked {
		t.Fatalf("logout: %v, %v", res, err)
	}
	if active, _ := introspect(t, srv, e.AccessToken); active {
		t.Fatal("the access token is still active after logout")
	}
}

// OAUTH_ONE_OFF does the same as LoginOptions.OneOff.
func TestOneOffProfile(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	hc := &http.Client{Timeout: 10 * time.Second}
	pr, err := provider.New(&config.Profile{Name: "default", Prefix: "OAUTH", Provider: "oidc", Issuer: srv.Issuer,
		ClientID: srv.PublicClientID, Scopes: scopes, OneOff: true}, hc)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := tokencache.Open(t.TempDir(), nil)
	s := &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: hc}
	e := login(t, s, srv)
	if e.RefreshToken != "" || !e.OneOff {
		t.Fatal("OAUTH_ONE_OFF kept a refresh token")
	}
	stats, _ := srv.Stats(context.Background())
	if stats.RefreshRequests != 0 {
		t.Fatal("a refresh was sent")
	}
}
