package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// scriptedOwner taps the given button and remembers what was asked.
type scriptedOwner struct {
	mu     sync.Mutex
	choice approval.Choice
	asked  []approval.Request
}

func (o *scriptedOwner) Ask(_ context.Context, req approval.Request) (approval.Choice, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.asked = append(o.asked, req)
	return o.choice, nil
}

func (o *scriptedOwner) requests() []approval.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]approval.Request(nil), o.asked...)
}

const gateToken = "gho_gate_test_token_value"

// gateEnv is a signed-in github profile whose API is a local server, and
// serve's approval socket answered by owner. It returns the API's request
// log.
func gateEnv(t testing.TB, owner *scriptedOwner) (dataDir string, seen func() []string) {
	t.Helper()
	var mu sync.Mutex
	var log []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		log = append(log, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(api.Close)
	xdg := t.TempDir()
	dataDir = filepath.Join(xdg, "devicegate")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	entry := `{"version":1,"profile":"default","provider":"github","access_token":"` + gateToken + `","token_type":"bearer","scopes_granted":["repo"],"account":{"name":"Octo Cat","email":"octo@example.com","subject":"octocat"}}`
	if err := os.WriteFile(filepath.Join(dataDir, "default.token"), []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"XDG_DATA_HOME": xdg, "OAUTH_PROVIDER": "github", "OAUTH_CLIENT_ID": "Iv1.test",
		"OAUTH_API_URL": api.URL, "OAUTH_POLICY": "", "SIDECAR_CACHE_KEY": "", "SIDECAR_PROFILES": "",
	} {
		t.Setenv(k, v)
	}
	if owner != nil {
		// serve decides by the profile's policy, as the test sets it.
		pol := func(_ context.Context, profile string) (*policy.Policy, string, error) {
			if profile != "default" {
				return nil, "", errors.New("unknown profile")
			}
			p, err := policy.Parse(os.Getenv("OAUTH_POLICY"))
			return p, os.Getenv("OAUTH_API_URL"), err
		}
		runApprovalServer(t, dataDir, &approval.Server{Owner: owner, Policy: pol})
	}
	return dataDir, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), log...)
	}
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestGateAPI(t *testing.T) {
	tests := []struct {
		name     string
		caller   string
		choice   approval.Choice
		args     []string
		wantCode int
		asked    bool
		sent     bool
		decision string // on the api audit line
	}{
		{"agent read is allowed", "agent", approval.Deny, []string{"api", "/user"}, 0, false, true, "allow"},
		{"agent write, owner allows once", "agent", approval.AllowOnce, []string{"api", "-X", "POST", "-d", `{"title":"x","token":"s3cr3t-in-body"}`, "/repos/o/r/issues"}, 0, true, true, "allow_once"},
		{"agent write, owner allows for an hour", "agent", approval.AllowHour, []string{"api", "-X", "DELETE", "/repos/o/r/issues/1"}, 0, true, true, "allow_1h"},
		{"agent write, owner denies", "agent", approval.Deny, []string{"api", "-X", "PATCH", "-d", "{}", "/repos/o/r"}, exitcode.Refused, true, false, "deny"},
		{"owner write is not asked", "", approval.Deny, []string{"api", "-X", "POST", "-d", "{}", "/repos/o/r/issues"}, 0, false, true, "owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owner := &scriptedOwner{choice: tt.choice}
			dir, seen := gateEnv(t, owner)
			t.Setenv(audit.CallerVar, tt.caller)
			code, stdout, stderr := runMain(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr)
			}
			if got := len(owner.requests()) > 0; got != tt.asked {
				t.Errorf("owner asked: %v, want %v", got, tt.asked)
			}
			if got := len(seen()) > 0; got != tt.sent {
				t.Errorf("API called: %v, want %v (%q)", got, tt.sent, seen())
			}
			if tt.sent && !strings.Contains(stdout, `"ok":true`) {
				t.Errorf("stdout %q", stdout)
			}
			if tt.wantCode == exitcode.Refused && (!strings.Contains(stderr, "the owner said no") || !strings.Contains(stderr, "hint: do not retry")) {
				t.Errorf("stderr %q", stderr)
			}
			for _, r := range owner.requests() {
				if r.Profile != "default" || r.Account != "octo@example.com" || r.Action != "api" || r.Host == "" || r.Rule == "" {
					t.Errorf("approval request %+v", r)
				}
				if strings.Contains(r.Preview, "s3cr3t") {
					t.Errorf("the preview shows a secret: %q", r.Preview)
				}
			}
			evs, err := audit.Open(dir).Read(audit.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			var apiLine *audit.Event
			approvals := 0
			for i, e := range evs {
				switch e.Action {
				case audit.ActionAPI:
					apiLine = &evs[i]
				case audit.ActionApproval:
					approvals++
				}
			}
			if apiLine == nil || apiLine.Decision != tt.decision || apiLine.Path == "" || apiLine.Method == "" {
				t.Fatalf("api audit line %+v in %+v, want decision %q", apiLine, evs, tt.decision)
			}
			if tt.sent && apiLine.Status != http.StatusCreated {
				t.Errorf("audit status %d", apiLine.Status)
			}
			if (approvals == 1) != tt.asked {
				t.Errorf("%d approval lines, asked %v", approvals, tt.asked)
			}
			b, _ := os.ReadFile(filepath.Join(dir, audit.FileName))
			if bytes.Contains(b, []byte(gateToken)) || bytes.Contains(b, []byte("s3cr3t")) {
				t.Errorf("the audit log holds a secret:\n%s", b)
			}
		})
	}
}

