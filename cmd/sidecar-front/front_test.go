package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// bins holds the two programs, built once: the front and the full sidecar.
var bins struct{ front, full string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sidecar-front-")
	if err != nil {
		panic(err)
	}
	bins.front, bins.full = filepath.Join(dir, "front"), filepath.Join(dir, "full")
	for out, pkg := range map[string]string{bins.front: ".", bins.full: "../sidecar"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := build.CombinedOutput(); err != nil {
			os.Stderr.Write(b)
			panic(err)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// install lays the programs out as the image does: bin/sidecar is the
// front; libexec/devicegate/sidecar is the full program, or nothing.
func install(t *testing.T, withFull bool) string {
	t.Helper()
	root := t.TempDir()
	bin := filepath.Join(root, "bin", "sidecar")
	link(t, bins.front, bin)
	if withFull {
		link(t, bins.full, filepath.Join(root, "libexec", "devicegate", "sidecar"))
	}
	return bin
}

func link(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(from, to); err != nil {
		t.Fatal(err)
	}
}

// result is everything a caller of `sidecar` can observe.
type result struct {
	stdout, stderr string
	code           int
	audit          []map[string]any // the lines written, without their time
}

// run runs argv with env in a data directory made afresh by setup, always
// at the same path so that messages naming it are alike.
func run(t *testing.T, data string, setup func(t *testing.T, data string), env []string, argv ...string) result {
	t.Helper()
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(data, "devicegate"), 0o700); err != nil {
		t.Fatal(err)
	}
	setup(t, filepath.Join(data, "devicegate"))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + data, "XDG_DATA_HOME=" + data}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r result
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	b, _ := os.ReadFile(filepath.Join(data, "devicegate", "audit.jsonl"))
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		delete(m, "time")
		r.audit = append(r.audit, m)
	}
	return r
}

const key = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=" // 32 bytes, for tests only

// cached writes a profile's cache entry, encrypted with k when it is set.
// The expiry is fixed when the case is made, not when the entry is written:
// each case writes its cache three times, and two writes a second apart
// must not differ in what --json prints.
func cached(profile string, expiry time.Duration, k string, edit func(*tokencache.Entry)) func(*testing.T, string) {
	exp := time.Now().Add(expiry).Round(time.Second)
	return func(t *testing.T, dir string) {
		var raw []byte
		if k != "" {
			var err error
			if raw, err = tokencache.ParseKey(k); err != nil {
				t.Fatal(err)
			}
		}
		st, err := tokencache.Open(dir, raw)
		if err != nil {
			t.Fatal(err)
		}
		e := &tokencache.Entry{Profile: profile, Provider: "github", AccessToken: "gho_front" + profile + "0123456789abcdef",
			TokenType: "bearer", Expiry: exp, ScopesGranted: []string{"repo"},
			Account: tokencache.Account{Name: "octocat"}}
		if edit != nil {
			edit(e)
		}
		if err := st.Save(e); err != nil {
			t.Fatal(err)
		}
	}
}

func nothing(*testing.T, string) {}

// overLimit empties the agent's rate-limit bucket in a burst already
// recorded (its line is removed, so that the case's own lines show).
func overLimit(t *testing.T, dir string) {
	l := audit.Open(dir)
	l.Burst = 1
	ev := audit.Event{Profile: "default", Caller: audit.CallerAgent, Action: audit.ActionToken}
	if err := l.Admit(ev); err != nil {
		t.Fatal(err)
	}
	if err := l.Admit(ev); !errors.Is(err, audit.ErrRateLimited) {
		t.Fatalf("the second of a burst of one: %v", err)
	}
	if err := os.Remove(l.Path()); err != nil {
		t.Fatal(err)
	}
}

func both(setups ...func(*testing.T, string)) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		for _, s := range setups {
			s(t, dir)
		}
	}
}

