//go:build dockere2e && linux

package docker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
)

// TestStack builds the image, starts the stack and uses it as the agent
// does. The steps share one stack and run in order; a step that later steps
// need stops the test when it fails.
func TestStack(t *testing.T) {
	s := newStack(t)
	m := &measurements{}
	must := func(ok bool) {
		if !ok {
			t.FailNow()
		}
	}
	must(t.Run("build", func(t *testing.T) { s.build(t, m) }))
	must(t.Run("up", func(t *testing.T) {
		s.up(t)
		s.startDecoy(t)
	}))
	must(t.Run("signed out", s.testSignedOut))
	must(t.Run("tgauth", s.testTgauth))
	t.Run("api", s.testAPI)
	t.Run("refresh", s.testRefresh)
	t.Run("status", s.testStatus)
	t.Run("nonroot", s.testNonroot)
	must(t.Run("restart keeps the sign-in", s.testRestart))
	t.Run("streams", s.testStreams)
	t.Run("guard allows", s.testGuardAllows)
	t.Run("guard denies requests", s.testDenyRaw)
	t.Run("guard denies commands", s.testDenyCLI)
	t.Run("measure", func(t *testing.T) { s.measure(t, m) })
	t.Run("doctor names every gateway variable", s.testDoctorGateway)
	t.Run("no token leaked", func(t *testing.T) { s.testNoLeak(t, m.token) })
	m.report(t)
}

// build builds the sidecar image from the repository's Dockerfile, as
// compose.yaml says. The gateway's image is not built: the test is the agent.
func (s *stack) build(t *testing.T, m *measurements) {
	start := time.Now()
	if r := s.compose(t, command{args: []string{"build", "sidecar"}, quiet: true}); r.code != 0 {
		t.Fatalf("compose build: %s", r)
	}
	m.build = time.Since(start)
	r := s.host(t, command{args: []string{"image", "inspect", "-f", "{{.Size}}", image}})
	if r.code != 0 {
		t.Fatalf("image inspect: %s", r)
	}
	m.imageSize = strings.TrimSpace(r.stdout)
}

// startDecoy starts a container that is not the sidecar, from the same
// image, named like the agent's container: the guard must not exec into it.
func (s *stack) startDecoy(t *testing.T) {
	r := s.host(t, command{args: []string{"run", "-d", "--name", decoyName, "--label", e2eLabel + "=1",
		"--network", "none", "--cap-drop", "ALL", "--entrypoint", "sidecar", image, "guard"}})
	if r.code != 0 {
		t.Fatalf("starting the decoy: %s", r)
	}
	if r := s.host(t, command{args: []string{"inspect", "-f", "{{.State.Running}}", decoyName}}); strings.TrimSpace(r.stdout) != "true" {
		t.Fatalf("the decoy does not run: %s", r)
	}
}

// inSidecar runs `docker exec myapp-sidecar-1 ARGS...` through the guard.
func (s *stack) inSidecar(t *testing.T, args ...string) result {
	t.Helper()
	return s.agent(t, command{args: append([]string{"exec", sidecarName}, args...)})
}

func (s *stack) testSignedOut(t *testing.T) {
	r := s.inSidecar(t, "sidecar", "status", "--json")
	if st := parseStatus(t, r); r.code != 4 || st.State != "signin_required" {
		t.Fatalf("status before the sign-in: %s", r)
	}
	// sidecar serve has started: the health check passes once it has
	// finished its first round. The health check is the engine's (the
	// owner's docker), not the agent's: the guard refuses it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := s.host(t, command{args: []string{"exec", sidecarName, "sidecar", "health"}, quiet: true})
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sidecar health: %s", r)
		}
		time.Sleep(time.Second)
	}
}

