// Package oidctest starts a real OpenID provider for integration tests: the Node package
// oidc-provider, run by node/server.js, with the OAuth 2.0 Device Authorization Grant
// (RFC 8628), rotating refresh tokens with reuse detection, revocation and userinfo.
//
// Tests call [Start], run a device flow against [Server.Issuer], and play the person at the
// browser with [Server.Approve] or [Server.Deny]. The provider needs Node.js 20 or later and its
// packages, installed once with:
//
//	npm ci --prefix internal/testing/oidctest/node
//
// Most of its size is playing the person: browser.go and form.go read the
// provider's own HTML pages and submit their forms as a browser would,
// instead of calling a test-only shortcut that real sign-ins never take.
package oidctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client identities registered in node/server.js.
const (
	PublicClientID           = "devicegate-public"
	ConfidentialClientID     = "devicegate-confidential"
	ConfidentialClientSecret = "devicegate-test-secret-not-secret"
	// Code-flow clients (native apps, RFC 8252): loopback redirects at
	// /callback on 127.0.0.1, localhost or [::1], any port, and
	// PublicCallback; PKCE required.
	// The confidential one takes ConfidentialClientSecret on the code
	// exchange, as Google's Desktop app clients do.
	NativeClientID             = "devicegate-native"
	NativeConfidentialClientID = "devicegate-native-confidential"
	// PublicCallback is an https redirect the code-flow clients accept,
	// standing for an owner's own public callback; nothing serves it.
	PublicCallback = "https://auth.example.test/devicegate/cb"
)

// SupportedScopes lists every scope the provider knows, space-separated as in a request.
// Refresh tokens are issued only when offline_access is granted.
const SupportedScopes = "openid profile email offline_access api:read api:write"

// Grant types as counted in [Stats.TokenRequestsByGrant].
const (
	GrantTypeDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code" // RFC 8628 §3.4
	GrantTypeRefreshToken = "refresh_token"
)

// installHint tells the person how to get the provider's packages.
const installHint = "run: npm ci --prefix internal/testing/oidctest/node"

// ErrNotInstalled means Node.js or the pinned oidc-provider package is
// missing, so no provider can be started here.
var ErrNotInstalled = errors.New("the test identity provider is not installed")

// RequireEnv, when set (make test sets it), makes a missing provider fail
// the tests that need it instead of skipping them, so that CI cannot pass
// by testing nothing.
const RequireEnv = "DEVICEGATE_REQUIRE_PROVIDER"

// Installed reports whether a provider can be started here.
func Installed() bool {
	dir, err := nodeDir()
	if err != nil {
		return false
	}
	return checkInstalled(dir) == nil
}

// SkipIfNotInstalled skips t with a message saying how to run it when the
// provider is not installed (and RequireEnv is not set).
func SkipIfNotInstalled(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && os.Getenv(RequireEnv) == "" {
		t.Skipf("skipped: %v; to run the provider-backed tests: make deps (or %s)", err, strings.TrimPrefix(installHint, "run: "))
	}
}

func checkInstalled(dir string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("oidctest: %w: node (Node.js 20 or later) not found in PATH: %w\noidctest: hint: install Node.js, then %s", ErrNotInstalled, err, installHint)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		return fmt.Errorf("oidctest: %w: oidc-provider is missing from %s: %w\noidctest: hint: %s", ErrNotInstalled, dir, err, installHint)
	}
	return nil
}

// startTimeout bounds [Start]: loading oidc-provider takes well under a second.
const startTimeout = 30 * time.Second

// Options configure the provider. Durations must be whole seconds; zero keeps the default.
type Options struct {
	AccessTokenTTL  time.Duration // access and ID tokens; default 1 h
	DeviceCodeTTL   time.Duration // the device authorization's expires_in; default 10 min
	RefreshTokenTTL time.Duration // each refresh token, counted again after every rotation; default 14 days

	// PollInterval is advertised as the device authorization response's interval. By default
	// the provider sends no interval, so clients must use RFC 8628's 5 s.
	PollInterval time.Duration

	// SlowDown makes the token endpoint answer slow_down when a device code is polled sooner
	// than its interval (PollInterval, or 5 s) after the previous poll or after it was issued.
	// Each slow_down adds SlowDownIncrement (default 5 s, as RFC 8628 §3.5 requires) to that
	// code's interval, and the answer carries the new "interval" (as GitHub's does).
	// oidc-provider itself never answers slow_down.
	SlowDown          bool
	SlowDownIncrement time.Duration
}