func TestGateToken(t *testing.T) {
	owner := &scriptedOwner{choice: approval.AllowOnce}
	dir, _ := gateEnv(t, owner)
	t.Setenv(audit.CallerVar, "agent")
	code, stdout, stderr := runMain(t, "token")
	if code != 0 || strings.TrimSpace(stdout) != gateToken {
		t.Fatalf("token: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if r := owner.requests(); len(r) != 1 || r[0].Action != "token" || r[0].Rule != "ask token" {
		t.Fatalf("asked %+v", r)
	}
	owner.choice = approval.Deny
	code, stdout, _ = runMain(t, "token")
	if code != exitcode.Refused || stdout != "" {
		t.Fatalf("denied token: exit %d, stdout %q", code, stdout)
	}
	// With the rule "allow token" nobody is asked.
	t.Setenv("OAUTH_POLICY", "allow token")
	if code, _, stderr := runMain(t, "token"); code != 0 {
		t.Fatalf("allowed token: exit %d: %s", code, stderr)
	}
	if n := len(owner.requests()); n != 2 {
		t.Errorf("owner asked %d times, want 2", n)
	}
	evs, _ := audit.Open(dir).Read(audit.Filter{})
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+":"+e.Decision)
	}
	want := "approval:allow_once token:allow_once approval:deny token:deny token:allow"
	if strings.Join(got, " ") != want {
		t.Errorf("audit %q, want %q", strings.Join(got, " "), want)
	}
}

// TestGateAttacks: requests that would run differently from how they are
// judged and shown never reach the API (issue: the approval message
// showed less than what ran, and rules ignored the base path).
func TestGateAttacks(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		api      string // OAUTH_API_URL's path
		args     func(api string) []string
		wantCode int
		asked    bool
	}{
		{"method override on an approved POST", "allow POST /**", "", func(string) []string {
			return []string{"api", "-X", "POST", "-H", "X-HTTP-Method-Override: DELETE", "-d", "{}", "/repos/o/precious"}
		}, exitcode.Usage, false},
		{"X-Method-Override in any case", "allow POST /**", "", func(string) []string {
			return []string{"api", "-X", "POST", "-H", "x-method-override: DELETE", "/repos/o/precious"}
		}, exitcode.Usage, false},
		{"a body on a GET", "", "", func(string) []string {
			return []string{"api", "-X", "GET", "-d", `{"private":false}`, "/user/repos"}
		}, exitcode.Usage, false},
		{"beta next to v1.0 asks", "deny * /v1.0/users/**", "/v1.0", func(api string) []string {
			return []string{"api", api + "/beta/users/someone"}
		}, exitcode.Refused, true},
		{"v1.0 users still denied", "deny * /v1.0/users/**", "/v1.0", func(api string) []string {
			return []string{"api", "/users/someone"}
		}, exitcode.Refused, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owner := &scriptedOwner{choice: approval.Deny}
			_, seen := gateEnv(t, owner)
			base := os.Getenv("OAUTH_API_URL")
			t.Setenv("OAUTH_API_URL", base+tt.api)
			t.Setenv("OAUTH_POLICY", tt.policy)
			t.Setenv(audit.CallerVar, audit.CallerAgent)
			code, _, stderr := runMain(t, tt.args(base)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr)
			}
			if got := seen(); len(got) != 0 {
				t.Errorf("the API was called: %q", got)
			}
			if got := len(owner.requests()) > 0; got != tt.asked {
				t.Errorf("owner asked %v, want %v", got, tt.asked)
			}
		})
	}
}

// TestGateRateLimit: over its budget the agent is refused before the
// policy is read, with exit 8 and one audit line for the burst; the owner
// is never limited.
func TestGateRateLimit(t *testing.T) {
	dir := t.TempDir()
	st, err := tokencache.Open(filepath.Join(dir, "cache"), nil)
	if err != nil {
		t.Fatal(err)
	}
	log := audit.Open(dir)
	log.Burst, log.Rate = 2, 1
	pol, err := policy.Parse("deny DELETE /**")
	if err != nil {
		t.Fatal(err)
	}
	call := func(caller, method string) error {
		s := &session.Session{Profile: "default", Store: st, Policy: pol, Audit: log, Caller: caller}
		_, err := gateFor(s, "https://api.github.com").Check(context.Background(), gate.Action{Kind: gate.API, Method: method, URL: "https://api.github.com/user"})
		return err
	}
	for i := range 2 {
		if err := call(audit.CallerAgent, "GET"); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	for _, method := range []string{"GET", "DELETE", "GET"} {
		err := call(audit.CallerAgent, method)
		if !errors.Is(err, audit.ErrRateLimited) || errors.Is(err, policy.ErrRefused) {
			t.Fatalf("%s over the budget: %v, want the rate limit (not the policy)", method, err)
		}
		if code := cli.Code(err); code != exitcode.Refused {
			t.Fatalf("exit %d, want %d", code, exitcode.Refused)
		}
	}
	for range 5 {
		if err := call(audit.CallerOwner, "GET"); err != nil {
			t.Fatalf("the owner was limited: %v", err)
		}
	}
	evs, err := log.Read(audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Decision != audit.DecisionRateLimited || evs[0].Caller != audit.CallerAgent || evs[0].Profile != "default" {
		t.Fatalf("audit lines %+v, want the one rate_limited line", evs)
	}
}