// testDoctorGateway runs the Quick start's first check with none of the
// gateway's variables set: Compose no longer stops at the first missing
// one (compose.yaml has no ${VAR:?}), so `run --rm sidecar doctor` starts,
// and doctor, told by compose.yaml that its gateway runs
// (DEVICEGATE_GATEWAY=compose), names all three.
func (s *stack) testDoctorGateway(t *testing.T) {
	saved := s.composeEnv
	s.composeEnv = append(slices.Clone(saved), "OPENCLAW_TELEGRAM_BOT_TOKEN=", "TELEGRAM_OWNER_ID=", "OPENCLAW_GATEWAY_TOKEN=")
	defer func() { s.composeEnv = saved }()
	r := s.compose(t, command{args: []string{"run", "--rm", "sidecar", "doctor"}})
	if r.code != 2 {
		t.Fatalf("doctor without the gateway's variables: %s", r)
	}
	for _, v := range []string{"TELEGRAM_OWNER_ID", "OPENCLAW_TELEGRAM_BOT_TOKEN", "OPENCLAW_GATEWAY_TOKEN"} {
		if !strings.Contains(r.stdout, "FAIL  gateway            "+v+": is required") {
			t.Errorf("doctor does not name %s:\n%s", v, r.stdout)
		}
	}
}

var codeRe = regexp.MustCompile(`Enter the code (\S+) \(tap it to copy\)`)

// codesInChat returns the sign-in codes the chat shows, oldest first.
func (s *stack) codesInChat() []string {
	var codes []string
	for _, m := range s.tg.Chat(chatID) {
		s.remember(m.Text)
		if c := codeRe.FindStringSubmatch(m.Text); c != nil {
			codes = append(codes, c[1])
		}
	}
	return codes
}

