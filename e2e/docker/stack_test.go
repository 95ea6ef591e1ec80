//go:build dockere2e

package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const (
	project      = "myapp" // fixed: the guard and the agent expect it
	sidecarName  = "myapp-sidecar-1"
	guardName    = "myapp-guard-1"
	image        = "devicegate/sidecar:e2e"
	overrideFile = "e2e/docker/testdata/compose.test.yaml"
	// e2eLabel marks every container and volume the suite creates.
	e2eLabel = "devicegate.e2e"
	// decoyName is a container that is not the sidecar, named like the
	// agent's own container.
	decoyName = "myapp-openclaw-gateway-1"
	chatID    = 424242
	nonroot   = "65532"

	commandTimeout = 2 * time.Minute
	buildTimeout   = 20 * time.Minute
)

// result is what a finished command left behind.
type result struct {
	stdout, stderr string
	code           int
	secret         bool // stdout holds a token: never shown
}

func (r result) String() string {
	out := r.stdout
	if r.secret {
		out = fmt.Sprintf("(%d bytes, not shown)", len(r.stdout))
	}
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, out, r.stderr)
}

// command is one process the suite runs.
type command struct {
	args   []string
	env    []string // nil: the suite's own environment
	stdin  io.Reader
	quiet  bool // do not log the output (it is still kept for the leak scan)
	secret bool // stdout holds a token: neither logged nor kept
}

// stack is the Compose stack under test and what it talks to: the identity
// provider and the fake Bot API, both on the host's loopback interface.
type stack struct {
	root   string // the repository
	dir    string // DEVICEGATE_E2E_DIR: sidecar.env, secrets/, guard/
	sock   string // the guard's socket, as the host sees it
	home   string // HOME and DOCKER_CONFIG of the agent's CLI
	docker string // the Docker CLI
	gid    int    // group of /var/run/docker.sock

	idp *oidctest.Server
	// tg is devicegate's gatekeeper bot (the sidecar's token: codes,
	// approvals, the owner's commands); agentBot is the agent's own
	// (OpenClaw's), on the same fake Bot API.
	tg       *telegramtest.Server
	agentBot *telegramtest.Server

	// files are more compose files after compose.yaml and the test
	// override; composeEnv more variables for compose, which win over the
	// defaults compose() sets.
	files      []string
	composeEnv []string

	mu   sync.Mutex
	seen []string // every output the suite saw, for the leak scan
}

