//go:build dockere2e && linux

package docker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	toolImage        = "devicegate/sidecar-tool:e2e"
	toolComposeFile  = "compose.tool.yaml"
	toolOverrideFile = "e2e/docker/testdata/compose.tool.test.yaml"
	// runTools is GUARD_RUN_TOOLS: gh, and two tools that show what a tool
	// can see: env prints its environment, cat reads files.
	runTools    = "gh env cat"
	caInSidecar = "/etc/devicegate-test/ca.pem"
)

// TestTool builds the worked example of README "Bring your own CLI" (the
// sidecar with Debian's gh, from the Dockerfile's tool target over the Debian stand-in),
// starts it with compose.tool.yaml, signs in with the github preset against
// the real identity provider, and runs gh through the guard against a test
// GitHub API (GitHub Enterprise Server style: https://HOST/api/v3).
func TestTool(t *testing.T) {
	s := newStack(t)
	api := newGitHubAPI(t)
	s.files = []string{toolComposeFile, toolOverrideFile}
	s.composeEnv = []string{"GUARD_RUN_TOOLS=" + runTools}
	s.writeToolConfig(t, api)
	must := func(ok bool) {
		if !ok {
			t.FailNow()
		}
	}
	must(t.Run("build", s.buildTool))
	must(t.Run("up", s.up))
	must(t.Run("signed out", s.testSignedOut))
	must(t.Run("tgauth", s.testTgauth))
	t.Run("nonroot", s.testNonroot)
	token := s.readToken(t)
	t.Run("gh api", func(t *testing.T) { s.testGhAPI(t, api, token) })
	t.Run("api write asks the owner", func(t *testing.T) { s.testAPIWriteAsks(t, api, token) })
	t.Run("tool environment", func(t *testing.T) { s.testToolEnv(t, api, token) })
	t.Run("hidden files", func(t *testing.T) { s.testHiddenFiles(t, api) })
	t.Run("guard refuses other programs", func(t *testing.T) { s.testRunDenied(t, api) })
	var fresh string
	t.Run("refresh first", func(t *testing.T) { fresh = s.testRunRefreshes(t, api, token) })
	t.Run("no token leaked", func(t *testing.T) {
		s.testNoLeak(t, token)
		if fresh != "" {
			s.testNoLeak(t, fresh)
		}
	})
}

// testRunRefreshes asks for a token that lasts longer than the one in the
// cache: sidecar run refreshes first (one refresh request) and the tool
// sends the new token. It returns the new token.
func (s *stack) testRunRefreshes(t *testing.T, api *githubAPI, old string) string {
	ctx := context.Background()
	if err := s.idp.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	n := len(api.requests())
	r := s.inSidecar(t, "sidecar", "run", "--min-ttl", "2h", "--", "gh", "api", "/user")
	if r.code != 0 || !strings.Contains(r.stdout, `"login":"alice"`) {
		t.Fatalf("gh api after a refresh: %s", r)
	}
	st, err := s.idp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.RefreshRequests != 1 || st.InvalidGrantResponses != 0 {
		t.Fatalf("%d refreshes and %d invalid_grant, want 1 and 0", st.RefreshRequests, st.InvalidGrantResponses)
	}
	fresh := s.readToken(t)
	reqs := api.requests()[n:]
	if fresh == old || len(reqs) != 1 || reqs[0].auth != "token "+fresh {
		t.Fatalf("the tool did not send the refreshed token: %+v", redactReqs(redactReqs(reqs, old), fresh))
	}
	return fresh
}