// testTgauth signs in the way the agent starts it: tgauth in the sidecar
// sends the code to the chat, the person approves it at the provider.
func (s *stack) testTgauth(t *testing.T) {
	done := make(chan result, 1)
	errc := make(chan error, 1)
	go func() {
		r, err := s.exec(3*time.Minute, s.agentCommand(command{args: []string{"exec", sidecarName, "tgauth"}}))
		done <- r
		errc <- err
	}()
	var code string
	deadline := time.After(60 * time.Second)
	for code == "" {
		select {
		case r := <-done:
			t.Fatalf("tgauth ended before a code reached the chat: %s %v", r, <-errc)
		case <-deadline:
			t.Fatalf("no code in the chat after 60s; chat: %+v", s.tg.Chat(chatID))
		case <-time.After(200 * time.Millisecond):
		}
		if codes := s.codesInChat(); len(codes) > 0 {
			code = codes[0]
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.idp.Approve(ctx, code, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Logf("$ exec %s tgauth\n%s", sidecarName, r)
	if r.code != 0 || !strings.Contains(r.stdout, "tgauth: signed in as Alice Example") || !strings.Contains(r.stdout, "alice@example.com") {
		t.Fatalf("tgauth: %s", r)
	}
}

// testRefresh makes the sidecar refresh (in its detached refresh process,
// inside the container): one refresh request, no invalid_grant.
func (s *stack) testRefresh(t *testing.T) {
	ctx := context.Background()
	if err := s.idp.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	r := s.inSidecar(t, "sidecar", "api", "--min-ttl", "2h", "/me")
	if r.code != 0 || !strings.Contains(r.stdout, `"email":"alice@example.com"`) {
		t.Fatalf("api after a refresh: %s", r)
	}
	st, err := s.idp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.RefreshRequests != 1 || st.InvalidGrantResponses != 0 {
		t.Fatalf("%d refreshes and %d invalid_grant, want 1 and 0", st.RefreshRequests, st.InvalidGrantResponses)
	}
}

func (s *stack) testAPI(t *testing.T) {
	r := s.inSidecar(t, "sidecar", "api", "/me")
	if r.code != 0 || !strings.Contains(r.stdout, `"email":"alice@example.com"`) {
		t.Fatalf("api /me: %s", r)
	}
}

// status is the part of `sidecar status --json` the suite checks.
type status struct {
	State   string `json:"state"`
	Account struct {
		Email string `json:"email"`
	} `json:"account"`
	HasRefreshToken bool `json:"has_refresh_token"`
	CacheEncrypted  bool `json:"cache_encrypted"`
}

func parseStatus(t *testing.T, r result) status {
	t.Helper()
	var st status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r)
	}
	return st
}

func (s *stack) testStatus(t *testing.T) {
	r := s.inSidecar(t, "sidecar", "status", "--json")
	st := parseStatus(t, r)
	if r.code != 0 || st.State != "ok" || st.Account.Email != "alice@example.com" || !st.HasRefreshToken || !st.CacheEncrypted {
		t.Fatalf("status after the sign-in: %s", r)
	}
}

// testNonroot checks, with the real socket and the host's /proc, that the
// sidecar and the guard run as nonroot with no capabilities, and that the
// token cache on the volume is nonroot's and private.
func (s *stack) testNonroot(t *testing.T) {
	for _, name := range []string{sidecarName, guardName} {
		r := s.host(t, command{args: []string{"inspect", "-f", "{{.Config.User}} {{.State.Pid}} {{.HostConfig.ReadonlyRootfs}}", name}})
		f := strings.Fields(r.stdout)
		if r.code != 0 || len(f) != 3 {
			t.Fatalf("inspect %s: %s", name, r)
		}
		if user, _, _ := strings.Cut(f[0], ":"); user != nonroot || f[2] != "true" {
			t.Errorf("%s: user %q, read-only root %s", name, f[0], f[2])
		}
		b, err := os.ReadFile(filepath.Join("/proc", f[1], "status"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimSpace(v)
			switch k {
			case "Uid":
				for _, id := range strings.Fields(v) {
					if id != nonroot {
						t.Errorf("%s: process uids %q, want all %s", name, v, nonroot)
						break
					}
				}
			case "CapEff", "CapPrm":
				if strings.Trim(v, "0") != "" {
					t.Errorf("%s: %s %s, want none", name, k, v)
				}
			case "NoNewPrivs":
				if v != "1" {
					t.Errorf("%s: NoNewPrivs %s", name, v)
				}
			}
		}
	}
	r := s.host(t, command{args: []string{"volume", "inspect", "-f", "{{.Mountpoint}}", project + "_sidecar-data"}})
	if r.code != 0 {
		t.Fatalf("volume inspect: %s", r)
	}
	cache := filepath.Join(strings.TrimSpace(r.stdout), "devicegate", "default.token")
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatalf("the token cache is not on the volume: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65532 || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("token cache: owner %d, mode %v; want 65532 and no access for others", st.Uid, fi.Mode())
	}
	// The audit log (the sign-in and the api calls so far) sits beside it,
	// mode 0600.
	log := filepath.Join(filepath.Dir(cache), "audit.jsonl")
	fi, err = os.Stat(log)
	if err != nil {
		t.Fatalf("the audit log is not on the volume: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65532 || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log: owner %d, mode %v; want 65532 and 0600", st.Uid, fi.Mode())
	}
}

// testRestart takes the stack down without removing volumes and up again:
// the sign-in must survive on the volume, with no new code in the chat.
func (s *stack) testRestart(t *testing.T) {
	codes := len(s.codesInChat())
	before := s.containerID(t, sidecarName)
	s.down(t, false)
	s.up(t)
	if s.containerID(t, sidecarName) == before {
		t.Fatal("the sidecar container was not recreated")
	}
	r := s.inSidecar(t, "sidecar", "status", "--json")
	if st := parseStatus(t, r); r.code != 0 || st.State != "ok" || st.Account.Email != "alice@example.com" {
		t.Fatalf("status after the restart: %s", r)
	}
	s.testAPI(t)
	if n := len(s.codesInChat()); n != codes {
		t.Errorf("the chat shows %d sign-in codes after the restart, want %d", n, codes)
	}
}
