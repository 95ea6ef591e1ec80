package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// testDialCmd is `sidecar` with the proxy's dialer mapping made-up names to
// loopback ports, from SIDECAR_TEST_DIAL ("name:port=127.0.0.1:port,...").
// It exists in the test binary only: the sidecar itself has no such
// variable. Go tools (gh) never send loopback addresses through a proxy,
// so the API double must have another name.
const testDialCmd = "sidecar-testdial"

func testDialMain() {
	if len(os.Args) < 2 || os.Args[1] != "run" {
		main()
		return
	}
	names := map[string]string{}
	for _, pair := range strings.Split(os.Getenv("SIDECAR_TEST_DIAL"), ",") {
		if from, to, ok := strings.Cut(pair, "="); ok {
			names[from] = to
		}
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		to, ok := names[addr]
		if !ok {
			// Nothing reaches the internet at test time (gh auth status
			// tries github.com too).
			return nil, fmt.Errorf("%s is not a test host", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, to)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runWith(ctx, runHooks{dial: dial}, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// needTool finds a program the test needs, or skips: unless
// DEVICEGATE_REQUIRE_TOOLS is set (make unit, CI), where a missing tool
// fails the test.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("DEVICEGATE_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is required (DEVICEGATE_REQUIRE_TOOLS): apt-get install gh curl python3-requests", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// pythonWithRequests is a python3 that can import requests (Debian's
// python3-requests goes with /usr/bin/python3).
func pythonWithRequests(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import requests").Run() == nil {
			return path
		}
	}
	if os.Getenv("DEVICEGATE_REQUIRE_TOOLS") != "" {
		t.Fatal("python3 with requests is required (DEVICEGATE_REQUIRE_TOOLS): apt-get install python3-requests")
	}
	t.Skip("python3 with requests is not installed")
	return ""
}

const (
	ghesHost  = "github.devicegate.test"
	realToken = "gho_e2eRealTokenThatNoToolMaySee0123456789"
)

// githubDouble is a GitHub Enterprise Server API (/api/v3) on loopback
// with a certificate for ghesHost from a CA of its own.
type githubDouble struct {
	srv    *httptest.Server
	caFile string

	mu   sync.Mutex
	auth []string // the Authorization header of every request
	reqs []string // "METHOD PATH"
}

func newGitHubDouble(t *testing.T) *githubDouble {
	t.Helper()
	d := &githubDouble{}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v3/", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.auth = append(d.auth, r.Header.Get("Authorization"))
		d.reqs = append(d.reqs, r.Method+" "+r.URL.Path)
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		a := r.Header.Get("Authorization")
		if a != "token "+realToken && a != "Bearer "+realToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		w.Header().Set("X-Oauth-Scopes", "repo, read:org")
		switch {
		case r.Method == "GET" && r.URL.Path == "/api/v3/user":
			io.WriteString(w, `{"login":"octocat","id":1,"name":"The Octocat"}`)
		case r.Method == "POST" && r.URL.Path == "/api/v3/user/repos":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"name":"x"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found"}`)
		}
	})
	caPEM, cert := testCertificate(t, ghesHost)
	d.srv = httptest.NewUnstartedServer(mux)
	d.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	d.srv.StartTLS()
	t.Cleanup(d.srv.Close)
	d.caFile = filepath.Join(t.TempDir(), "double-ca.pem")
	if err := os.WriteFile(d.caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *githubDouble) seen() (auth, reqs []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.auth), slices.Clone(d.reqs)
}

// testCertificate makes a CA and a certificate for host signed by it.
func testCertificate(t testing.TB, host string) (caPEM []byte, cert tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "GitHub double CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// ghesEnv is the environment of a sidecar with a GitHub Enterprise Server
// profile at the double, signed in with realToken, trusting the double's
// CA (SSL_CERT_FILE: the sidecar's own trust, which the tool inherits in
// the run's bundle).
func ghesEnv(t *testing.T, d *githubDouble, extra ...string) []string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(data, "devicegate"), 0o700); err != nil {
		t.Fatal(err)
	}
	entry := fmt.Sprintf(`{"version":1,"profile":"default","provider":"github","access_token":%q,"token_type":"bearer","scopes_granted":["repo"],"account":{"name":"Octo Cat","email":"octo@example.com","subject":"octocat"}}`, realToken)
	if err := os.WriteFile(filepath.Join(data, "devicegate", "default.token"), []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + data,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"OAUTH_PROVIDER=github",
		"OAUTH_CLIENT_ID=Iv1.test",
		"OAUTH_API_URL=https://" + ghesHost + "/api/v3",
		"SSL_CERT_FILE=" + d.caFile,
		"SIDECAR_TEST_DIAL=" + ghesHost + ":443=" + d.srv.Listener.Addr().String(),
		// gh: no update check, no prompt, no colour.
		"GH_NO_UPDATE_NOTIFIER=1", "GH_PROMPT_DISABLED=1", "NO_COLOR=1", "GH_CONFIG_DIR=" + filepath.Join(home, "gh"),
	}
	return append(env, extra...)
}