// env turns the options into node/server.js's environment variables.
func (o Options) env() ([]string, error) {
	var env []string
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"ACCESS_TOKEN_TTL", o.AccessTokenTTL},
		{"DEVICE_CODE_TTL", o.DeviceCodeTTL},
		{"REFRESH_TOKEN_TTL", o.RefreshTokenTTL},
		{"POLL_INTERVAL", o.PollInterval},
		{"SLOW_DOWN_INCREMENT", o.SlowDownIncrement},
	} {
		if d.value == 0 {
			continue
		}
		if d.value < time.Second || d.value%time.Second != 0 {
			return nil, fmt.Errorf("%s = %v: want a whole number of seconds, at least 1s", d.name, d.value)
		}
		env = append(env, d.name+"="+strconv.FormatInt(int64(d.value/time.Second), 10))
	}
	if o.SlowDown {
		env = append(env, "SLOW_DOWN=1")
	}
	return env, nil
}

// Server is a running provider. Its fields are read-only.
type Server struct {
	Issuer string // http://127.0.0.1:PORT, without a trailing slash

	PublicClientID           string
	ConfidentialClientID     string
	ConfidentialClientSecret string

	// Endpoints, as the discovery document (Issuer + /.well-known/openid-configuration) lists them.
	DeviceAuthorizationEndpoint string
	TokenEndpoint               string
	RevocationEndpoint          string
	UserinfoEndpoint            string
	IntrospectionEndpoint       string

	// VerificationURI is the page where the person enters the user code.
	VerificationURI string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	output *outputBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // the process's exit status, set before exited is closed
	http   *http.Client

	closeOnce sync.Once
	closeErr  error
}

// Start starts a provider for one test and stops it when the test ends. It fails the test if
// the provider cannot start (never skips it). The provider's output is logged only if the test
// fails.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	s, err := StartProcess(ctx, opts)
	if err != nil {
		SkipIfNotInstalled(t, err)
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		err := s.Close()
		if err != nil || t.Failed() {
			t.Logf("oidctest: provider output:\n%s", s.Output())
		}
		if err != nil {
			t.Errorf("%v", err)
		}
	})
	return s
}

// StartProcess starts a provider outside a test, for benchmark commands. ctx bounds only the
// start; the provider runs until [Server.Close].
func StartProcess(ctx context.Context, opts Options) (*Server, error) {
	dir, err := nodeDir()
	if err != nil {
		return nil, err
	}
	return start(ctx, dir, opts)
}

// start runs server.js from dir.
func start(ctx context.Context, dir string, opts Options) (*Server, error) {
	env, err := opts.env()
	if err != nil {
		return nil, fmt.Errorf("oidctest: invalid options: %w", err)
	}
	if err := checkInstalled(dir); err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}

	ready := make(chan string, 1)
	s := &Server{
		PublicClientID:           PublicClientID,
		ConfidentialClientID:     ConfidentialClientID,
		ConfidentialClientSecret: ConfidentialClientSecret,
		output:                   &outputBuffer{ready: ready},
		exited:                   make(chan struct{}),
		http:                     &http.Client{},
	}
	s.cmd = exec.Command(node, "server.js")
	s.cmd.Dir = dir
	s.cmd.Env = append(childEnv(), append(env, "WATCH_STDIN=1")...)
	s.cmd.Stdout = s.output
	s.cmd.Stderr = s.output
	// The provider exits when this pipe closes, so it dies with us even if Close never runs.
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("oidctest: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("oidctest: start node: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()

	select {
	case s.Issuer = <-ready:
	case <-s.exited:
		return nil, fmt.Errorf("oidctest: provider exited before it was ready (%v); output:\n%s", s.err, s.Output())
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("oidctest: waiting for the provider to listen: %w; output:\n%s", ctx.Err(), s.Output())
	}
	if err := s.discover(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("oidctest: %w; output:\n%s", err, s.Output())
	}
	return s, nil
}