// writeToolConfig makes the default profile a github one whose sign-in
// goes to the test identity provider and whose API is the test GitHub API.
func (s *stack) writeToolConfig(t *testing.T, api *githubAPI) {
	t.Helper()
	env := strings.Join([]string{
		"OAUTH_PROVIDER=github",
		"OAUTH_CLIENT_ID=" + s.idp.PublicClientID,
		"OAUTH_SCOPES=openid profile email offline_access api:read",
		"OAUTH_DEVICE_AUTH_URL=" + s.idp.DeviceAuthorizationEndpoint,
		"OAUTH_TOKEN_URL=" + s.idp.TokenEndpoint,
		"OAUTH_API_URL=" + api.base() + "/api/v3",
		"TELEGRAM_API_URL=" + s.tg.URL(),
		"TELEGRAM_CHAT_ID=" + strconv.Itoa(chatID),
		"SIDECAR_HOSTNAME=" + sidecarName,
		"SSL_CERT_FILE=" + caInSidecar,
		// The agent runs the tools unasked; API writes keep the default (ask).
		"OAUTH_POLICY=allow run",
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(s.dir, "sidecar.env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "ca.pem"), api.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildTool builds the images as a user of compose.tool.yaml does, and
// checks that the tool image keeps the plain image's safety settings.
func (s *stack) buildTool(t *testing.T) {
	start := time.Now()
	if r := s.compose(t, command{args: []string{"build", "sidecar", "guard"}, quiet: true}); r.code != 0 {
		t.Fatalf("compose build: %s", r)
	}
	t.Logf("built the tool image and the guard's in %s", time.Since(start).Round(time.Second))
	r := s.host(t, command{args: []string{"image", "inspect", "-f", "{{.Config.User}} {{json .Config.Healthcheck.Test}} {{json .Config.Entrypoint}} {{.Size}}", toolImage}})
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) != 4 || f[0] != "65532:65532" || f[1] != `["CMD","sidecar","health"]` || f[2] != `["sidecar","serve"]` {
		t.Fatalf("the tool image: %s", r)
	}
	t.Logf("tool image: %s bytes", f[3])
	// gh comes from Debian's package, installed in the build.
	r = s.host(t, command{args: []string{"run", "--rm", "--entrypoint", "dpkg-query", toolImage, "-W", "-f", "${Package} ${Version}", "gh"}})
	if r.code != 0 || !strings.HasPrefix(r.stdout, "gh 2.") {
		t.Fatalf("gh is not Debian's package in the image: %s", r)
	}
}

// readToken reads the access token through the real socket; it is never
// logged.
func (s *stack) readToken(t *testing.T) string {
	t.Helper()
	r := s.host(t, command{args: []string{"exec", sidecarName, "sidecar", "token"}, secret: true})
	token := strings.TrimSpace(r.stdout)
	if r.code != 0 || len(token) < 16 {
		t.Fatalf("sidecar token: %s", r)
	}
	return token
}

// testGhAPI runs gh through the guard: the request reaches the API with the
// token, the answer reaches the agent, stdin and the exit code pass through.
func (s *stack) testGhAPI(t *testing.T, api *githubAPI, token string) {
	n := len(api.requests())
	r := s.inSidecar(t, "sidecar", "run", "--", "gh", "api", "/user")
	if r.code != 0 || !strings.Contains(r.stdout, `"login":"alice"`) {
		t.Fatalf("gh api /user: %s", r)
	}
	reqs := api.requests()[n:]
	if len(reqs) != 1 || reqs[0].line != "GET /api/v3/user" || reqs[0].auth != "token "+token {
		t.Fatalf("the API saw %d requests, want GET /api/v3/user with the access token: %+v", len(reqs), redactReqs(reqs, token))
	}

	// gh's write is judged like `sidecar api`: the default asks the owner,
	// who allows it once.
	n = len(api.requests())
	done := make(chan result, 1)
	go func() {
		done <- s.agent(t, command{
			args:  []string{"exec", "-i", sidecarName, "sidecar", "run", "--", "gh", "api", "-X", "POST", "repos/OWNER/REPO/issues", "--input", "-"},
			stdin: strings.NewReader(`{"title":"written on stdin"}`),
		})
	}()
	q := s.tapApproval(t, "Allow once")
	if !strings.Contains(q.Text, "POST") || !strings.Contains(q.Text, "/api/v3/repos/OWNER/REPO/issues") {
		t.Errorf("the question for gh's write:\n%s", q.Text)
	}
	r = <-done
	if r.code != 0 || !strings.Contains(r.stdout, `"title":"written on stdin"`) {
		t.Fatalf("gh api with stdin: %s", r)
	}
	reqs = api.requests()[n:]
	if len(reqs) != 1 || reqs[0].line != "POST /api/v3/repos/OWNER/REPO/issues" || reqs[0].body != `{"title":"written on stdin"}` || reqs[0].auth != "token "+token {
		t.Fatalf("the API saw %+v", redactReqs(reqs, token))
	}

	// gh exits 1 on an HTTP error, and says so on stderr.
	r = s.inSidecar(t, "sidecar", "run", "--", "gh", "api", "repos/OWNER/NOPE")
	if r.code != 1 || !strings.Contains(r.stderr, "HTTP 404") {
		t.Fatalf("gh api on a 404: %s", r)
	}
}

// testToolEnv prints the tool's environment: a placeholder is there under
// the names gh reads, never the token, for the owner (on the engine's
// socket) as for the agent (through the guard); our configuration and
// secrets are not there.
func (s *stack) testToolEnv(t *testing.T, api *githubAPI, token string) {
	envOf := func(r result) map[string]string {
		if r.code != 0 {
			t.Fatalf("sidecar run -- env: %s", r)
		}
		env := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			k, v, _ := strings.Cut(line, "=")
			env[k] = v
		}
		return env
	}
	owner := envOf(s.host(t, command{args: []string{"exec", sidecarName, "sidecar", "run", "--", "env"}, secret: true}))
	r := s.agent(t, command{args: []string{"exec", sidecarName, "sidecar", "run", "--", "env"}, secret: true})
	env := envOf(r)
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Error("the agent read the access token in the tool's output")
	}
	host := strings.TrimPrefix(api.base(), "https://")
	for _, k := range []string{"ACCESS_TOKEN", "GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"} {
		if !strings.HasPrefix(owner[k], "devicegate_placeholder_") || !strings.HasPrefix(env[k], "devicegate_placeholder_") {
			t.Errorf("%s holds %d and %d bytes, not a placeholder", k, len(owner[k]), len(env[k]))
		}
	}
	if strings.Contains(fmt.Sprint(owner), token) {
		t.Error("the owner's tool holds the access token")
	}
	if env["HTTPS_PROXY"] == "" || env["SSL_CERT_FILE"] == "" {
		t.Errorf("the tool is not sent through the proxy: HTTPS_PROXY %q, SSL_CERT_FILE %q", env["HTTPS_PROXY"], env["SSL_CERT_FILE"])
	}
	// gh prints the token it was given: a placeholder.
	g := s.agent(t, command{args: []string{"exec", sidecarName, "sidecar", "run", "--", "gh", "auth", "token"}, secret: true})
	if strings.Contains(g.stdout+g.stderr, token) || g.code == 0 && !strings.HasPrefix(strings.TrimSpace(g.stdout), "devicegate_placeholder_") {
		t.Errorf("gh auth token through sidecar run: exit %d, %d bytes on stdout, want a placeholder", g.code, len(g.stdout))
	}
	t.Logf("gh auth token, as the agent reads it: exit %d, stdout %q", g.code, strings.TrimSpace(g.stdout))
	if env["GH_HOST"] != host {
		t.Errorf("GH_HOST=%q, want %q", env["GH_HOST"], host)
	}
	// The guard's mark reaches what the agent's command starts.
	if env["DEVICEGATE_CALLER"] != "agent" {
		t.Errorf("DEVICEGATE_CALLER=%q, want agent", env["DEVICEGATE_CALLER"])
	}
	var names []string
	for k := range env {
		names = append(names, k)
		for _, p := range []string{"SIDECAR_", "OAUTH_", "TELEGRAM_", "GUARD_"} {
			if strings.HasPrefix(k, p) {
				t.Errorf("the tool sees %s", k)
			}
		}
	}
	t.Logf("the tool's environment has: %s", strings.Join(names, " "))
	for name, secret := range s.secrets(t) {
		if secret != "" && strings.Contains(r.stdout, secret) {
			t.Errorf("the tool's environment holds the %s", name)
		}
	}
}

// secrets returns the secret files' contents.
func (s *stack) secrets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range []string{"cache_key", "telegram_bot_token", "oauth_client_secret"} {
		b, err := os.ReadFile(filepath.Join(s.dir, "secrets", name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = strings.TrimSpace(string(b))
	}
	return out
}

// testHiddenFiles checks that a tool can read neither the secret files nor
// the token cache, even when asked to send a file to the API.
func (s *stack) testHiddenFiles(t *testing.T, api *githubAPI) {
	secrets := s.secrets(t)
	// /proc/1 is the container's init, outside the tool's sandbox: its
	// memory and environment are out of reach too (so is sidecar serve's).
	for _, file := range []string{"/run/secrets/cache_key", "/run/secrets/telegram_bot_token", "/data/devicegate/default.token", "/proc/1/environ"} {
		r := s.inSidecar(t, "sidecar", "run", "--", "cat", file)
		if r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
			t.Errorf("cat %s: %s", file, r)
		}
		for name, secret := range secrets {
			if secret != "" && strings.Contains(r.stdout, secret) {
				t.Errorf("cat %s printed the %s", file, name)
			}
		}
	}
	// The files are there: sidecar itself still reads them.
	if r := s.inSidecar(t, "sidecar", "status"); r.code != 0 {
		t.Errorf("sidecar status after the tools: %s", r)
	}
	n := len(api.requests())
	r := s.inSidecar(t, "sidecar", "run", "--", "gh", "api", "-X", "POST", "repos/OWNER/REPO/issues", "-F", "title=@/run/secrets/cache_key")
	if r.code == 0 {
		t.Errorf("gh sent the cache key: %s", r)
	}
	for _, req := range api.requests()[n:] {
		if strings.Contains(req.body, secrets["cache_key"]) {
			t.Error("the API received the cache key")
		}
	}
}

// testRunDenied runs what the guard must refuse: programs not listed,
// a listed one by path, and a listed one with environment variables.
func (s *stack) testRunDenied(t *testing.T, api *githubAPI) {
	tests := []struct {
		name   string
		args   []string
		reason string
	}{
		{"sh", []string{"exec", sidecarName, "sidecar", "run", "--", "sh", "-c", "id"}, `program "sh" is not allowed (allowed: gh, env, cat)`},
		{"bash", []string{"exec", "-i", sidecarName, "sidecar", "run", "bash"}, `program "bash" is not allowed`},
		{"gh by path", []string{"exec", sidecarName, "sidecar", "run", "--", "/usr/bin/gh", "api", "/user"}, `program "/usr/bin/gh" is not allowed`},
		{"sidecar token", []string{"exec", sidecarName, "sidecar", "run", "--", "sidecar", "token"}, `program "sidecar" is not allowed`},
		{"hidden behind a flag", []string{"exec", sidecarName, "sidecar", "run", "--env", "gh", "sh"}, `program "sh" is not allowed`},
		{"with GH_HOST", []string{"exec", "-e", "GH_HOST=127.0.0.1:1", sidecarName, "sidecar", "run", "--", "gh", "api", "/user"}, "with environment variables"},
		{"with GH_PAGER", []string{"exec", "-e", "GH_PAGER=sh", sidecarName, "sidecar", "run", "--", "gh", "api", "/user"}, "with environment variables"},
		{"gh without sidecar run", []string{"exec", sidecarName, "gh", "api", "/user"}, `command "gh" is not allowed`},
	}
	n := len(api.requests())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.agent(t, command{args: tt.args, stdin: strings.NewReader("")})
			out := r.stdout + r.stderr
			if r.code == 0 || !strings.Contains(out, "devicegate guard: ") || !strings.Contains(out, tt.reason) {
				t.Errorf("docker %s: want a refusal mentioning %q; %s", strings.Join(tt.args, " "), tt.reason, r)
			}
		})
	}
	if got := api.requests()[n:]; len(got) != 0 {
		t.Errorf("refused commands reached the API: %d requests", len(got))
	}
}