func runTool(t *testing.T, env []string, argv ...string) result {
	t.Helper()
	cmd := exec.Command(testDialCmd, append([]string{"run", "--"}, argv...)...)
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

// reveals reports whether out holds the token in clear, base64 (any
// alignment, standard or URL alphabet, with or without padding or line
// breaks) or hex.
func reveals(out, token string) bool {
	if strings.Contains(out, token) {
		return true
	}
	var candidates []string
	// Each run of base64 or hex characters, and the whole output with
	// whitespace removed (env | base64 wraps lines).
	for _, f := range regexp.MustCompile(`[A-Za-z0-9+/=_\-\s]{8,}`).FindAllString(out, -1) {
		candidates = append(candidates, strings.Join(strings.Fields(f), ""))
	}
	for _, c := range candidates {
		c = strings.TrimRight(c, "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			// A token inside a longer stream is aligned to any of 4 offsets.
			for off := 0; off < 4 && off < len(c); off++ {
				s := c[off:]
				s = s[:len(s)-len(s)%4]
				if b, err := enc.DecodeString(s); err == nil && bytes.Contains(b, []byte(token)) {
					return true
				}
			}
		}
		for off := 0; off < 2 && off < len(c); off++ {
			s := c[off:]
			s = s[:len(s)-len(s)%2]
			if b, err := hex.DecodeString(strings.ToLower(s)); err == nil && bytes.Contains(b, []byte(token)) {
				return true
			}
		}
	}
	return false
}

func TestReveals(t *testing.T) {
	tok := "gho_secret123"
	b64 := base64.StdEncoding.EncodeToString([]byte("A=1\nGH_TOKEN=" + tok + "\nB=2\n"))
	for _, out := range []string{
		tok, b64, b64[:20] + "\n" + b64[20:], base64.URLEncoding.EncodeToString([]byte("xx" + tok)),
		hex.EncodeToString([]byte("z" + tok)), strings.ToUpper(hex.EncodeToString([]byte(tok))),
		"value: " + base64.RawStdEncoding.EncodeToString([]byte(tok)) + " end",
	} {
		if !reveals(out, tok) {
			t.Errorf("reveals(%q) = false", out)
		}
	}
	if reveals("gho_secret12 "+base64.StdEncoding.EncodeToString([]byte("gho_secret12")), tok) {
		t.Error("reveals a prefix")
	}
}

// TestToolNeverHoldsToken runs the real gh, curl and Python requests
// through `sidecar run` for the agent against a GitHub Enterprise Server
// double: their API calls work, none of them can print the token in any
// encoding, and a write is judged (asks; with nobody to ask, refused: 403
// to the tool, exit 8 to the agent).
func TestToolNeverHoldsToken(t *testing.T) {
	t.Parallel()
	needTool(t, "gh")
	gh := "gh" // by name, as the policy names it
	d := newGitHubDouble(t)
	env := ghesEnv(t, d, "DEVICEGATE_CALLER=agent", "OAUTH_POLICY=allow run gh; allow run sh; allow run curl; allow run python3")

	var outputs []string
	check := func(name string, r result, wantCode int) result {
		t.Helper()
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != wantCode {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, r.code, wantCode, r.stdout, r.stderr)
		}
		return r
	}

	r := check("gh api /user", runTool(t, env, gh, "api", "/user"), 0)
	if !strings.Contains(r.stdout, `"login":"octocat"`) {
		t.Errorf("gh api /user: %s", r.stdout)
	}
	auth, _ := d.seen()
	if len(auth) == 0 || auth[0] != "token "+realToken {
		t.Fatalf("the API got Authorization %q, want gh's token form with the real token", auth)
	}

	// Ways to get the token out of a tool that holds it, each tried.
	for _, argv := range [][]string{
		{gh, "auth", "token"},
		{gh, "auth", "status", "--show-token"},
		{gh, "api", "/user", "--jq", "$ENV.GH_ENTERPRISE_TOKEN|@base64"},
		{gh, "api", "/user", "--jq", "$ENV.GH_TOKEN|@base64"},
		{gh, "api", "/user", "--jq", "$ENV|tostring|@base64"},
		{gh, "api", "/user", "--template", "{{range $k, $v := .}}{{$k}}{{end}}"},
		{"sh", "-c", "env | base64"},
		{"sh", "-c", "env | od -An -tx1"},
		{"sh", "-c", "cat /proc/self/environ | base64 -w0"},
		{"sh", "-c", `printf %s "$GH_ENTERPRISE_TOKEN" | rev`},
	} {
		r := runTool(t, env, argv...)
		outputs = append(outputs, r.stdout, r.stderr)
		if argv[len(argv)-1] == "$ENV.GH_ENTERPRISE_TOKEN|@base64" {
			// The way out is open: what comes out is the placeholder.
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.stdout)); err != nil || !strings.HasPrefix(string(b), "devicegate_placeholder_") {
				t.Errorf("--jq $ENV.GH_ENTERPRISE_TOKEN|@base64 printed %q (%s)", r.stdout, r.stderr)
			}
		}
		if argv[0] == "sh" && r.code != 0 {
			t.Errorf("%q: exit %d %s", argv, r.code, r.stderr)
		}
	}

	// A write asks; with no `sidecar serve` to ask, it is refused before
	// it reaches the API: gh sees 403 with the reason, the agent exit 8.
	r = check("gh api -X POST", runTool(t, env, gh, "api", "-X", "POST", "/user/repos", "-f", "name=x"), 8)
	if !strings.Contains(r.stderr, "needs the owner's approval") || !strings.Contains(r.stderr, "HTTP 403") {
		t.Errorf("refused write: stderr %s", r.stderr)
	}
	if _, reqs := d.seen(); slices.Contains(reqs, "POST /api/v3/user/repos") {
		t.Fatal("the refused write reached the API")
	}

	// What would run otherwise than judged is refused through the proxy as
	// in `sidecar api`: a method override (exit 2, never sent).
	_, before := d.seen()
	r = check("gh api with a method override", runTool(t, env, gh, "api", "/user", "-H", "X-HTTP-Method-Override: DELETE"), 2)
	if !strings.Contains(r.stderr, "X-HTTP-Method-Override is refused") || !strings.Contains(r.stderr, "HTTP 403") {
		t.Errorf("method override: stderr %s", r.stderr)
	}
	if _, after := d.seen(); len(after) != len(before) {
		t.Fatalf("the method override reached the API: %q", after[len(before):])
	}

	// curl and Python requests, holding the placeholder, work too.
	needTool(t, "curl")
	r = check("curl", runTool(t, env, "sh", "-c", `curl -sS --fail-with-body -H "Authorization: Bearer $ACCESS_TOKEN" https://`+ghesHost+`/api/v3/user`), 0)
	if !strings.Contains(r.stdout, `"login":"octocat"`) {
		t.Errorf("curl: %s", r.stdout)
	}
	py := pythonWithRequests(t)
	r = check("python requests", runTool(t, env, "sh", "-c", `exec "$0" -c "$1"`, py, `import os, requests
r = requests.get("https://`+ghesHost+`/api/v3/user", headers={"Authorization": "Bearer " + os.environ["ACCESS_TOKEN"]})
print(r.status_code, r.text)`), 0)
	if !strings.Contains(r.stdout, `200 {"login":"octocat"`) {
		t.Errorf("python requests: %s", r.stdout)
	}

	for _, out := range outputs {
		if reveals(out, realToken) {
			t.Fatalf("a tool revealed the token:\n%s", out)
		}
	}
	auth, reqs := d.seen()
	for i, a := range auth {
		if strings.Contains(a, "placeholder") {
			t.Errorf("%s reached the API with the placeholder", reqs[i])
		}
	}

	// Every request was judged and audited as the agent's, by the tool.
	a := sidecar(t, env, "audit", "--json", "--last", "0")
	var sawGH, sawDeny, sawCurl bool
	for _, line := range strings.Split(strings.TrimSpace(a.stdout), "\n") {
		var ev audit.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if ev.Action != "api" {
			continue
		}
		if ev.Caller != audit.CallerAgent {
			t.Errorf("audit line by %q: %s", ev.Caller, line)
		}
		switch {
		case ev.Via == "run gh" && ev.Method == "GET" && ev.Path == "/api/v3/user" && ev.Status == 200 && ev.Host == ghesHost:
			sawGH = true
		case ev.Via == "run gh" && ev.Method == "POST" && ev.Decision == "deny":
			sawDeny = true
		case ev.Via == "run sh" && ev.Status == 200:
			sawCurl = true
		}
	}
	if !sawGH || !sawDeny || !sawCurl {
		t.Errorf("audit lacks gh's GET (%v), the refused POST (%v) or curl's GET via sh (%v):\n%s", sawGH, sawDeny, sawCurl, a.stdout)
	}
}

