package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// cliEnv is the environment of a sidecar process talking to srv.
func cliEnv(t *testing.T, srv *oidctest.Server, extra ...string) []string {
	return oidcEnv(t, srv.Issuer, srv.PublicClientID, extra...)
}

// oidcEnv is the environment of a sidecar process signing in at an OpenID
// provider, with a cache of its own; extra comes last and wins.
func oidcEnv(t *testing.T, issuer, clientID string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"XDG_DATA_HOME=" + filepath.Join(t.TempDir(), "data"),
		"OAUTH_PROVIDER=oidc",
		"OAUTH_ISSUER=" + issuer,
		"OAUTH_CLIENT_ID=" + clientID,
		"OAUTH_SCOPES=openid profile email offline_access api:read",
		"OAUTH_API_URL=" + issuer,
		"SIDECAR_LOGIN_RESTARTS=1",
	}
	return append(env, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

func sidecar(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command("sidecar", args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// loginJSON runs `sidecar login --json`, answers each code event with
// answer, and returns the events and the exit code.
func loginJSON(t *testing.T, env []string, answer func(ev cli.Event)) ([]cli.Event, int, string) {
	t.Helper()
	cmd := exec.Command("sidecar", "login", "--json")
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var events []cli.Event
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var ev cli.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		events = append(events, ev)
		if ev.Event == "code" || ev.Event == "restart" {
			go answer(ev)
		}
	}
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return events, code, errb.String()
}

func TestCLIEndToEnd(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	env := cliEnv(t, srv)
	ctx := context.Background()

	events, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		if err := srv.Approve(ctx, ev.UserCode, oidctest.ApproveOptions{}); err != nil {
			t.Error(err)
		}
	})
	if code != 0 || len(events) != 2 {
		t.Fatalf("login exit %d, events %+v, stderr %s", code, events, stderr)
	}
	c, done := events[0], events[1]
	if c.UserCode == "" || !strings.HasPrefix(c.VerificationURI, srv.Issuer) || c.ExpiresAt == nil {
		t.Fatalf("code event %+v", c)
	}
	if done.Event != "signed_in" || done.Name != "Alice Example" || done.Email != "alice@example.com" || len(done.Scopes) == 0 {
		t.Fatalf("signed_in event %+v", done)
	}

	tok := sidecar(t, env, "token")
	access := strings.TrimSpace(tok.stdout)
	if tok.code != 0 || access == "" || tok.stderr != "" {
		t.Fatalf("token: %+v", tok)
	}
	var tj struct {
		AccessToken string    `json:"access_token"`
		TokenType   string    `json:"token_type"`
		ExpiresAt   time.Time `json:"expires_at"`
		Scopes      []string  `json:"scopes"`
	}
	r := sidecar(t, env, "token", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &tj); err != nil || tj.AccessToken != access || tj.ExpiresAt.Before(time.Now()) || len(tj.Scopes) == 0 {
		t.Fatalf("token --json: %s %v", r.stdout, err)
	}

	// run: the token arrives in ACCESS_TOKEN (and --env names); our secrets
	// do not; stdin passes through; the exit code is the command's.
	r = sidecar(t, append(env, "SIDECAR_CACHE_KEY=", "OAUTH_CLIENT_SECRET=shh"), "run", "--env", "MY_TOKEN", "--",
		"sh", "-c", `test "$ACCESS_TOKEN" = "$MY_TOKEN" && test -n "$ACCESS_TOKEN" && test -z "$OAUTH_CLIENT_SECRET" && echo ran; exit 7`)
	if r.code != 7 || strings.TrimSpace(r.stdout) != "ran" {
		t.Fatalf("run: %+v", r)
	}
	// run hides the token cache and our secret files from CMD and what it
	// starts (Landlock), and gives it none of our configuration.
	botFile := filepath.Join(t.TempDir(), "bot_token")
	if err := os.WriteFile(botFile, []byte("bot-secret-value-123"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := strings.TrimPrefix(env[2], "XDG_DATA_HOME=")
	r = sidecar(t, append(env, "TELEGRAM_BOT_TOKEN_FILE="+botFile), "run", "--", "sh", "-c",
		`cat "$0"; cat "$1"/devicegate/default.token; sh -c 'cat "$0"' "$0"; env | grep -E '^(OAUTH|SIDECAR|TELEGRAM)_'; test -n "$ACCESS_TOKEN" && echo token-ok`,
		botFile, dataDir)
	if strings.Contains(r.stderr, "warning:") && strings.Contains(r.stderr, "Landlock") {
		t.Logf("no Landlock here, hidden files not checked: %s", r.stderr)
	} else if strings.TrimSpace(r.stdout) != "token-ok" || strings.Count(r.stderr, "Permission denied") != 3 ||
		strings.Contains(r.stdout+r.stderr, "bot-secret-value-123") || strings.Contains(r.stdout+r.stderr, "refresh_token") {
		t.Fatalf("run read hidden files or saw our configuration: %+v", r)
	}
	r = sidecar(t, env, "run", "--", "no-such-command-xyz")
	if r.code != 127 || !strings.Contains(r.stderr, "cannot run no-such-command-xyz") {
		t.Fatalf("run missing command: %+v", r)
	}

	// api: the provider's userinfo endpoint (/me) as the API.
	r = sidecar(t, env, "api", "/me")
	if r.code != 0 || !strings.Contains(r.stdout, `"email":"alice@example.com"`) {
		t.Fatalf("api /me: %+v", r)
	}
	r = sidecar(t, env, "api", "/no/such/thing")
	if r.code != 1 || !strings.Contains(r.stderr, "HTTP 404") {
		t.Fatalf("api 404: %+v", r)
	}

	// status --json has the documented fields.
	r = sidecar(t, env, "status", "--json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 0 {
		t.Fatalf("status: %+v", r)
	}
	for _, k := range []string{"profile", "provider", "state", "account", "scopes_granted", "scopes_requested", "access_token_expires_at", "has_refresh_token", "cache_encrypted"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status --json lacks %q", k)
		}
	}
	if st["state"] != "ok" || st["has_refresh_token"] != true {
		t.Errorf("status %v", st)
	}

	// logout revokes; afterwards token needs a sign-in.
	r = sidecar(t, env, "logout")
	if r.code != 0 || !strings.Contains(r.stdout, "revoked") {
		t.Fatalf("logout: %+v", r)
	}
	if r = sidecar(t, env, "token"); r.code != exitcode.SignInRequired {
		t.Fatalf("token after logout: %+v", r)
	}
	assertNoSecrets(t, []string{access}, tok, r)
}

func TestCLIDeclineAndTimeout(t *testing.T) {
	t.Parallel()
	// The codes live the provider's default two minutes while the person
	// declines, so that a busy machine declines before the code expires;
	// then two seconds, to time out.
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	env := cliEnv(t, srv)
	events, code, _ := loginJSON(t, env, func(ev cli.Event) { srv.Deny(context.Background(), ev.UserCode) })
	if code != exitcode.Declined || events[len(events)-1].Event != "error" || events[len(events)-1].Code != exitcode.Declined {
		t.Fatalf("decline: exit %d events %+v", code, events)
	}
	if err := srv.SetDeviceCodeTTL(context.Background(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	events, code, stderr := loginJSON(t, env, func(cli.Event) {})
	if code != exitcode.TimedOut {
		t.Fatalf("timeout: exit %d events %+v", code, events)
	}
	kinds := []string{}
	for _, ev := range events {
		kinds = append(kinds, ev.Event)
	}
	if strings.Join(kinds, ",") != "code,restart,error" {
		t.Fatalf("events %v", kinds)
	}
	// No bot configured: the advice is the terminal's.
	if !strings.Contains(stderr, "hint: run `sidecar login` in a terminal to get a new code") {
		t.Fatalf("no hint: %s", stderr)
	}
}

func TestCLIPlainLogin(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	env := cliEnv(t, srv)
	cmd := exec.Command("sidecar", "login")
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	cmd.Start()
	sc := bufio.NewScanner(stdout)
	var lines []string
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if _, code, ok := strings.Cut(line, "and enter the code:"); ok {
			go srv.Approve(context.Background(), strings.TrimSpace(code), oidctest.ApproveOptions{})
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, strings.Join(lines, "\n"))
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{"To sign in to oidc (profile default), open:", "Waiting for approval", "Signed in as Alice Example (alice@example.com).", "Granted scopes:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\033[") {
		t.Error("terminal escapes written to a pipe")
	}
}

// 32 processes that all want a fresh token at once cause exactly one
// refresh request, and all print the same new token.
func TestCLIConcurrentRefreshIsSingle(t *testing.T) {
	t.Parallel()
	const minTTL = time.Minute // the provider's tokens live an hour
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	env := cliEnv(t, srv)
	ctx := context.Background()
	if _, code, stderr := loginJSON(t, env, func(ev cli.Event) { srv.Approve(ctx, ev.UserCode, oidctest.ApproveOptions{}) }); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	before := expireCached(t, env)
	srv.ResetStats(ctx)
	tokensAtOnce(t, env, 32, minTTL, before)
	stats, err := srv.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.RefreshRequests != 1 || stats.InvalidGrantResponses != 0 {
		t.Fatalf("%d refresh requests and %d invalid_grant answers; want 1 and 0", stats.RefreshRequests, stats.InvalidGrantResponses)
	}
}

// expireCached marks env's cached access token as expiring now, as if its
// lifetime had run out, so that every `sidecar token --min-ttl D` wants a
// refresh, however long the processes take to start (a refreshed token,
// living the provider's full lifetime, is then outside D again). The
// provider still takes the token: only when to refresh is at stake, and no
// test waits for a clock. It returns that token.
func expireCached(t *testing.T, env []string) string {
	t.Helper()
	st, err := tokencache.Open(filepath.Join(envValue(env, "XDG_DATA_HOME"), "devicegate"), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	e.Expiry = time.Now()
	if err := st.Save(e); err != nil {
		t.Fatal(err)
	}
	return e.AccessToken
}

// tokensAtOnce runs n `sidecar token --min-ttl minTTL` at once. All must
// print the same token, a new one (not old); it returns that token.
func tokensAtOnce(t *testing.T, env []string, n int, minTTL time.Duration, old string) string {
	t.Helper()
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = sidecar(t, env, "token", "--min-ttl", minTTL.String())
		}()
	}
	wg.Wait()
	first := strings.TrimSpace(results[0].stdout)
	for i, r := range results {
		if r.code != 0 || strings.TrimSpace(r.stdout) != first || first == old {
			t.Fatalf("process %d: %+v", i, r)
		}
	}
	return first
}

func assertNoSecrets(t *testing.T, secrets []string, rs ...result) {
	t.Helper()
	for _, r := range rs {
		for _, s := range secrets {
			if s != "" && (strings.Contains(r.stderr, s)) {
				t.Errorf("a secret appears in stderr: %q", r.stderr)
			}
		}
	}
}

func TestServeHealthAndSIGTERM(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	env := cliEnv(t, srv)
	if r := sidecar(t, env, "health"); r.code == 0 || !strings.Contains(r.stderr, "has not completed a round yet") {
		t.Fatalf("health before serve: %+v", r)
	}
	cmd := exec.Command("sidecar", "serve")
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sidecar(t, env, "health").code != 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("serve never became healthy:\n%s", &logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v:\n%s", err, &logs)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve ignored SIGTERM")
	}
	for _, want := range []string{"msg=serving", "not encrypted", "msg=\"sign-in needed\"", "msg=stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, &logs)
		}
	}
}