// githubAPI plays the GitHub API of a GitHub Enterprise Server
// (https://HOST/api/v3) over HTTPS on 127.0.0.1, with a certificate for
// ghesName from a CA of its own (caPEM). The sidecar addresses it as
// ghesName (compose.tool.test.yaml maps it to 127.0.0.1): Go tools like gh
// never send a loopback address through sidecar run's proxy.
type githubAPI struct {
	*httptest.Server
	caPEM []byte
	mu    sync.Mutex
	reqs  []apiRequest
}

// ghesName is the test GitHub Enterprise Server's host name.
const ghesName = "github.devicegate.test"

// base is the API's origin as the sidecar addresses it.
func (a *githubAPI) base() string {
	_, port, _ := net.SplitHostPort(a.Listener.Addr().String())
	return "https://" + ghesName + ":" + port
}

type apiRequest struct {
	line, auth, body string
}

func newGitHubAPI(t *testing.T) *githubAPI {
	a := &githubAPI{}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "devicegate e2e GitHub API CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: ghesName},
		DNSNames: []string{ghesName}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	a.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.Server.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	a.Server.StartTLS()
	t.Cleanup(a.Close)
	return a
}

func (a *githubAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	a.mu.Lock()
	a.reqs = append(a.reqs, apiRequest{r.Method + " " + r.URL.Path, r.Header.Get("Authorization"), string(body)})
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch {
	case r.Method == "GET" && r.URL.Path == "/api/v3/user":
		fmt.Fprint(w, `{"login":"alice","id":1,"name":"Alice Example","email":"alice@example.com"}`)
	case r.Method == "POST" && r.URL.Path == "/api/v3/repos/OWNER/REPO/issues":
		var in struct {
			Title string `json:"title"`
		}
		if json.Unmarshal(body, &in) != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"message":"Problems parsing JSON"}`)
			return
		}
		out, _ := json.Marshal(map[string]any{"number": 1, "title": in.Title})
		w.WriteHeader(http.StatusCreated)
		w.Write(out)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"Not Found"}`)
	}
}

func (a *githubAPI) requests() []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiRequest(nil), a.reqs...)
}

// redactReqs is reqs fit for a log: the token replaced.
func redactReqs(reqs []apiRequest, token string) []apiRequest {
	out := make([]apiRequest, len(reqs))
	for i, r := range reqs {
		r.auth = strings.ReplaceAll(r.auth, token, "ACCESS_TOKEN")
		r.body = strings.ReplaceAll(r.body, token, "ACCESS_TOKEN")
		out[i] = r
	}
	return out
}
