package main

// The command line against a second, independent provider: ZITADEL's
// OpenID provider library (internal/demoidp, the demo's provider), besides
// oidc-provider in e2e_test.go. Same claims, other implementation: other
// error bodies (invalid_client as HTTP 401, invalid_grant without a
// description), a server-sent interval, verification_uri_complete, scopes
// narrowed by the provider and by the person, reuse detection of rotated
// refresh tokens (ours), revocation answering a JSON null.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/demoidp"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/demoidptest"
)

// zEnv is the environment of a sidecar process talking to the ZITADEL-based provider.
func zEnv(t *testing.T, srv *demoidptest.Server, extra ...string) []string {
	return oidcEnv(t, srv.Issuer, srv.ClientID, extra...)
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// cachedRefreshToken reads the refresh token from the (plaintext) cache.
func cachedRefreshToken(t *testing.T, env []string) string {
	b, err := os.ReadFile(filepath.Join(envValue(env, "XDG_DATA_HOME"), "devicegate", "default.token"))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.RefreshToken == "" {
		t.Fatalf("no refresh token in the cache (%v)", err)
	}
	return e.RefreshToken
}

// refreshAt asks the provider directly for a refresh, as a second client
// holding the same token would; it returns the OAuth error code or "".
func refreshAt(t *testing.T, srv *demoidptest.Server, rt string) string {
	res, err := http.PostForm(srv.Issuer+"/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {srv.ClientID},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	return body.Error
}

// meStatus is the provider's answer to /me with access: 200, or 401 or 403
// (the library's userinfo answers 403 to a token it decrypts but no longer
// knows).
func meStatus(t *testing.T, srv *demoidptest.Server, access string) int {
	req, _ := http.NewRequest(http.MethodGet, srv.Issuer+demoidp.PathMe, nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestZitadelSignInNarrowedScopesAndRevocation(t *testing.T) {
	t.Parallel()
	srv := demoidptest.Start(t, demoidp.Options{PollInterval: time.Second})
	// api:admin is unknown to the provider: it narrows the request instead
	// of refusing it. The person then unticks api:read.
	env := zEnv(t, srv, "OAUTH_SCOPES=openid profile email offline_access api:read api:admin")
	ctx := context.Background()
	events, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		if !strings.HasPrefix(ev.VerificationURIComplete, srv.Issuer+"/device?user_code=") {
			t.Errorf("verification_uri_complete %q", ev.VerificationURIComplete)
		}
		if err := srv.Approve(ctx, ev.UserCode, []string{"openid", "profile", "email", "offline_access"}); err != nil {
			t.Error(err)
		}
	})
	if code != 0 || len(events) != 2 {
		t.Fatalf("login exit %d, events %+v, stderr %s", code, events, stderr)
	}
	done := events[1]
	if done.Event != "signed_in" || done.Name != "Demo User" || done.Email != "demo@example.com" ||
		strings.Join(done.Scopes, " ") != "openid profile email offline_access" ||
		strings.Join(done.ScopesNotGranted, " ") != "api:read api:admin" {
		t.Fatalf("signed_in event %+v", done)
	}

	r := sidecar(t, env, "status", "--json")
	var st struct {
		State            string   `json:"state"`
		ScopesGranted    []string `json:"scopes_granted"`
		ScopesNotGranted []string `json:"scopes_not_granted"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.State != "ok" || len(st.ScopesGranted) != 4 || len(st.ScopesNotGranted) != 2 {
		t.Fatalf("status: %v %+v", err, r)
	}
	if r = sidecar(t, env, "api", "/me"); r.code != 0 || !strings.Contains(r.stdout, `"email":"demo@example.com"`) {
		t.Fatalf("api /me: %+v", r)
	}

	// A refresh keeps the narrowed grant and rotates the refresh token.
	rt := cachedRefreshToken(t, env)
	access := strings.TrimSpace(sidecar(t, env, "token").stdout)
	r = sidecar(t, env, "token", "--min-ttl", "2h")
	fresh := strings.TrimSpace(r.stdout)
	if r.code != 0 || fresh == access || cachedRefreshToken(t, env) == rt {
		t.Fatalf("forced refresh: exit %d, new access %v, rotated %v", r.code, fresh != access, cachedRefreshToken(t, env) != rt)
	}
	if got := srv.Stats().TokenRequestsByGrant["refresh_token"]; got != 1 {
		t.Fatalf("%d refresh requests, want 1", got)
	}
	r = sidecar(t, env, "status", "--json")
	json.Unmarshal([]byte(r.stdout), &st)
	if strings.Join(st.ScopesGranted, " ") != "openid profile email offline_access" {
		t.Fatalf("scopes after refresh: %+v", st)
	}

	// logout revokes at the provider: the access token and the grant.
	rt = cachedRefreshToken(t, env)
	if r = sidecar(t, env, "logout"); r.code != 0 || !strings.Contains(r.stdout, "revoked") {
		t.Fatalf("logout: %+v", r)
	}
	if srv.Stats().Revocations == 0 {
		t.Fatal("logout sent no revocation")
	}
	if got := meStatus(t, srv, fresh); got != http.StatusUnauthorized && got != http.StatusForbidden {
		t.Fatalf("revoked access token: /me answered %d", got)
	}
	if got := refreshAt(t, srv, rt); got != "invalid_grant" {
		t.Fatalf("refresh with the revoked refresh token: %q, want invalid_grant", got)
	}
	if r = sidecar(t, env, "token"); r.code != exitcode.SignInRequired {
		t.Fatalf("token after logout: %+v", r)
	}
	assertNoSecrets(t, []string{access, fresh, rt}, r)
}

func TestZitadelDeclineExpiryAndRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A decline, with codes that live the provider's default ten minutes:
	// a busy machine declines before the code expires.
	declining := demoidptest.Start(t, demoidp.Options{PollInterval: time.Second})
	events, code, _ := loginJSON(t, zEnv(t, declining), func(ev cli.Event) {
		if err := declining.Deny(ctx, ev.UserCode); err != nil {
			t.Error(err)
		}
	})
	if last := events[len(events)-1]; code != exitcode.Declined || last.Event != "error" || last.Code != exitcode.Declined {
		t.Fatalf("decline: exit %d events %+v", code, events)
	}

	// Codes of six seconds: the first one expires unused; the fresh one
	// is approved the moment the restart is announced, one HTTP request
	// away, so six seconds hold on a loaded machine under the race
	// detector (this provider, unlike oidctest's SetDeviceCodeTTL, cannot
	// lengthen only the codes it issues later).
	srv := demoidptest.Start(t, demoidp.Options{PollInterval: time.Second, DeviceCodeTTL: 6 * time.Second})
	env := zEnv(t, srv)

	// The first code expires unused; the restart's code is approved.
	events, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		if ev.Event == "restart" {
			if err := srv.Approve(ctx, ev.UserCode, nil); err != nil {
				t.Error(err)
			}
		}
	})
	kinds := []string{}
	for _, ev := range events {
		kinds = append(kinds, ev.Event)
	}
	if code != 0 || strings.Join(kinds, ",") != "code,restart,signed_in" {
		t.Fatalf("expiry then restart: exit %d, events %v, stderr %s", code, kinds, stderr)
	}
	// An expired code is refused on the page too.
	if err := srv.Approve(ctx, events[0].UserCode, nil); err == nil {
		t.Fatal("the expired code was accepted")
	}

	// Both codes expire: timed out.
	env = zEnv(t, srv)
	events, code, _ = loginJSON(t, env, func(cli.Event) {})
	if code != exitcode.TimedOut || events[len(events)-1].Event != "error" {
		t.Fatalf("timeout: exit %d events %+v", code, events)
	}
}

// 32 processes that all want a fresh token at once cause exactly one
// refresh request. With this provider a second refresh with the same
// token would not just fail: reuse detection would end the sign-in.
func TestZitadelConcurrentRefreshIsSingle(t *testing.T) {
	t.Parallel()
	const minTTL = time.Minute // the provider's tokens live an hour
	srv := demoidptest.Start(t, demoidp.Options{PollInterval: time.Second})
	env := zEnv(t, srv)
	ctx := context.Background()
	if _, code, stderr := loginJSON(t, env, func(ev cli.Event) { srv.Approve(ctx, ev.UserCode, nil) }); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	before := expireCached(t, env)
	oldRT := cachedRefreshToken(t, env)
	base := srv.Stats().TokenRequestsByGrant["refresh_token"]
	first := tokensAtOnce(t, env, 32, minTTL, before)
	if got := srv.Stats().TokenRequestsByGrant["refresh_token"] - base; got != 1 {
		t.Fatalf("%d refresh requests, want 1", got)
	}
	if meStatus(t, srv, first) != http.StatusOK {
		t.Fatal("the refreshed token does not work")
	}
	// What the lock prevents: the rotated token presented again ends the
	// grant, the current tokens included.
	if got := refreshAt(t, srv, oldRT); got != "invalid_grant" {
		t.Fatalf("reused refresh token: %q, want invalid_grant", got)
	}
	if got := meStatus(t, srv, first); got != http.StatusUnauthorized && got != http.StatusForbidden {
		t.Fatal("reuse did not revoke the grant")
	}
	r := sidecar(t, env, "token", "--min-ttl", "2h")
	if r.code != exitcode.SignInRequired {
		t.Fatalf("token after the grant was revoked: %+v", r)
	}
}

func TestZitadelUnknownClient(t *testing.T) {
	t.Parallel()
	srv := demoidptest.Start(t, demoidp.Options{})
	env := zEnv(t, srv, "OAUTH_CLIENT_ID=no-such-client")
	events, code, stderr := loginJSON(t, env, func(cli.Event) {})
	if code != exitcode.Provider || !slices.ContainsFunc(events, func(ev cli.Event) bool { return ev.Event == "error" }) {
		t.Fatalf("exit %d, events %+v", code, events)
	}
	if !strings.Contains(stderr, "invalid_client") || !strings.Contains(stderr, "hint: check OAUTH_CLIENT_ID and the app registration") {
		t.Fatalf("stderr: %s", stderr)
	}
}

// A sign-in as another person at ZITADEL's provider, on the same issuer:
// even with `allow signin` the agent cannot put that account in place of
// the owner's without the owner's confirmation, and no serve listens here,
// so it is refused (exit 8) and the old sign-in kept.
func TestZitadelAnotherAccountKeepsTheOld(t *testing.T) {
	t.Parallel()
	srv := demoidptest.Start(t, demoidp.Options{PollInterval: time.Second})
	env := zEnv(t, srv, "OAUTH_POLICY=allow signin")
	ctx := context.Background()
	if _, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		if err := srv.Approve(ctx, ev.UserCode, nil); err != nil {
			t.Error(err)
		}
	}); code != 0 {
		t.Fatalf("the owner's login: exit %d\n%s", code, stderr)
	}
	before := cachedRefreshToken(t, env)

	// The same issuer, now answering for someone else.
	srv.Stop()
	addr := strings.TrimPrefix(srv.Issuer, "http://")
	other := demoidptest.StartAt(t, addr, demoidp.Options{PollInterval: time.Second,
		User: demoidp.User{Login: "mallory", Password: "pw", Name: "Mallory Example", Email: "mallory@example.com"}})
	r := <-agentLogin(env, func(code string) {
		if err := other.Approve(ctx, code, nil); err != nil {
			t.Error(err)
		}
	})
	if r.code != exitcode.Refused || !strings.Contains(r.stderr, "as Mallory Example (mallory@example.com) in place of Demo User (demo@example.com)") ||
		!strings.Contains(r.stderr, "no gatekeeper bot listens and nobody runs sidecar approvals") || strings.Contains(r.stdout, `"signed_in"`) {
		t.Fatalf("the agent's login as mallory: %+v", r)
	}
	if after := cachedRefreshToken(t, env); after != before {
		t.Fatal("the refused sign-in replaced the cache")
	}
	if s := sidecar(t, env, "status"); !strings.Contains(s.stdout, "demo@example.com") {
		t.Fatalf("status: %+v", s)
	}
}
