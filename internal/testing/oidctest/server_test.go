package oidctest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
)

// These tests play the device with plain net/http, so they check the provider and the harness
// without depending on any client code of ours.

// fast makes polling quick: the provider advertises a 1 s interval and never asks to slow down.
var fast = oidctest.Options{PollInterval: time.Second}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, fast)
	doc := getJSON(t, s.Issuer+"/.well-known/openid-configuration", "")

	for key, want := range map[string]string{
		"issuer":                        s.Issuer,
		"device_authorization_endpoint": s.Issuer + "/device/auth",
		"token_endpoint":                s.Issuer + "/token",
		"revocation_endpoint":           s.Issuer + "/token/revocation",
		"userinfo_endpoint":             s.Issuer + "/me",
		"introspection_endpoint":        s.Issuer + "/token/introspection",
	} {
		if doc[key] != want {
			t.Errorf("discovery %s = %v, want %s", key, doc[key], want)
		}
	}
	if s.DeviceAuthorizationEndpoint != doc["device_authorization_endpoint"] || s.TokenEndpoint != doc["token_endpoint"] {
		t.Errorf("Server endpoints %q %q do not match discovery", s.DeviceAuthorizationEndpoint, s.TokenEndpoint)
	}
	scopes, _ := doc["scopes_supported"].([]any)
	for _, want := range strings.Fields(oidctest.SupportedScopes) {
		found := false
		for _, s := range scopes {
			found = found || s == want
		}
		if !found {
			t.Errorf("scopes_supported %v lacks %q", scopes, want)
		}
	}
}