// newStack prepares the files the test override needs and registers the
// clean-up. It does not build or start anything.
func newStack(t *testing.T) *stack {
	t.Helper()
	if os.Geteuid() != 0 {
		// The guard's socket directory goes to nonroot, and the volume
		// and the containers' processes are inspected from the host.
		t.Fatal("the suite needs root (hint: sudo -E bash scripts/docker-e2e.sh)")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatalf("no docker CLI in PATH: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "compose.yaml")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/var/run/docker.sock", &st); err != nil {
		t.Fatalf("compose.yaml mounts /var/run/docker.sock into the guard: %v", err)
	}
	s := &stack{root: root, docker: docker, gid: int(st.Gid)}
	if r := s.host(t, command{args: []string{"info", "--format", "{{.ServerVersion}}"}}); r.code != 0 {
		t.Fatalf("no Docker engine answers (hint: scripts/docker-engine.sh): %s", r)
	}
	if r := s.host(t, command{args: []string{"compose", "version", "--short"}}); r.code != 0 {
		t.Fatalf("no docker compose plugin (hint: scripts/compose-plugin.sh): %s", r)
	}
	s.removeLeftovers(t)

	tmp := t.TempDir()
	s.dir = filepath.Join(tmp, "stack")
	s.home = filepath.Join(tmp, "agent")
	s.sock = filepath.Join(s.dir, "guard", "docker.sock")
	for _, d := range []string{s.home, filepath.Join(s.dir, "secrets"), filepath.Join(s.dir, "guard")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The guard runs as nonroot and creates its socket here. 0755 like
	// /run/guard in the image, so that the gateway (another user, in the
	// socket's group) reaches the socket.
	if err := os.Chown(filepath.Join(s.dir, "guard"), 65532, 65532); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(s.dir, "guard"), 0o755); err != nil {
		t.Fatal(err)
	}

	s.idp = oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s.tg = telegramtest.New(t)
	s.tg.AddChat(chatID)
	s.agentBot = s.tg.AddBot(agentBotToken, "agent_test_bot", "Agent")
	s.agentBot.AddChat(chatID)
	s.writeConfig(t)

	t.Cleanup(func() {
		if t.Failed() {
			r := s.compose(t, command{args: []string{"logs", "--no-color", "--timestamps"}, quiet: true})
			t.Logf("stack logs:\n%s%s", r.stdout, r.stderr)
		}
		s.removeLeftovers(t)
	})
	return s
}

// writeConfig writes the sidecar's environment and secrets. The secret files
// are bind-mounted into the sidecar, which runs as nonroot: 0644 in a 0700
// directory, as compose.yaml describes.
func (s *stack) writeConfig(t *testing.T) {
	t.Helper()
	env := strings.Join([]string{
		"OAUTH_PROVIDER=oidc",
		"OAUTH_ISSUER=" + s.idp.Issuer,
		"OAUTH_CLIENT_ID=" + s.idp.PublicClientID,
		"OAUTH_SCOPES=openid profile email offline_access api:read",
		// The provider's userinfo endpoint (/me) serves as the API.
		"OAUTH_API_URL=" + s.idp.Issuer,
		"TELEGRAM_API_URL=" + s.tg.URL(),
		"TELEGRAM_CHAT_ID=" + strconv.Itoa(chatID),
		// The sidecar shares the host's network and so its host name.
		"SIDECAR_HOSTNAME=" + sidecarName,
		// The agent's token export (measured) and form posts to the
		// userinfo endpoint (streams) go through unasked.
		"OAUTH_POLICY=allow token; allow POST /**/me",
	}, "\n") + "\n"
	files := map[string]string{
		"sidecar.env":                 env,
		"secrets/cache_key":           tokencache.NewKey() + "\n",
		"secrets/telegram_bot_token":  s.tg.Token(),
		"secrets/oauth_client_secret": "", // a public client
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// removeLeftovers removes what an earlier run, or this one, left on the
// engine. A myapp container or volume without the suite's label belongs to a
// real stack: the suite stops rather than destroy it.
func (s *stack) removeLeftovers(t *testing.T) {
	t.Helper()
	for _, kind := range []string{"container", "volume"} {
		args := []string{kind, "ls", "--format", `{{.Name}} {{.Label "` + e2eLabel + `"}}`, "--filter", "label=com.docker.compose.project=" + project}
		if kind == "container" {
			args = []string{"ps", "-a", "--format", `{{.Names}} {{.Label "` + e2eLabel + `"}}`, "--filter", "label=com.docker.compose.project=" + project}
		}
		r := s.host(t, command{args: args, quiet: true})
		if r.code != 0 {
			t.Fatalf("listing %ss: %s", kind, r)
		}
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if name, label, _ := strings.Cut(line, " "); name != "" && label != "1" {
				t.Fatalf("the %s %s belongs to a %s stack that this suite did not start; it would be replaced. Remove it first or use another engine", kind, name, project)
			}
		}
	}
	r := s.host(t, command{args: []string{"inspect", "-f", `{{index .Config.Labels "` + e2eLabel + `"}}`, decoyName}, quiet: true})
	if r.code == 0 && strings.TrimSpace(r.stdout) != "1" {
		t.Fatalf("a container named %s exists that this suite did not start", decoyName)
	}
	s.host(t, command{args: []string{"rm", "-f", "-v", decoyName}, quiet: true})
	if s.dir != "" {
		if r := s.compose(t, command{args: []string{"down", "-v", "--remove-orphans", "--timeout", "5"}}); r.code != 0 {
			t.Errorf("compose down: %s", r)
		}
	}
	for _, kind := range []string{"container", "volume"} {
		r := s.host(t, command{args: []string{kind, "ls", "-q", "--filter", "label=" + e2eLabel}, quiet: true})
		if ids := strings.Fields(r.stdout); len(ids) > 0 {
			s.host(t, command{args: append([]string{kind, "rm", "-f"}, ids...)})
		}
	}
}

// run runs a command to the end, or until the timeout kills it, and fails
// the test if it cannot be run.
func (s *stack) run(t testing.TB, timeout time.Duration, c command) result {
	t.Helper()
	r, err := s.exec(timeout, c)
	if err != nil {
		t.Fatal(err)
	}
	if !c.quiet {
		t.Logf("$ %s\n%s", strings.Join(c.args[1:], " "), r)
	}
	return r
}

// exec is run for goroutines other than the test's: it returns the error.
func (s *stack) exec(timeout time.Duration, c command) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
	cmd.Dir = s.root
	cmd.Env = c.env
	cmd.Stdin = c.stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), secret: c.secret}
	s.remember(r.stderr)
	if !c.secret {
		s.remember(r.stdout)
	}
	name := strings.Join(c.args, " ")
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%s: no answer after %s\n%s", name, timeout, r)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

func (s *stack) remember(out string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, out)
}

// host runs the Docker CLI on the real engine socket.
func (s *stack) host(t testing.TB, c command) result {
	t.Helper()
	c.args = append([]string{s.docker}, c.args...)
	return s.run(t, commandTimeout, c)
}