// TestToolTrustFilesRemoved: the run's CA files are gone once the tool has
// exited, and they hold certificates only.
func TestToolTrustFilesRemoved(t *testing.T) {
	t.Parallel()
	d := newGitHubDouble(t)
	env := ghesEnv(t, d)
	r := runTool(t, env, "sh", "-c", `echo "$SSL_CERT_FILE"; echo "$NODE_EXTRA_CA_CERTS"; cat "$SSL_CERT_FILE" "$NODE_EXTRA_CA_CERTS"`)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	if strings.Contains(r.stdout, "PRIVATE KEY") || !strings.Contains(r.stdout, "BEGIN CERTIFICATE") {
		t.Fatalf("trust files:\n%s", r.stdout)
	}
	for _, f := range lines[:2] {
		if !strings.Contains(f, "devicegate-run-") {
			t.Fatalf("trust file %q", f)
		}
		if _, err := os.Stat(filepath.Dir(f)); !os.IsNotExist(err) {
			t.Errorf("%s is left after the run (%v)", filepath.Dir(f), err)
		}
	}
}

func TestTokenOrigins(t *testing.T) {
	tests := []struct {
		name, kind, api string
		scopes          []string
		want            []string
	}{
		{"github.com", "github", "https://api.github.com", nil, []string{"https://api.github.com", "https://uploads.github.com", "https://github.com"}},
		{"GitHub Enterprise Server", "github", "https://ghe.example/api/v3", nil, []string{"https://ghe.example"}},
		{"google", "google", "https://www.googleapis.com", nil, []string{"https://www.googleapis.com", "https://*.googleapis.com"}},
		{"microsoft with another resource", "microsoft", "https://graph.microsoft.com/v1.0", []string{"https://management.azure.com/.default"},
			[]string{"https://graph.microsoft.com", "https://management.azure.com"}},
		{"loopback test API", "oidc", "http://127.0.0.1:8080/", nil, []string{"http://127.0.0.1:8080"}},
		{"no API URL", "oidc", "", nil, nil},
		{"not a URL", "oidc", "api.example", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tokenOrigins(tt.kind, tt.api, tt.scopes); !slices.Equal(got, tt.want) {
				t.Errorf("tokenOrigins = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRunToken: the proxy gets the cached token while it is good for the
// margin, and a refreshed one after; a failed refresh is an error, not a
// stale token.
func TestRunToken(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var gets int
	var next *tokencache.ScopedToken
	var getErr error
	rt := &runToken{ttl: time.Minute, now: func() time.Time { return now }, get: func(context.Context) (*tokencache.ScopedToken, error) {
		gets++
		return next, getErr
	}}
	ctx := context.Background()
	next = &tokencache.ScopedToken{AccessToken: "a", Expiry: now.Add(10 * time.Minute)}
	if tok, err := rt.token(ctx); tok != "a" || err != nil || gets != 1 {
		t.Fatalf("first: %q %v after %d gets", tok, err, gets)
	}
	now = now.Add(8 * time.Minute) // 2 minutes left: still good
	if tok, _ := rt.token(ctx); tok != "a" || gets != 1 {
		t.Fatalf("cached: %q after %d gets", tok, gets)
	}
	now = now.Add(90 * time.Second) // 30 s left: refresh
	next = &tokencache.ScopedToken{AccessToken: "b"}
	if tok, _ := rt.token(ctx); tok != "b" || gets != 2 {
		t.Fatalf("refreshed: %q after %d gets", tok, gets)
	}
	now = now.Add(1000 * time.Hour) // no expiry (GitHub OAuth apps): kept
	if tok, _ := rt.token(ctx); tok != "b" || gets != 2 {
		t.Fatalf("no expiry: %q after %d gets", tok, gets)
	}
	rt.t = &tokencache.ScopedToken{AccessToken: "c", Expiry: now}
	getErr = errors.New("sign-in required")
	if tok, err := rt.token(ctx); tok != "" || err == nil {
		t.Fatalf("failed refresh: %q %v", tok, err)
	}
}

// TestRunTokenLongMinTTL: asked for a --min-ttl longer than the provider's
// tokens live, the proxy keeps the token run started with (refreshed for
// it) until half its life is gone, instead of refreshing on every request.
func TestRunTokenLongMinTTL(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var gets int
	rt := &runToken{ttl: 2 * time.Hour, now: func() time.Time { return now },
		t: &tokencache.ScopedToken{AccessToken: "fresh", Expiry: now.Add(time.Hour)},
		get: func(context.Context) (*tokencache.ScopedToken, error) {
			gets++
			return &tokencache.ScopedToken{AccessToken: "next", Expiry: now.Add(time.Hour)}, nil
		}}
	ctx := context.Background()
	for range 3 {
		if tok, err := rt.token(ctx); tok != "fresh" || err != nil || gets != 0 {
			t.Fatalf("%q %v after %d gets, want the token run started with and no refresh", tok, err, gets)
		}
	}
	now = now.Add(29 * time.Minute)
	if tok, _ := rt.token(ctx); tok != "fresh" || gets != 0 {
		t.Fatalf("31 minutes left of an hour: %q after %d gets", tok, gets)
	}
	now = now.Add(2 * time.Minute)
	if tok, _ := rt.token(ctx); tok != "next" || gets != 1 {
		t.Fatalf("29 minutes left of an hour: %q after %d gets, want one refresh", tok, gets)
	}
	if tok, _ := rt.token(ctx); tok != "next" || gets != 1 {
		t.Fatalf("the refreshed token: %q after %d gets", tok, gets)
	}
}

// chooser is the owner of an approval server: it answers every question
// with choice and keeps the questions.
type chooser struct {
	choice approval.Choice
	mu     sync.Mutex
	asked  []approval.Request
}

func (c *chooser) Ask(_ context.Context, q approval.Request) (approval.Choice, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, q)
	return c.choice, nil
}

// TestToolWriteAsksTheOwner: gh's write through the proxy is put to the
// owner (here an approval server on serve's socket whose owner taps
// "Allow once"), with what decides it shown, and only then reaches the
// API, with the token.
func TestToolWriteAsksTheOwner(t *testing.T) {
	t.Parallel()
	needTool(t, "gh")
	d := newGitHubDouble(t)
	env := ghesEnv(t, d, "DEVICEGATE_CALLER=agent", "OAUTH_POLICY=allow run gh")
	var data string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_DATA_HOME="); ok {
			data = v
		}
	}
	owner := &chooser{choice: approval.AllowOnce}
	serveApprovals(t, filepath.Join(data, "devicegate"), owner, "allow run gh", "https://"+ghesHost+"/api/v3")

	r := runTool(t, env, "gh", "api", "-X", "POST", "/user/repos", "-f", "name=x", "-H", "X-Note: shown")
	if r.code != 0 || !strings.Contains(r.stdout, `"name":"x"`) {
		t.Fatalf("approved write: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	owner.mu.Lock()
	asked := slices.Clone(owner.asked)
	owner.mu.Unlock()
	if len(asked) != 1 {
		t.Fatalf("the owner was asked %d times", len(asked))
	}
	q := fmt.Sprintf("%+v", asked[0])
	for _, want := range []string{"POST", ghesHost, "/api/v3/user/repos", "X-Note: shown", "gh"} {
		if !strings.Contains(q, want) {
			t.Errorf("the question does not show %q: %s", want, q)
		}
	}
	if strings.Contains(q, realToken) || strings.Contains(q, "placeholder") {
		t.Errorf("the question shows a credential: %s", q)
	}
	auth, reqs := d.seen()
	if i := slices.Index(reqs, "POST /api/v3/user/repos"); i < 0 || auth[i] != "token "+realToken {
		t.Fatalf("the API saw %q", reqs)
	}
}

// TestToolIgnoringProxyFailsClosed: a tool that goes around the proxy (to
// the API's own address, not trusting the run's CA) holds only the
// placeholder, which the API refuses.
func TestToolIgnoringProxyFailsClosed(t *testing.T) {
	t.Parallel()
	needTool(t, "curl")
	d := newGitHubDouble(t)
	env := ghesEnv(t, d, "DEVICEGATE_CALLER=agent", "OAUTH_POLICY=allow run sh")
	r := runTool(t, env, "sh", "-c", `curl -sS --noproxy '*' --cacert "$0" --resolve `+ghesHost+`:443:127.0.0.1 --connect-to `+ghesHost+`:443:`+d.srv.Listener.Addr().String()+` -H "Authorization: token $GH_ENTERPRISE_TOKEN" https://`+ghesHost+`/api/v3/user`, d.caFile)
	if r.code != 0 || !strings.Contains(r.stdout, "Bad credentials") {
		t.Fatalf("around the proxy: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	auth, _ := d.seen()
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "token devicegate_placeholder_") {
		t.Fatalf("the API got %q, want the placeholder", auth)
	}
}