func TestDeviceFlowApproveRefreshAndReuse(t *testing.T) {
	t.Parallel()
	opts := fast
	opts.AccessTokenTTL = 90 * time.Second
	opts.DeviceCodeTTL = 120 * time.Second
	s := oidctest.Start(t, opts)
	ctx := t.Context()
	public := client{id: s.PublicClientID}

	da := deviceAuth(t, s, public, oidctest.SupportedScopes)
	if da.Interval != 1 || da.ExpiresIn != 120 {
		t.Errorf("interval %d, expires_in %d; want 1, 120", da.Interval, da.ExpiresIn)
	}
	if da.VerificationURI != s.VerificationURI {
		t.Errorf("verification_uri %q, want %q", da.VerificationURI, s.VerificationURI)
	}
	// Polling at once, faster than the interval, is merely pending: the provider has no slow_down.
	if tr := token(t, s, public, url.Values{"grant_type": {oidctest.GrantTypeDeviceCode}, "device_code": {da.DeviceCode}}); tr.Error != "authorization_pending" {
		t.Fatalf("poll before approval: %+v, want authorization_pending", tr)
	}

	if err := s.Approve(ctx, da.UserCode, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	tok := poll(t, s, public, da)
	if tok.Error != "" {
		t.Fatalf("token: %s (%s)", tok.Error, tok.ErrorDescription)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.IDToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 90 {
		t.Errorf("token response lacks something: access %t refresh %t id %t type %q expires_in %d",
			tok.AccessToken != "", tok.RefreshToken != "", tok.IDToken != "", tok.TokenType, tok.ExpiresIn)
	}
	if !sameScopes(tok.Scope, oidctest.SupportedScopes) {
		t.Errorf("scope %q, want %q", tok.Scope, oidctest.SupportedScopes)
	}
	claims := jwtClaims(t, tok.IDToken)
	if claims["sub"] != "alice" || claims["iss"] != s.Issuer || claims["aud"] != s.PublicClientID {
		t.Errorf("id_token claims sub %v iss %v aud %v", claims["sub"], claims["iss"], claims["aud"])
	}
	info := getJSON(t, s.UserinfoEndpoint, tok.AccessToken)
	if info["sub"] != "alice" || info["name"] != "Alice Example" || info["email"] != "alice@example.com" {
		t.Errorf("userinfo %v", info)
	}

	// Refreshing rotates the refresh token.
	refresh := func(rt string) tokenResponse {
		return token(t, s, public, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	r1 := refresh(tok.RefreshToken)
	if r1.Error != "" || r1.AccessToken == "" || r1.RefreshToken == "" || r1.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: error %q, new refresh token %t", r1.Error, r1.RefreshToken != "" && r1.RefreshToken != tok.RefreshToken)
	}
	if !sameScopes(r1.Scope, oidctest.SupportedScopes) {
		t.Errorf("refreshed scope %q", r1.Scope)
	}
	// Reusing the rotated token is refused, and revokes the grant: the newest refresh token and
	// access token die too.
	if r := refresh(tok.RefreshToken); r.Error != "invalid_grant" {
		t.Errorf("reuse of a rotated refresh token: %q, want invalid_grant", r.Error)
	}
	if r := refresh(r1.RefreshToken); r.Error != "invalid_grant" {
		t.Errorf("refresh after reuse was detected: %q, want invalid_grant", r.Error)
	}
	if code := status(t, s.UserinfoEndpoint, r1.AccessToken); code != http.StatusUnauthorized {
		t.Errorf("userinfo with the access token of a revoked grant: %d, want 401", code)
	}

	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeviceAuthorizations != 1 || st.RefreshRequests != 3 || st.TokenRequestsByGrant["refresh_token"] != 3 ||
		st.TokenRequestsByGrant[oidctest.GrantTypeDeviceCode] < 2 || st.InvalidGrantResponses != 2 ||
		st.UserinfoRequests != 2 || st.TokenErrorsByCode["authorization_pending"] < 1 || st.SlowDownResponses != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Polling again with a device code that was already exchanged is treated like authorization
// code reuse: invalid_grant, and every token of the grant is revoked. A client must stop polling
// after its first success.
func TestDeviceCodeReuseRevokesGrant(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, fast)
	public := client{id: s.PublicClientID}
	da := deviceAuth(t, s, public, "openid offline_access")
	if err := s.Approve(t.Context(), da.UserCode, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	tok := poll(t, s, public, da)
	if tok.Error != "" || tok.RefreshToken == "" {
		t.Fatalf("token: %q, refresh token %t", tok.Error, tok.RefreshToken != "")
	}
	if tr := token(t, s, public, url.Values{"grant_type": {oidctest.GrantTypeDeviceCode}, "device_code": {da.DeviceCode}}); tr.Error != "invalid_grant" {
		t.Errorf("second exchange of the device code: %q, want invalid_grant", tr.Error)
	}
	if r := token(t, s, public, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); r.Error != "invalid_grant" {
		t.Errorf("refresh after the device code was reused: %q, want invalid_grant", r.Error)
	}
	if code := status(t, s.UserinfoEndpoint, tok.AccessToken); code != http.StatusUnauthorized {
		t.Errorf("userinfo after the device code was reused: %d, want 401", code)
	}
}

func TestDeny(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, fast)
	public := client{id: s.PublicClientID}
	da := deviceAuth(t, s, public, "openid offline_access")
	if err := s.Deny(t.Context(), da.UserCode); err != nil {
		t.Fatal(err)
	}
	if tok := poll(t, s, public, da); tok.Error != "access_denied" || tok.AccessToken != "" {
		t.Errorf("after deny: error %q, access token %t; want access_denied", tok.Error, tok.AccessToken != "")
	}
	// The code is spent: the person cannot approve it afterwards.
	if err := s.Approve(t.Context(), da.UserCode, oidctest.ApproveOptions{}); !errors.Is(err, oidctest.ErrUserCodeRejected) {
		t.Errorf("approve after deny: %v, want ErrUserCodeRejected", err)
	}
}

func TestNarrowedScopes(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, fast)
	public := client{id: s.PublicClientID}

	for _, tc := range []struct {
		name        string
		granted     []string
		wantRefresh bool
	}{
		{"without offline_access", []string{"openid", "api:read"}, false},
		{"with offline_access", []string{"openid", "offline_access", "api:read"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			da := deviceAuth(t, s, public, oidctest.SupportedScopes)
			if err := s.Approve(t.Context(), da.UserCode, oidctest.ApproveOptions{Scopes: tc.granted}); err != nil {
				t.Fatal(err)
			}
			tok := poll(t, s, public, da)
			if tok.Error != "" {
				t.Fatalf("token: %s (%s)", tok.Error, tok.ErrorDescription)
			}
			if !sameScopes(tok.Scope, strings.Join(tc.granted, " ")) {
				t.Errorf("scope %q, want %q", tok.Scope, strings.Join(tc.granted, " "))
			}
			if (tok.RefreshToken != "") != tc.wantRefresh {
				t.Errorf("refresh token issued: %t, want %t", tok.RefreshToken != "", tc.wantRefresh)
			}
			if tc.wantRefresh {
				r := token(t, s, public, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
				if r.Error != "" || !sameScopes(r.Scope, tok.Scope) {
					t.Errorf("refresh: error %q scope %q, want scope %q", r.Error, r.Scope, tok.Scope)
				}
			}
		})
	}

	t.Run("scope not requested", func(t *testing.T) {
		da := deviceAuth(t, s, public, "openid")
		err := s.Approve(t.Context(), da.UserCode, oidctest.ApproveOptions{Scopes: []string{"openid", "api:write"}})
		if err == nil || !strings.Contains(err.Error(), `"api:write" is not offered`) {
			t.Errorf("approve with an unrequested scope: %v", err)
		}
	})
}

func TestConfidentialClient(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, fast)
	conf := client{id: s.ConfidentialClientID, secret: s.ConfidentialClientSecret}

	da := deviceAuth(t, s, conf, "openid profile email offline_access")
	if err := s.Approve(t.Context(), da.UserCode, oidctest.ApproveOptions{Login: "bob"}); err != nil {
		t.Fatal(err)
	}
	tok := poll(t, s, conf, da)
	if tok.Error != "" || tok.RefreshToken == "" {
		t.Fatalf("token: %s (%s), refresh token %t", tok.Error, tok.ErrorDescription, tok.RefreshToken != "")
	}
	if info := getJSON(t, s.UserinfoEndpoint, tok.AccessToken); info["sub"] != "bob" || info["name"] != "Bob Example" || info["email"] != "bob@example.com" {
		t.Errorf("userinfo %v", info)
	}
	wrong := client{id: s.ConfidentialClientID, secret: "wrong"}
	if r := token(t, s, wrong, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); r.Error != "invalid_client" {
		t.Errorf("refresh with a wrong secret: %q, want invalid_client", r.Error)
	}
	// Revoking the refresh token ends the session.
	form := url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}
	if code := post(t, s.RevocationEndpoint, conf, form, nil); code != http.StatusOK {
		t.Errorf("revocation: HTTP %d, want 200", code)
	}
	if r := token(t, s, conf, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); r.Error != "invalid_grant" {
		t.Errorf("refresh after revocation: %q, want invalid_grant", r.Error)
	}
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Revocations != 1 || st.TokenErrorsByCode["invalid_client"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSlowDown(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, oidctest.Options{PollInterval: 2 * time.Second, SlowDown: true, SlowDownIncrement: time.Second})
	public := client{id: s.PublicClientID}
	da := deviceAuth(t, s, public, "openid")
	poll := url.Values{"grant_type": {oidctest.GrantTypeDeviceCode}, "device_code": {da.DeviceCode}}

	// Polling at once is early, and the code's interval grows from 2 s to 3 s. On a loaded machine
	// the first poll may come late; the next one, sent straight after it, is early in any case.
	var tr tokenResponse
	for range 3 {
		if tr = token(t, s, public, poll); tr.Error != "authorization_pending" {
			break
		}
	}
	if tr.Error != "slow_down" || tr.Interval != 3 {
		t.Fatalf("early poll: %+v, want slow_down with interval 3", tr)
	}
	time.Sleep(3*time.Second + 100*time.Millisecond)
	if tr := token(t, s, public, poll); tr.Error != "authorization_pending" {
		t.Fatalf("poll after the new interval: %+v, want authorization_pending", tr)
	}
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.SlowDownResponses != 1 || st.TokenErrorsByCode["slow_down"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestExpiredDeviceCode(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, oidctest.Options{DeviceCodeTTL: time.Second})
	public := client{id: s.PublicClientID}
	da := deviceAuth(t, s, public, "openid")
	if da.ExpiresIn != 1 || da.Interval != 0 {
		t.Errorf("expires_in %d interval %d; want 1 and no interval", da.ExpiresIn, da.Interval)
	}
	time.Sleep(1100 * time.Millisecond)
	if tr := token(t, s, public, url.Values{"grant_type": {oidctest.GrantTypeDeviceCode}, "device_code": {da.DeviceCode}}); tr.Error != "expired_token" {
		t.Errorf("poll after expiry: %+v, want expired_token", tr)
	}
	if err := s.Approve(t.Context(), da.UserCode, oidctest.ApproveOptions{}); !errors.Is(err, oidctest.ErrUserCodeRejected) {
		t.Errorf("approve after expiry: %v, want ErrUserCodeRejected", err)
	}
}

func TestSetDeviceCodeTTL(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, oidctest.Options{DeviceCodeTTL: time.Second})
	public := client{id: s.PublicClientID}
	if err := s.SetDeviceCodeTTL(t.Context(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if da := deviceAuth(t, s, public, "openid"); da.ExpiresIn != 60 {
		t.Errorf("expires_in %d after SetDeviceCodeTTL(1m), want 60", da.ExpiresIn)
	}
	if err := s.SetDeviceCodeTTL(t.Context(), 0); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("SetDeviceCodeTTL(0) = %v, want the provider's 400", err)
	}
}

func TestApproveUnknownCode(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, fast)
	err := s.Approve(t.Context(), "BCDF-GHJK", oidctest.ApproveOptions{})
	if !errors.Is(err, oidctest.ErrUserCodeRejected) || !strings.Contains(err.Error(), "incorrect") {
		t.Errorf("approve with an unknown code: %v, want ErrUserCodeRejected naming the page", err)
	}
}

func TestResetStats(t *testing.T) {
	t.Parallel()
	s := oidctest.Start(t, fast)
	deviceAuth(t, s, client{id: s.PublicClientID}, "openid")
	if st, err := s.Stats(t.Context()); err != nil || st.DeviceAuthorizations != 1 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if err := s.ResetStats(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stats(t.Context()); err != nil || st.DeviceAuthorizations != 0 || len(st.TokenRequestsByGrant) != 0 {
		t.Errorf("after reset: %+v, %v", st, err)
	}
}

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []oidctest.Options{
		{PollInterval: 1500 * time.Millisecond},
		{AccessTokenTTL: -time.Second},
		{DeviceCodeTTL: time.Millisecond},
	} {
		if s, err := oidctest.StartProcess(t.Context(), o); err == nil {
			s.Close()
			t.Errorf("StartProcess(%+v) succeeded, want an error", o)
		}
	}
}

func TestStartProcessClose(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := oidctest.StartProcess(ctx, oidctest.Options{})
	if err != nil {
		oidctest.SkipIfNotInstalled(t, err)
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(s.Issuer + "/.well-known/openid-configuration"); err == nil {
		t.Errorf("provider still answers after Close")
	}
}

// --- a minimal device client --------------------------------------------------------------

type client struct{ id, secret string }

type deviceAuthResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	Interval         int    `json:"interval"`
}

// deviceAuth starts a device authorization (RFC 8628 §3.1).
func deviceAuth(t *testing.T, s *oidctest.Server, c client, scope string) deviceAuthResponse {
	t.Helper()
	var da deviceAuthResponse
	if code := post(t, s.DeviceAuthorizationEndpoint, c, url.Values{"scope": {scope}}, &da); code != http.StatusOK || da.DeviceCode == "" || da.UserCode == "" {
		t.Fatalf("device authorization: HTTP %d, user code %t", code, da.UserCode != "")
	}
	return da
}

// token sends a token request and returns the answer, error or not.
func token(t *testing.T, s *oidctest.Server, c client, form url.Values) tokenResponse {
	t.Helper()
	var tr tokenResponse
	post(t, s.TokenEndpoint, c, form, &tr)
	return tr
}

// poll polls until the answer is no longer authorization_pending (RFC 8628 §3.5).
func poll(t *testing.T, s *oidctest.Server, c client, da deviceAuthResponse) tokenResponse {
	t.Helper()
	interval := time.Duration(da.Interval) * time.Second
	if interval == 0 {
		interval = 5 * time.Second
	}
	deadline := time.Now().Add(time.Duration(da.ExpiresIn) * time.Second)
	for {
		tr := token(t, s, c, url.Values{"grant_type": {oidctest.GrantTypeDeviceCode}, "device_code": {da.DeviceCode}})
		if tr.Error != "authorization_pending" || time.Now().After(deadline) {
			return tr
		}
		time.Sleep(interval)
	}
}

// post sends a form with client_secret_post authentication and decodes a JSON answer into v.
func post(t *testing.T, endpoint string, c client, form url.Values, v any) int {
	t.Helper()
	form.Set("client_id", c.id)
	if c.secret != "" {
		form.Set("client_secret", c.secret)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("POST %s: HTTP %d: %v", endpoint, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

// getJSON GETs a JSON object, with a bearer token if one is given.
func getJSON(t *testing.T, u, bearer string) map[string]any {
	t.Helper()
	var v map[string]any
	resp := get(t, u, bearer)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return v
}

func status(t *testing.T, u, bearer string) int {
	t.Helper()
	resp := get(t, u, bearer)
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, u, bearer string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// jwtClaims decodes a JWT's payload without checking its signature.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token is not a JWS compact serialization (%d parts)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func sameScopes(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	if len(x) != len(y) {
		return false
	}
	set := map[string]bool{}
	for _, s := range x {
		set[s] = true
	}
	for _, s := range y {
		if !set[s] {
			return false
		}
	}
	return true
}

func TestStartWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no node here
	_, err := oidctest.StartProcess(t.Context(), oidctest.Options{})
	if err == nil || !strings.Contains(err.Error(), "npm ci --prefix internal/testing/oidctest/node") {
		t.Errorf("StartProcess without node: %v, want the install hint", err)
	}
}