// TestFrontMatchesFull: `sidecar` as installed (the front before the full
// program) behaves exactly as the full program alone: the same output,
// exit code and audit lines. The front alone (no full program installed)
// shows which cases it answers itself: those must be the cases of a valid
// cached token that the caller may have without asking.
func TestFrontMatchesFull(t *testing.T) {
	github := []string{"OAUTH_PROVIDER=github", "OAUTH_CLIENT_ID=Iv1.front"}
	work := []string{"SIDECAR_PROFILES=work", "OAUTH_WORK_PROVIDER=github", "OAUTH_WORK_CLIENT_ID=Iv1.work"}
	agent := append([]string{"DEVICEGATE_CALLER=agent"}, github...)
	tests := []struct {
		name    string
		env     []string
		setup   func(*testing.T, string)
		args    []string
		handled bool // answered by the front itself
	}{
		{"valid token", github, cached("default", 2*time.Hour, "", nil), []string{"token"}, true},
		{"named profile", work, cached("work", 2*time.Hour, "", nil), []string{"token", "--profile=work"}, true},
		{"single-dash flags with values", work, cached("work", 2*time.Hour, "", nil), []string{"token", "-profile", "work", "-min-ttl", "30m"}, true},
		{"no expiry (GitHub OAuth app)", github, cached("default", 0, "", func(e *tokencache.Entry) { e.Expiry = time.Time{} }), []string{"token"}, true},
		{"min-ttl beyond the expiry", github, cached("default", 2*time.Hour, "", nil), []string{"token", "--min-ttl", "3h"}, false},
		{"expired, no refresh token", github, cached("default", -time.Minute, "", nil), []string{"token"}, false},
		{"sign-in required", github, cached("default", 2*time.Hour, "", func(e *tokencache.Entry) { e.SignInRequired, e.Reason = true, "invalid_grant" }), []string{"token"}, false},
		{"not signed in", github, nothing, []string{"token"}, false},
		{"damaged cache", github, func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "default.token"), []byte("{\"version\":1,"), 0o600)
		}, []string{"token"}, false},
		{"--json", github, cached("default", 2*time.Hour, "", nil), []string{"token", "--json"}, false},
		{"--scope", github, cached("default", 2*time.Hour, "", nil), []string{"token", "--scope", "repo"}, false},
		{"unknown flag", github, cached("default", 2*time.Hour, "", nil), []string{"token", "--bogus"}, false},
		{"an argument", github, cached("default", 2*time.Hour, "", nil), []string{"token", "extra"}, false},
		{"negative min-ttl", github, cached("default", 2*time.Hour, "", nil), []string{"token", "--min-ttl=-1s"}, false},
		{"flag without its value", github, cached("default", 2*time.Hour, "", nil), []string{"token", "--profile"}, false},
		{"unknown profile", github, cached("default", 2*time.Hour, "", nil), []string{"token", "--profile", "nope"}, false},
		{"bad configuration", []string{"OAUTH_PROVIDER=google", "OAUTH_CLIENT_ID=x"}, cached("default", 2*time.Hour, "", nil), []string{"token"}, false},
		{"bad policy", append([]string{"OAUTH_POLICY=frobnicate"}, github...), cached("default", 2*time.Hour, "", nil), []string{"token"}, false},
		{"agent, default policy asks", agent, cached("default", 2*time.Hour, "", nil), []string{"token"}, false},
		{"agent, policy allows", append([]string{"OAUTH_POLICY=allow token"}, agent...), cached("default", 2*time.Hour, "", nil), []string{"token"}, true},
		{"agent over the rate limit", append([]string{"OAUTH_POLICY=allow token"}, agent...), both(cached("default", 2*time.Hour, "", nil), overLimit), []string{"token"}, false},
		{"agent, policy denies", append([]string{"OAUTH_POLICY=deny token"}, agent...), cached("default", 2*time.Hour, "", nil), []string{"token"}, false},
		{"owner, policy denies the agent only", append([]string{"OAUTH_POLICY=deny token"}, github...), cached("default", 2*time.Hour, "", nil), []string{"token"}, true},
		{"encrypted cache and its key", append([]string{"SIDECAR_CACHE_KEY=" + key}, github...), cached("default", 2*time.Hour, key, nil), []string{"token"}, true},
		{"encrypted cache without the key", github, cached("default", 2*time.Hour, key, nil), []string{"token"}, false},
		{"audit log cannot be written", github, both(cached("default", 2*time.Hour, "", nil), func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "audit.jsonl"), 0o700)
		}), []string{"token"}, true},
		{"another command", github, nothing, []string{"version"}, false},
		{"no command", github, nothing, nil, false},
	}
	installed, frontOnly := install(t, true), install(t, false)
	data := filepath.Join(t.TempDir(), "data")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full := run(t, data, tt.setup, tt.env, append([]string{bins.full}, tt.args...)...)
			got := run(t, data, tt.setup, tt.env, append([]string{installed}, tt.args...)...)
			if got.stdout != full.stdout || got.stderr != full.stderr || got.code != full.code {
				t.Fatalf("installed sidecar: exit %d\nstdout %q\nstderr %q\nfull program: exit %d\nstdout %q\nstderr %q",
					got.code, got.stdout, got.stderr, full.code, full.stdout, full.stderr)
			}
			if !slices.EqualFunc(got.audit, full.audit, func(a, b map[string]any) bool { return jsonEqual(a, b) }) {
				t.Fatalf("audit lines differ:\ninstalled %v\nfull      %v", got.audit, full.audit)
			}
			alone := run(t, data, tt.setup, tt.env, append([]string{frontOnly}, tt.args...)...)
			switch {
			case tt.handled && (alone.code != full.code || alone.stdout != full.stdout || alone.stderr != full.stderr):
				t.Fatalf("the front alone did not answer: exit %d, stderr %q", alone.code, alone.stderr)
			case !tt.handled && (alone.code != 1 || !strings.Contains(alone.stderr, "cannot start the full sidecar program") || alone.stdout != "" || len(alone.audit) != 0):
				t.Fatalf("the front answered what it must hand on: exit %d, stdout %q, stderr %q, audit %v", alone.code, alone.stdout, alone.stderr, alone.audit)
			}
			if tt.handled && (full.code != 0 || !strings.HasPrefix(full.stdout, "gho_front")) {
				t.Fatalf("a handled case that prints no token: exit %d, stdout %q", full.code, full.stdout)
			}
		})
	}
}

func jsonEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestFrontLinksNoNetwork: the front is small because it links nothing
// that talks to a network; an import that brings net/http back would undo
// that without failing any other test.
func TestFrontLinksNoNetwork(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range []string{"net", "net/http", "crypto/tls", "golang.org/x/oauth2", "github.com/go-telegram-bot-api/telegram-bot-api/v5", "os/exec"} {
		if slices.Contains(deps, pkg) {
			t.Errorf("sidecar-front links %s", pkg)
		}
	}
}

// FuzzParseFlags: what the front accepts, the flag package reads the same
// way with cmd/sidecar's token flags, with no argument left over.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{"", "--profile work", "-profile=work --min-ttl 5m", "--min-ttl=-1s", "--profile", "-- x", "--json", "-profile -min-ttl", "---profile x", "--=x", "-min-ttl 1h -min-ttl 2m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, " ")
		if s == "" {
			args = nil
		}
		profile, minTTL, ok := parseFlags(args)
		if !ok {
			return
		}
		fs := flag.NewFlagSet("token", flag.ContinueOnError)
		fs.SetOutput(new(bytes.Buffer))
		p := fs.String("profile", "", "")
		d := fs.Duration("min-ttl", 60*time.Second, "")
		fs.Bool("json", false, "")
		fs.String("scope", "", "")
		fs.Bool("aws-credentials", false, "")
		if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *p != profile || *d != minTTL || minTTL < 0 {
			t.Fatalf("parseFlags(%q) = %q, %v, ok; flag: %q, %v, %v, args %q", args, profile, minTTL, *p, *d, err, fs.Args())
		}
	})
}
