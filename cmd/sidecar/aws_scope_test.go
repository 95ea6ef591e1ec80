package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/testing/awsssotest"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
)

// The whole AWS path through the command line, against the fake: sign
// in, a program that prints its AWS environment, credential_process JSON,
// status, logout.
func TestCLIAWS(t *testing.T) {
	t.Parallel()
	fake := awsssotest.Start(t, awsssotest.Options{})
	data := filepath.Join(t.TempDir(), "data")
	env := append(fake.ProfileEnv("OAUTH"),
		"PATH="+os.Getenv("PATH"),
		"HOME="+t.TempDir(),
		"XDG_DATA_HOME="+data,
		"AWS_PROFILE=someone-elses", // must not reach the program
	)
	events, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		time.Sleep(1200 * time.Millisecond)
		if err := fake.Approve(ev.UserCode); err != nil {
			t.Error(err)
		}
	})
	if code != 0 || len(events) != 2 || events[1].Name != "role ReadOnly in AWS account 123456789012" {
		t.Fatalf("login exit %d, events %+v, stderr %s", code, events, stderr)
	}

	// A program that prints its AWS environment.
	run := sidecar(t, env, "run", "--", "sh", "-c",
		`printf '%s\n' "id=$AWS_ACCESS_KEY_ID" "secret=$AWS_SECRET_ACCESS_KEY" "session=$AWS_SESSION_TOKEN" "region=$AWS_REGION" "profile=$AWS_PROFILE" "access=$ACCESS_TOKEN"`)
	if run.code != 0 || run.stderr != "" {
		t.Fatalf("run: %+v", run)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(run.stdout), "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	keys := fake.IssuedKeys()
	if len(keys) != 1 || got["id"] != keys[0] || got["secret"] == "" || got["session"] == "" || got["region"] != "eu-west-1" {
		t.Fatalf("the program saw %v (issued %v)", got, keys)
	}
	if got["profile"] != "" || got["access"] != "" {
		t.Fatalf("the program saw AWS_PROFILE %q or the SSO token", got["profile"])
	}

	// credential_process JSON: the same cached credentials.
	cp := sidecar(t, env, "token", "--aws-credentials")
	var creds struct {
		Version                                                int
		AccessKeyId, SecretAccessKey, SessionToken, Expiration string
	}
	if cp.code != 0 || json.Unmarshal([]byte(cp.stdout), &creds) != nil {
		t.Fatalf("token --aws-credentials: %+v", cp)
	}
	exp, err := time.Parse(time.RFC3339, creds.Expiration)
	if creds.Version != 1 || creds.AccessKeyId != got["id"] || creds.SecretAccessKey != got["secret"] || creds.SessionToken != got["session"] ||
		err != nil || time.Until(exp) < 50*time.Minute {
		t.Fatalf("credential_process output %s", cp.stdout)
	}
	// --min-ttl beyond their life renews them.
	if r := sidecar(t, env, "run", "--min-ttl", "2h", "--", "sh", "-c", `echo "$AWS_ACCESS_KEY_ID"`); r.code != 0 || strings.TrimSpace(r.stdout) == got["id"] || len(fake.IssuedKeys()) != 2 {
		t.Fatalf("renewal: %+v", r)
	}

	// sidecar token prints the SSO access token; --scope is refused.
	tok := sidecar(t, env, "token")
	if tok.code != 0 || !strings.HasPrefix(strings.TrimSpace(tok.stdout), "aoa") {
		t.Fatalf("token: %+v", tok)
	}
	if r := sidecar(t, env, "token", "--scope", "sso:account:access"); r.code != 2 || !strings.Contains(r.stderr, "no scopes to narrow") {
		t.Fatalf("token --scope on aws: %+v", r)
	}

	st := sidecar(t, env, "status")
	if st.code != 0 || !strings.Contains(st.stdout, "AWS:       role ReadOnly in account 123456789012 (eu-west-1)") || !strings.Contains(st.stdout, "Role credentials: expire") {
		t.Fatalf("status: %+v", st)
	}
	access := strings.TrimSpace(tok.stdout)
	if out := sidecar(t, env, "logout"); out.code != 0 || !fake.LoggedOut(access) {
		t.Fatalf("logout: %+v", out)
	}
	if r := sidecar(t, env, "token", "--aws-credentials"); r.code != 4 {
		t.Fatalf("after logout: %+v", r)
	}
	// No secret on any output.
	for _, out := range []string{run.stderr, cp.stderr, st.stdout, st.stderr} {
		for _, secret := range []string{got["secret"], got["session"], access} {
			if secret != "" && strings.Contains(out, secret) {
				t.Fatal("a secret was printed")
			}
		}
	}
}