// Close stops the provider. It reports an error if the provider had already exited.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		select {
		case <-s.exited:
			s.closeErr = fmt.Errorf("oidctest: provider exited before Close: %v", s.err)
			return
		default:
		}
		s.stdin.Close() // WATCH_STDIN: the provider exits on end of file
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return s.closeErr
}

// Output returns what the provider printed so far. It contains no tokens.
func (s *Server) Output() string {
	return s.output.String()
}

// discover reads the discovery document, which also proves the provider answers requests.
func (s *Server) discover(ctx context.Context) error {
	var doc struct {
		Issuer                      string `json:"issuer"`
		DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
		TokenEndpoint               string `json:"token_endpoint"`
		RevocationEndpoint          string `json:"revocation_endpoint"`
		UserinfoEndpoint            string `json:"userinfo_endpoint"`
		IntrospectionEndpoint       string `json:"introspection_endpoint"`
	}
	if err := s.getJSON(ctx, s.Issuer+"/.well-known/openid-configuration", &doc); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != s.Issuer {
		return fmt.Errorf("discovery: issuer %q, want %q", doc.Issuer, s.Issuer)
	}
	s.DeviceAuthorizationEndpoint = doc.DeviceAuthorizationEndpoint
	s.TokenEndpoint = doc.TokenEndpoint
	s.RevocationEndpoint = doc.RevocationEndpoint
	s.UserinfoEndpoint = doc.UserinfoEndpoint
	s.IntrospectionEndpoint = doc.IntrospectionEndpoint
	s.VerificationURI = s.Issuer + "/device" // not in discovery; RFC 8628 returns it per request
	return nil
}

// getJSON fetches a small JSON document from the provider.
func (s *Server) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// nodeDir finds node/ next to this source file, so tests in any package can start the provider.
func nodeDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("oidctest: cannot locate the package source directory")
	}
	dir := filepath.Join(filepath.Dir(file), "node")
	if _, err := os.Stat(filepath.Join(dir, "server.js")); err != nil {
		return "", fmt.Errorf("oidctest: provider script not found: %w", err)
	}
	return dir, nil
}

// childEnv is our environment without variables that would change the provider: DEBUG would
// make oidc-provider log requests (tokens included), and the others are ours to set.
func childEnv() []string {
	drop := map[string]bool{
		"DEBUG": true, "PORT": true, "WATCH_STDIN": true,
		"ACCESS_TOKEN_TTL": true, "DEVICE_CODE_TTL": true, "REFRESH_TOKEN_TTL": true,
		"POLL_INTERVAL": true, "SLOW_DOWN": true, "SLOW_DOWN_INCREMENT": true,
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			env = append(env, kv)
		}
	}
	return env
}

// outputLimit caps the collected output; the provider prints a few warnings, not a log.
const outputLimit = 1 << 20

// outputBuffer collects the provider's stdout and stderr and reports the LISTENING line.
type outputBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	line  []byte      // the unfinished last line
	ready chan string // receives the issuer once
}

const listeningPrefix = "LISTENING "

func (b *outputBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < outputLimit {
		b.buf.Write(p)
	}
	if b.ready == nil {
		return len(p), nil
	}
	b.line = append(b.line, p...)
	for {
		i := bytes.IndexByte(b.line, '\n')
		if i < 0 {
			break
		}
		line := string(b.line[:i])
		b.line = b.line[i+1:]
		if issuer, ok := strings.CutPrefix(line, listeningPrefix); ok {
			b.ready <- strings.TrimSpace(issuer)
			b.ready, b.line = nil, nil
			break
		}
	}
	return len(p), nil
}

func (b *outputBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