// agent runs the Docker CLI the way the agent does: through the guard.
func (s *stack) agent(t testing.TB, c command) result {
	t.Helper()
	return s.run(t, commandTimeout, s.agentCommand(c))
}

func (s *stack) agentCommand(c command) command {
	c.args = append([]string{s.docker}, c.args...)
	c.env = append(s.agentEnv(), c.env...)
	return c
}

func (s *stack) agentEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.home,
		"DOCKER_CONFIG=" + s.home,
		"DOCKER_HOST=unix://" + s.sock,
		"DOCKER_CLI_HINTS=false",
	}
}

// compose runs docker compose on compose.yaml with the test override.
func (s *stack) compose(t testing.TB, c command) result {
	t.Helper()
	head := []string{s.docker, "compose", "-f", "compose.yaml", "-f", overrideFile}
	for _, f := range s.files {
		head = append(head, "-f", f)
	}
	c.args = append(append(head, "-p", project, "--progress", "plain"), c.args...)
	c.env = append(os.Environ(),
		"DEVICEGATE_E2E_DIR="+s.dir,
		"DOCKER_GID="+strconv.Itoa(s.gid),
		// What compose.yaml's gateway needs to start; most of the suite
		// does not start it (the test plays the agent); TestOpenClaw
		// sets its own in composeEnv.
		"OPENCLAW_TELEGRAM_BOT_TOKEN=unused-by-the-e2e-suite",
		"TELEGRAM_OWNER_ID="+strconv.Itoa(chatID),
		"OPENCLAW_GATEWAY_TOKEN=unused-by-the-e2e-suite",
	)
	c.env = append(c.env, s.composeEnv...)
	timeout := commandTimeout
	if slices.Contains(c.args, "build") {
		timeout = buildTimeout
	}
	return s.run(t, timeout, c)
}

// up starts the sidecar and the guard and waits until the guard answers
// and the sidecar runs.
func (s *stack) up(t *testing.T) {
	t.Helper()
	if r := s.compose(t, command{args: []string{"up", "-d", "--no-build", "sidecar", "guard"}}); r.code != 0 {
		t.Fatalf("compose up: %s", r)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := s.host(t, command{args: []string{"inspect", "-f", "{{.State.Status}}", sidecarName, guardName}, quiet: true})
		status, _, err := roundTrip(s.sock, httpRequest("GET", "/_ping", ""))
		if r.code == 0 && strings.Fields(r.stdout)[0] == "running" && strings.Fields(r.stdout)[1] == "running" && err == nil && status == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stack is not up after 60s: containers %q, guard ping %d %v", r.stdout, status, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// agentBotToken is the agent's (OpenClaw's) bot on the fake Bot API.
const agentBotToken = "6161616161:AAAgentBotTokenForTheE2ESuite_0123456"

// tapApproval waits for the gatekeeper bot's approval question in the
// owner's chat and taps label ("Allow once", "Allow for 1 hour", "Deny")
// as the owner. It returns the question as it was when tapped; the
// decision shows in the same message (ID) once serve has edited it.
func (s *stack) tapApproval(t testing.TB, label string) telegramtest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var q telegramtest.Message
	err := s.tg.WaitFor(ctx, func(v telegramtest.View) bool {
		msgs := v.Chat(chatID)
		for i := len(msgs) - 1; i >= 0; i-- {
			if m := msgs[i]; m.FromBot && !m.Deleted && strings.HasPrefix(m.Text, "🔐 The agent asks") && len(m.Buttons) > 0 {
				q = m
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no approval question in the chat: %v", err)
	}
	s.remember(q.Text + "\n" + q.Raw)
	if _, _, err := s.tg.TapButton(chatID, chatID, label); err != nil {
		t.Fatal(err)
	}
	return q
}

// approvalOutcome waits until the question q shows its outcome (serve
// edits it after the tap) and returns the text.
func (s *stack) approvalOutcome(t testing.TB, q telegramtest.Message) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var text string
	err := s.tg.WaitFor(ctx, func(v telegramtest.View) bool {
		for _, m := range v.Chat(chatID) {
			if m.ID == q.ID && len(m.Buttons) == 0 && strings.HasPrefix(m.Text, "🔐 The agent asked") {
				text = m.Text
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("the approval question was not edited with its outcome: %v", err)
	}
	return text
}

// down stops the stack; with volumes, it also removes the named volumes.
func (s *stack) down(t *testing.T, volumes bool) {
	t.Helper()
	args := []string{"down", "--timeout", "5"}
	if volumes {
		args = append(args, "-v")
	}
	if r := s.compose(t, command{args: args}); r.code != 0 {
		t.Fatalf("compose down: %s", r)
	}
}