// --scope through the command line against the real provider: token, run
// and api each get a token for just those scopes, cached per scope set.
func TestCLIScope(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	env := cliEnv(t, srv)
	ctx := context.Background()
	if _, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		srv.Approve(ctx, ev.UserCode, oidctest.ApproveOptions{})
	}); code != 0 {
		t.Fatalf("login: %d %s", code, stderr)
	}
	full := strings.TrimSpace(sidecar(t, env, "token").stdout)
	var tj struct {
		AccessToken string   `json:"access_token"`
		Scopes      []string `json:"scopes"`
	}
	r := sidecar(t, env, "token", "--scope", "openid api:read", "--json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &tj) != nil || tj.AccessToken == full || strings.Join(tj.Scopes, " ") != "openid api:read" {
		t.Fatalf("token --scope: %+v", r)
	}
	// A tool given the raw token (with-token) gets the cached one.
	run := sidecar(t, append(env, "OAUTH_POLICY=allow run sh with-token"), "run", "--scope", "api:read openid", "--", "sh", "-c", `echo "$ACCESS_TOKEN"`)
	if run.code != 0 || strings.TrimSpace(run.stdout) != tj.AccessToken {
		t.Fatalf("run --scope did not get the cached token for the same set: %+v", run)
	}
	// Otherwise it holds a placeholder, and the proxy puts the scoped token
	// on its request to the API (plain http on loopback, as curl sends
	// it through the proxy).
	if _, err := exec.LookPath("curl"); err == nil {
		run = sidecar(t, env, "run", "--scope", "openid", "--", "sh", "-c", `curl -sS -H "Authorization: Bearer $ACCESS_TOKEN" "$0/me"`, srv.Issuer)
		if run.code != 0 || !strings.Contains(run.stdout, `"sub":"alice"`) || strings.Contains(run.stdout, "alice@example.com") {
			t.Fatalf("run --scope openid -- curl /me: %+v", run)
		}
	}
	// userinfo with a token without profile/email says only who.
	api := sidecar(t, env, "api", "--scope", "openid", "/me")
	if api.code != 0 || !strings.Contains(api.stdout, `"sub":"alice"`) || strings.Contains(api.stdout, "alice@example.com") {
		t.Fatalf("api --scope openid /me: %+v", api)
	}
	if r := sidecar(t, env, "token", "--scope", "api:write"); r.code != 6 || !strings.Contains(r.stderr, "invalid_scope") {
		t.Fatalf("ungranted scope: %+v", r)
	}
	if r := sidecar(t, env, "token", "--scope", `"quoted"`); r.code != 2 {
		t.Fatalf("bad scope: %+v", r)
	}
	st := sidecar(t, env, "status")
	if !strings.Contains(st.stdout, "Scoped:    api:read openid (expires ") || !strings.Contains(st.stdout, "Scoped:    openid (expires ") {
		t.Fatalf("status:\n%s", st.stdout)
	}
	// The main token still refreshes: the rotated refresh token was kept.
	if r := sidecar(t, env, "token", "--min-ttl", "100h"); r.code != 0 {
		t.Fatalf("refresh after scoped ones: %+v", r)
	}
}

// A role the person is not assigned, answered as real AWS does (403
// ForbiddenException "No access"): exit 6 and a hint naming the profile's
// two settings to check.
func TestCLIAWSNoAccess(t *testing.T) {
	t.Parallel()
	fake := awsssotest.Start(t, awsssotest.Options{NoAccess: "ForbiddenException"})
	env := append(fake.ProfileEnv("OAUTH"),
		"PATH="+os.Getenv("PATH"),
		"HOME="+t.TempDir(),
		"XDG_DATA_HOME="+filepath.Join(t.TempDir(), "data"),
		"OAUTH_ROLE_NAME=Admin", // not the fake's ReadOnly; the later value wins
	)
	_, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		if err := fake.Approve(ev.UserCode); err != nil {
			t.Error(err)
		}
	})
	want := "sidecar: hint: check OAUTH_ROLE_NAME and OAUTH_ACCOUNT_ID: the role must be one assigned to the person who signs in, in that account"
	if code != 6 || !strings.Contains(stderr, "ForbiddenException") || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}
