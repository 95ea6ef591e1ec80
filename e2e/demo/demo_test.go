//go:build demoe2e

package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/devicegate/devicegate/internal/testing/ptytest"
	"github.com/devicegate/devicegate/internal/testing/syncbuf"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

const (
	project     = "devicegate-demo"
	sidecarName = project + "-sidecar-1"
	guardName   = project + "-guard-1"
	login       = "demo"
	password    = "demo"
)

// demo is the running stack.
type demo struct {
	root, compose string
	env           []string
	issuer        string
	shots         *shots
}

// result of a command.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// run runs a host command (docker ...) with the demo's environment.
func (d *demo) run(t testing.TB, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = d.root
	cmd.Env = d.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out.String(), errb.String(), 0}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return r
}

func (d *demo) composeCmd(t testing.TB, timeout time.Duration, args ...string) result {
	t.Helper()
	return d.run(t, timeout, append([]string{"docker", "compose", "-f", d.compose}, args...)...)
}

// inSidecar is `docker exec devicegate-demo-sidecar-1 ARGS...`, as in the README.
func (d *demo) inSidecar(t testing.TB, args ...string) result {
	t.Helper()
	return d.run(t, 2*time.Minute, append([]string{"docker", "exec", sidecarName}, args...)...)
}

func newDemo(t *testing.T) *demo {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	d := &demo{root: root, compose: filepath.Join(root, "compose.demo.yaml")}

	// A free port, so that the suite runs next to whatever uses 9000.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	d.issuer = "http://localhost:" + strconv.Itoa(port)

	// Only what the README's commands get: no .env, no TELEGRAM_*, no
	// DOCKER_GID (the guard finds the socket's group itself).
	d.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"DEMO_PORT=" + strconv.Itoa(port),
	}
	for _, k := range []string{"DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_BUILDKIT"} {
		if v, ok := os.LookupEnv(k); ok {
			d.env = append(d.env, k+"="+v)
		}
	}
	if r := d.run(t, time.Minute, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+project); strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("a %s stack exists already; remove it first: docker compose -f compose.demo.yaml down -v", project)
	}
	d.shots = newShots(t)
	return d
}

func TestDemo(t *testing.T) {
	d := newDemo(t)

	buildStart := time.Now()
	if r := d.composeCmd(t, 20*time.Minute, "build"); r.code != 0 {
		t.Fatalf("docker compose build: %s", r)
	}
	t.Logf("measure: docker compose -f compose.demo.yaml build: %s", time.Since(buildStart).Round(100*time.Millisecond))
	for _, img := range []string{"devicegate/demo-idp:demo", "devicegate/sidecar:demo", "devicegate/demo-agent:demo"} {
		r := d.run(t, time.Minute, "docker", "image", "inspect", "-f", "{{.Size}}", img)
		n, _ := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
		t.Logf("measure: image %s: %.1f MB", img, float64(n)/1e6)
	}

	// The README's "Try it now", exactly as written, in order.
	steps := readmeCommands(t, filepath.Join(d.root, "README.md"))
	want := []string{
		"docker compose -f compose.demo.yaml up -d --wait",
		"docker exec -it devicegate-demo-sidecar-1 sidecar login",
		"docker exec -it devicegate-demo-sidecar-1 sidecar approvals",
		agentCmd + " sidecar api /me",
		agentCmd + " sidecar token",
		agentCmd + ` sidecar api -X PATCH /me -d '{"name":"x"}'`,
		agentCmd + " sh",
		agentCmd + " sidecar audit",
		"docker compose -f compose.demo.yaml down -v",
	}
	if !slices.Equal(steps, want) {
		t.Fatalf("README \"Try it now\" is not the walk this test knows:\n got %q\nwant %q", steps, want)
	}
	downDone := false
	t.Cleanup(func() {
		if downDone {
			return
		}
		if t.Failed() {
			for _, c := range []string{"idp", "sidecar", "keygen", "guard", "agent"} {
				r := d.composeCmd(t, time.Minute, "logs", "--no-color", c)
				t.Logf("logs of %s:\n%s%s", c, r.stdout, r.stderr)
			}
		}
		if r := d.composeCmd(t, 5*time.Minute, "down", "-v", "--remove-orphans"); r.code != 0 {
			t.Errorf("docker compose down: %s", r)
		}
	})

	// The README's first command, timed to the agent's first API call.
	br := newBrowser(t)
	start := time.Now()
	if r := d.shell(t, 5*time.Minute, steps[0]); r.code != 0 {
		t.Fatalf("%s: %s", steps[0], r)
	}
	upDone := time.Since(start)
	t.Logf("measure: %s (images built): %s", steps[0], upDone.Round(10*time.Millisecond))
	// Healthy (the agent has no health check: running).
	for c, want := range map[string]string{sidecarName: "healthy", guardName: "healthy", project + "-idp-1": "healthy", project + "-agent-1": "running"} {
		r := d.run(t, time.Minute, "docker", "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", c)
		if got := strings.TrimSpace(r.stdout); got != want {
			t.Fatalf("%s after up --wait: %q, want %q (%s)", c, got, want, r)
		}
	}

	t.Run("owner signs in", func(t *testing.T) { d.approve(t, br, steps[1]) })
	if t.Failed() {
		return
	}
	t.Run("agent", func(t *testing.T) {
		// The owner's second terminal: sidecar approvals, the only
		// approver (the demo has no bot).
		appr := d.approvals(t, steps[2])
		// A read passes, through the guard, with the owner's token.
		r := d.shell(t, 2*time.Minute, steps[3])
		if r.code != 0 || !strings.Contains(r.stdout, `"email":"demo@example.com"`) {
			t.Fatalf("%s: %s", steps[3], r)
		}
		t.Logf("measure: %s to the agent's first API call (a browser signing in on the way): %s",
			steps[0], time.Since(start).Round(10*time.Millisecond))
		// The raw token waits for the owner, who denies it.
		r = appr.answer(t, d, steps[4], 1, "d", "sidecar token")
		if r.code != 8 || r.stdout != "" || !strings.Contains(r.stderr, "hint: do not retry") {
			t.Errorf("%s, denied: %s", steps[4], r)
		}
		// The write waits; the owner allows it once, having seen the
		// method, the full URL and the body.
		r = appr.answer(t, d, steps[5], 2, "o", "PATCH "+d.issuer+"/me", `{"name":"x"}`)
		if r.code != 0 || !strings.Contains(r.stdout, `"email":"demo@example.com"`) {
			t.Errorf("%s, allowed once: %s", steps[5], r)
		}
		t.Logf("measure: %s to the agent's first approved write (a browser and the owner's key on the way): %s",
			steps[0], time.Since(start).Round(10*time.Millisecond))
		appr.quit(t)
		// sh never reaches the sidecar.
		r = d.shell(t, 2*time.Minute, steps[6])
		if r.code == 0 || !strings.Contains(r.stderr, `devicegate guard: command "sh" is not allowed`) {
			t.Errorf("%s: %s", steps[6], r)
		}
		// With nobody watching, an ask is a denial at once.
		r = d.shell(t, 2*time.Minute, steps[4])
		if r.code != 8 || r.stdout != "" || !strings.Contains(r.stderr, "sidecar approvals") {
			t.Errorf("%s with nobody watching: %s", steps[4], r)
		}
		// The audit log: the agent's read allowed, the token denied by the
		// owner, the write allowed once.
		r = d.shell(t, 2*time.Minute, steps[7])
		if r.code != 0 {
			t.Fatalf("%s: %s", steps[7], r)
		}
		for _, re := range []string{
			`(?m)^\S+ \S+\s+default\s+owner\s+signin\s+ok\b`,
			`(?m)^\S+ \S+\s+default\s+agent\s+api\s+allow\s+GET \S*/me\b.*\b200\s*$`,
			`(?m)^\S+ \S+\s+default\s+agent\s+token\s+deny\b`,
			`(?m)^\S+ \S+\s+default\s+agent\s+api\s+allow_once\s+PATCH \S*/me\b.*\b200\s*$`,
		} {
			if !regexp.MustCompile(re).MatchString(r.stdout) {
				t.Errorf("sidecar audit has no line matching %s:\n%s", re, r.stdout)
			}
		}
	})
	if t.Failed() {
		return
	}
	t.Run("status", func(t *testing.T) {
		r := d.inSidecar(t, "sidecar", "status", "--json")
		var st struct {
			State          string   `json:"state"`
			ScopesGranted  []string `json:"scopes_granted"`
			CacheEncrypted bool     `json:"cache_encrypted"`
			HasRefresh     bool     `json:"has_refresh_token"`
			Account        struct{ Email string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != 0 {
			t.Fatalf("status: %v\n%s", err, r)
		}
		if st.State != "ok" || !st.CacheEncrypted || !st.HasRefresh || st.Account.Email != "demo@example.com" ||
			strings.Join(st.ScopesGranted, " ") != "openid profile email offline_access api:read" {
			t.Fatalf("status: %+v", st)
		}
	})
	var access string
	t.Run("token and refresh", func(t *testing.T) {
		r := d.inSidecar(t, "sidecar", "token")
		access = strings.TrimSpace(r.stdout)
		if r.code != 0 || access == "" || r.stderr != "" {
			t.Fatalf("token: exit %d, stderr %q, %d bytes", r.code, r.stderr, len(access))
		}
		// A minimum lifetime beyond the token's forces a refresh (rotation).
		r = d.inSidecar(t, "sidecar", "token", "--min-ttl", "2h")
		if fresh := strings.TrimSpace(r.stdout); r.code != 0 || fresh == "" || fresh == access {
			t.Fatalf("token --min-ttl 2h: exit %d, stderr %q, refreshed %v", r.code, r.stderr, fresh != access)
		}
		access = strings.TrimSpace(d.inSidecar(t, "sidecar", "token").stdout)
		if code := d.me(t, access); code != http.StatusOK {
			t.Fatalf("the provider's /me with the current token: %d", code)
		}
	})
	t.Run("logout revokes", func(t *testing.T) {
		r := d.inSidecar(t, "sidecar", "logout")
		if r.code != 0 || !strings.Contains(r.stdout, "revoked") {
			t.Fatalf("logout: %s", r)
		}
		if code := d.me(t, access); code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Fatalf("the revoked token still works at the provider: %d", code)
		}
		r = d.inSidecar(t, "sidecar", "status")
		if r.code != 4 || !strings.Contains(r.stdout, "signin_required") {
			t.Fatalf("status after logout: %s", r)
		}
	})
	t.Run("decline", func(t *testing.T) { d.decline(t, br) })
	t.Run("tgauth", func(t *testing.T) { d.tgauth(t, br) })
	t.Run("code flow", func(t *testing.T) { d.codeFlow(t, br, steps[1]) })
	t.Run("guard", func(t *testing.T) {
		r := d.run(t, time.Minute, "docker", "inspect", "-f", "{{.State.Running}} {{.HostConfig.NetworkMode}}", guardName)
		if strings.TrimSpace(r.stdout) != "true none" {
			t.Fatalf("guard: %s", r)
		}
	})
	t.Run("broken sidecar fails up --wait", func(t *testing.T) { d.broken(t) })

	// The README's last command.
	if r := d.shell(t, 5*time.Minute, steps[8]); r.code != 0 {
		t.Fatalf("%s: %s", steps[8], r)
	}
	downDone = true
	if r := d.run(t, time.Minute, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+project); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("containers left after %s: %s", steps[8], r.stdout)
	}
	t.Logf("screenshots: %s", d.shots.dir)
}

// approvalsTerm is the owner's second terminal: sidecar approvals.
type approvalsTerm struct {
	term *ptytest.Term
	cmd  *exec.Cmd
	done chan struct{} // closed when the command has ended, with err set
	err  error
}

// approvals starts the README's `docker exec -it ... sidecar approvals`
// (line) on a terminal of its own and waits until it watches.
func (d *demo) approvals(t *testing.T, line string) *approvalsTerm {
	t.Helper()
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir = d.root
	cmd.Env = append(slices.Clone(d.env), "TERM=xterm")
	a := &approvalsTerm{term: ptytest.Start(t, cmd, 50, 200), cmd: cmd, done: make(chan struct{})}
	go func() { a.err = cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			cmd.Process.Kill()
			<-a.done
		}
	})
	a.waitFor(t, "Waiting for the agent's requests", 1)
	// docker exec -t takes the terminal raw once attached: keys typed
	// before would be edited by the host's line discipline.
	ptytest.WaitRaw(t, a.term.Master, 30*time.Second)
	return a
}

// waitFor waits until the terminal has shown want count times.
func (a *approvalsTerm) waitFor(t testing.TB, want string, count int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); strings.Count(a.term.String(), want) < count; {
		select {
		case <-a.done:
			t.Fatalf("sidecar approvals ended (%v) before showing %q:\n%s", a.err, want, a.term.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approvals terminal never showed %q:\n%s", want, a.term.String())
		}
	}
}

// answer runs the agent's step (line), waits until the approvals terminal
// shows it as request n with every text in shows, types key and Enter, and
// returns the agent's result.
func (a *approvalsTerm) answer(t *testing.T, d *demo, line string, n int, key string, shows ...string) result {
	t.Helper()
	res := make(chan result, 1)
	go func() { res <- d.shell(t, 2*time.Minute, line) }()
	header := fmt.Sprintf("Request %d ", n)
	for deadline := time.Now().Add(time.Minute); !strings.Contains(a.term.String(), header); {
		select {
		case r := <-res:
			t.Fatalf("%s ended before the owner was asked: %s\napprovals terminal:\n%s", line, r, a.term.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %d never reached the approvals terminal:\n%s", n, a.term.String())
		}
	}
	for _, want := range shows {
		a.waitFor(t, want, 1)
	}
	if _, err := a.term.Master.WriteString(key + "\r"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-res:
		a.waitFor(t, fmt.Sprintf("Request %d: ", n), 1)
		return r
	case <-time.After(time.Minute):
		t.Fatalf("%s still waits after the owner typed %q:\n%s", line, key, a.term.String())
		return result{}
	}
}

// quit types q: sidecar approvals ends, and so does docker exec.
func (a *approvalsTerm) quit(t *testing.T) {
	t.Helper()
	if _, err := a.term.Master.WriteString("q\r"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.done:
		if a.err != nil {
			t.Errorf("sidecar approvals after q: %v\n%s", a.err, a.term.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("sidecar approvals still runs after q:\n%s", a.term.String())
	}
}

// agentCmd is how "Try it now" runs a command as the agent.
const agentCmd = "docker compose -f compose.demo.yaml exec agent docker exec " + sidecarName

// shell runs one README command line with bash, in the repository root.
func (d *demo) shell(t testing.TB, timeout time.Duration, line string) result {
	t.Helper()
	return d.run(t, timeout, "bash", "-c", line)
}

// readmeCommands returns the command lines of the README's "Try it now"
// section: every line of its sh blocks, without comments.
func readmeCommands(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Try it now\n")
	if start < 0 {
		t.Fatal("README has no \"## Try it now\" section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var out []string
	in := false
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in:
			if i := strings.Index(line, "  #"); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
	}
	return out
}

// me calls the provider's /me from the host (the browser's side of the
// same issuer URL) with an access token, and returns the status.
func (d *demo) me(t *testing.T, token string) int {
	req, _ := http.NewRequest(http.MethodGet, d.issuer+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var (
	codeRe = regexp.MustCompile(`enter the code:\s+([A-Z]{4}-[A-Z]{4})`)
	linkRe = regexp.MustCompile(`Or open this link, which carries the code: (http://\S+)`)
)

// approve is the README: `docker exec -it devicegate-demo-sidecar-1 sidecar
// login` (line) on a terminal, the link it prints opened in the browser.
func (d *demo) approve(t *testing.T, br *browser, line string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir = d.root
	cmd.Env = append(d.env, "TERM=xterm")
	out := ptytest.Start(t, cmd, 50, 120)
	// The link and the QR code are separate writes: wait for all three
	// instead of judging the screen after the link alone.
	var code, link string
	qr := func() bool { return strings.Count(out.String(), "█") >= 50 }
	for deadline := time.Now().Add(time.Minute); code == "" || link == "" || !qr(); {
		if time.Now().After(deadline) {
			t.Fatalf("no code, link and QR code on the terminal:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
		if m := codeRe.FindStringSubmatch(out.String()); m != nil {
			code = m[1]
		}
		if m := linkRe.FindStringSubmatch(out.String()); m != nil {
			link = m[1]
		}
	}
	if !strings.HasPrefix(link, d.issuer+"/device?") {
		t.Fatalf("want the link on %s:\n%s", d.issuer, out)
	}

	// The link carries the code: the page shows it filled in.
	br.do(t, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("password")))
	if got := br.value(t, chromedp.ID("user_code")); got != code {
		t.Fatalf("code field %q, want %q from verification_uri_complete", got, code)
	}
	if got := br.text(t, chromedp.ID("demo-account")); !strings.Contains(got, "demo") {
		t.Fatalf("the demo page does not show the demo account: %q", got)
	}
	d.shots.take(t, br, "approve-1-signin")
	br.do(t,
		chromedp.SendKeys(chromedp.ID("username"), login),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	d.shots.take(t, br, "approve-2-typed")
	br.do(t, chromedp.Click(chromedp.ID("signin")), chromedp.WaitVisible(chromedp.ID("allow")))
	if got := br.text(t, chromedp.ID("code")); got != code {
		t.Fatalf("consent page for code %q, want %q", got, code)
	}
	d.shots.take(t, br, "approve-3-consent")
	br.do(t, chromedp.Click(chromedp.ID("allow")), chromedp.WaitVisible(chromedp.ID("result")))
	if got := br.title(t); got != "Device connected" {
		t.Fatalf("after Allow: page %q", got)
	}
	d.shots.take(t, br, "approve-4-connected")

	if err := cmd.Wait(); err != nil {
		t.Fatalf("sidecar login: %v\n%s", err, out)
	}
	select {
	case <-out.Drained():
	case <-time.After(5 * time.Second):
	}
	if !strings.Contains(out.String(), "Signed in as Demo User (demo@example.com).") {
		t.Fatalf("no confirmation on the terminal:\n%s", out)
	}
}

// decline: sidecar login --json, the person opens the bare verification
// URI, types the code and a wrong password first, then denies.
func (d *demo) decline(t *testing.T, br *browser) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "exec", sidecarName, "sidecar", "login", "--json")
	cmd.Env = d.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb syncbuf.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var ev struct {
		Event, UserCode, VerificationURI string
	}
	for sc.Scan() {
		var raw struct {
			Event           string `json:"event"`
			UserCode        string `json:"user_code"`
			VerificationURI string `json:"verification_uri"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if raw.Event == "code" {
			ev.Event, ev.UserCode, ev.VerificationURI = raw.Event, raw.UserCode, raw.VerificationURI
			break
		}
	}
	if ev.UserCode == "" || ev.VerificationURI != d.issuer+"/device" {
		t.Fatalf("code event %+v", ev)
	}
	br.do(t, chromedp.Navigate(ev.VerificationURI), chromedp.WaitVisible(chromedp.ID("user_code")))
	if got := br.value(t, chromedp.ID("user_code")); got != "" {
		t.Fatalf("code field %q on the bare verification URI", got)
	}
	// Typed the way people do: lower case, no dash.
	typed := strings.ToLower(strings.ReplaceAll(ev.UserCode, "-", ""))
	br.do(t,
		chromedp.SendKeys(chromedp.ID("user_code"), typed),
		chromedp.SendKeys(chromedp.ID("username"), login),
		chromedp.SendKeys(chromedp.ID("password"), "wrong"),
	)
	d.shots.take(t, br, "decline-1-typed")
	br.do(t, chromedp.Click(chromedp.ID("signin")), chromedp.WaitVisible(chromedp.ID("error")))
	if got := br.text(t, chromedp.ID("error")); !strings.Contains(got, "Wrong user name or password") {
		t.Fatalf("wrong password: %q", got)
	}
	d.shots.take(t, br, "decline-2-wrong-password")
	// The code stays filled in; the password is typed again.
	br.do(t,
		chromedp.SendKeys(chromedp.ID("username"), login),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("deny")),
	)
	d.shots.take(t, br, "decline-3-consent")
	br.do(t, chromedp.Click(chromedp.ID("deny")), chromedp.WaitVisible(chromedp.ID("result")))
	if got := br.title(t); got != "Access declined" {
		t.Fatalf("after Deny: page %q", got)
	}
	d.shots.take(t, br, "decline-4-declined")

	rest, _ := io.ReadAll(stdout)
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 || !strings.Contains(string(rest), `"event":"error"`) {
		t.Fatalf("login after Deny: %v, stdout %s, stderr %s", err, rest, errb.String())
	}
}

// browser is a headless Chromium from Debian's package.
type browser struct {
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium in PATH (%v); install it: apt-get install -y chromium", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		// As root (CI, containers) Chromium refuses to start sandboxed.
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.WindowSize(900, 800),
		// Nothing but the demo: no QUIC, no update checks or other
		// background connections (this network has no way out).
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first action starts the browser and ties it to its context: that
	// must be ctx itself, not a child with a timeout that ends it early.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{ctx: ctx}
}

func (b *browser) do(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func get[T any](t testing.TB, b *browser, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

func (b *browser) value(t testing.TB, sel chromedp.ID) string { return get(t, b, chromedp.Value(sel)) }
func (b *browser) text(t testing.TB, sel chromedp.ID) string {
	return strings.TrimSpace(get(t, b, chromedp.Text(sel)))
}
func (b *browser) title(t testing.TB) string { return get(t, b, chromedp.Title()) }

// shots keeps a screenshot of each page as a test artifact.
type shots struct {
	dir string
	n   int
}

func newShots(t *testing.T) *shots {
	dir := os.Getenv("DEMO_E2E_ARTIFACTS")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "artifacts")
	}
	dir, _ = filepath.Abs(dir)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots go to %s", dir)
	return &shots{dir: dir}
}

func (s *shots) take(t testing.TB, b *browser, name string) {
	t.Helper()
	// A screenshot is an artifact for people, not an assertion: while
	// Chromium swaps a page for its error page (the unreachable loopback
	// redirect) it has no size for a moment ("Cannot take screenshot with
	// 0 width"), so ask again for a few seconds, and say so if it never
	// comes rather than fail the walk-through.
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	var png []byte
	for {
		var err error
		if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Logf("no screenshot %s: %v", name, err)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.n++
	if err := os.WriteFile(filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name)), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tgauth: with a bot token and a chat id in the environment of `up`, tgauth
// sends the sign-in to the chat; the person opens the link the message
// carries (verification_uri_complete, as text: Telegram refuses buttons to
// localhost) and approves. The fake Bot API runs
// on the host's loopback interface, so the demo runs with a test override
// that puts the provider (and the sidecar in its namespace) on the host's
// network.
func (d *demo) tgauth(t *testing.T, br *browser) {
	const chatID = 424242
	tg := telegramtest.New(t)
	tg.AddChat(chatID) // the person has talked to the bot
	env := d.env
	d.env = append(slices.Clone(env),
		"TELEGRAM_BOT_TOKEN="+tg.Token(),
		"TELEGRAM_CHAT_ID="+strconv.Itoa(chatID),
		"TELEGRAM_API_URL="+tg.URL(),
	)
	defer func() { d.env = env }()
	override := filepath.Join(d.root, "e2e", "demo", "testdata", "compose.telegram.yaml")
	if r := d.run(t, 5*time.Minute, "docker", "compose", "-f", d.compose, "-f", override, "up", "-d"); r.code != 0 {
		t.Fatalf("up with Telegram: %s", r)
	}
	done := make(chan result, 1)
	go func() {
		done <- d.run(t, 3*time.Minute, "docker", "exec", sidecarName, "tgauth")
	}()
	var link string
	for deadline := time.Now().Add(time.Minute); link == ""; {
		select {
		case r := <-done:
			t.Fatalf("tgauth ended before a link reached the chat: %s", r)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sign-in link in the chat; chat: %+v", tg.Chat(chatID))
		}
		// Telegram refuses a button to localhost, and does not turn it
		// into a link either: the message carries it as text, to copy.
		linkRe := regexp.MustCompile(regexp.QuoteMeta(d.issuer) + `/device\?user_code=[A-Z]{4}-[A-Z]{4}`)
		for _, m := range tg.Chat(chatID) {
			if l := linkRe.FindString(m.Text); l != "" {
				link = l
			}
		}
	}
	br.do(t, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("password")))
	if br.value(t, chromedp.ID("user_code")) == "" {
		t.Fatal("the chat's link did not fill in the code")
	}
	d.shots.take(t, br, "tgauth-1-from-chat")
	br.do(t,
		chromedp.SendKeys(chromedp.ID("username"), login),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("allow")),
		chromedp.Click(chromedp.ID("allow")),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	d.shots.take(t, br, "tgauth-2-connected")
	r := <-done
	if r.code != 0 || !strings.Contains(r.stdout, "signed in as Demo User") {
		t.Fatalf("tgauth: %s\nchat: %+v", r, tg.Chat(chatID))
	}
	if r := d.inSidecar(t, "sidecar", "api", "/me"); r.code != 0 || !strings.Contains(r.stdout, "demo@example.com") {
		t.Fatalf("api /me after tgauth: %s", r)
	}
	for _, m := range tg.Chat(chatID) {
		if strings.Contains(m.Text, tg.Token()) {
			t.Fatal("the bot token appears in the chat")
		}
	}
}

// broken: a sidecar that cannot start (a configuration error) makes
// `up -d --wait` fail, naming the container, and stays up to say why
// instead of restarting in a loop; fixed, the next `up -d --wait` is fine.
func (d *demo) broken(t *testing.T) {
	override := filepath.Join(d.root, "e2e", "demo", "testdata", "compose.broken.yaml")
	r := d.run(t, 3*time.Minute, "docker", "compose", "-f", d.compose, "-f", override, "up", "-d", "--wait")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, sidecarName+" is unhealthy") {
		t.Fatalf("up -d --wait with a broken sidecar: %s", r)
	}
	r = d.run(t, time.Minute, "docker", "inspect", "-f", "{{.RestartCount}} {{.State.Status}}", sidecarName)
	if got := strings.TrimSpace(r.stdout); got != "0 running" {
		t.Errorf("the broken sidecar: restarts and state %q, want \"0 running\"", got)
	}
	logs := d.composeCmd(t, time.Minute, "logs", "--no-color", "sidecar")
	if n := strings.Count(logs.stdout+logs.stderr, "sidecar: error: OAUTH_CLIENT_ID: is required"); n != 1 ||
		!strings.Contains(logs.stdout+logs.stderr, "hint: not restarting: fix the configuration") {
		t.Errorf("the sidecar's logs say the error %d times (want once, with the hint):\n%s%s", n, logs.stdout, logs.stderr)
	}
	if r := d.composeCmd(t, 3*time.Minute, "up", "-d", "--wait"); r.code != 0 {
		t.Fatalf("up -d --wait after the fix: %s", r)
	}
}

// codeFlow is the line of "Try it now" on OAUTH_FLOW=code: in front of
// `up`, then the README's `sidecar login` (line) on a terminal prints the
// authorization link; the browser signs in and allows, lands on the
// loopback redirect it cannot load (the listener is in the container); the
// person pastes that address into the terminal. Then the agent's kind of
// call works: sidecar api /me.
func (d *demo) codeFlow(t *testing.T, br *browser, line string) {
	d.inSidecar(t, "sidecar", "logout") // signed in by tgauth, or not: either way signed out after
	up := "OAUTH_FLOW=code docker compose -f compose.demo.yaml up -d --wait"
	if r := d.shell(t, 5*time.Minute, up); r.code != 0 {
		t.Fatalf("%s: %s", up, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir = d.root
	cmd.Env = append(slices.Clone(d.env), "TERM=xterm")
	term := ptytest.Start(t, cmd, 50, 400)
	authRe := regexp.MustCompile(`open this link in a browser and allow:\s+(http://\S+)`)
	var link string
	for deadline := time.Now().Add(time.Minute); link == "" || !strings.Contains(term.String(), "Paste the address"); {
		if time.Now().After(deadline) {
			t.Fatalf("no authorization link and paste prompt on the terminal:\n%s", term)
		}
		time.Sleep(50 * time.Millisecond)
		if m := authRe.FindStringSubmatch(term.String()); m != nil {
			link = m[1]
		}
	}
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, d.issuer+"/") || u.Query().Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization link %q: want one on %s with PKCE S256", link, d.issuer)
	}
	redirect := u.Query().Get("redirect_uri")
	if !strings.HasPrefix(redirect, "http://127.0.0.1:") {
		t.Fatalf("redirect_uri %q: want the loopback default", redirect)
	}
	br.do(t, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("password")))
	d.shots.take(t, br, "code-1-signin")
	br.do(t,
		chromedp.SendKeys(chromedp.ID("username"), login),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("allow")),
	)
	d.shots.take(t, br, "code-2-consent")
	br.do(t, chromedp.Click(chromedp.ID("allow")))
	addr := br.addressBar(t, redirect+"?")
	if !strings.Contains(addr, "code=") || !strings.Contains(addr, "state=") {
		t.Fatalf("the browser shows %s", addr)
	}
	d.shots.take(t, br, "code-3-unreachable-redirect")
	ptytest.WaitRaw(t, term.Master, 30*time.Second)
	if _, err := term.Master.WriteString(addr + "\r"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sidecar login (code flow): %v\n%s", err, term)
	}
	select {
	case <-term.Drained():
	case <-time.After(5 * time.Second):
	}
	if !strings.Contains(term.String(), "Signed in as Demo User (demo@example.com).") {
		t.Fatalf("no confirmation on the terminal:\n%s", term)
	}
	if r := d.shell(t, 2*time.Minute, agentCmd+" sidecar api /me"); r.code != 0 || !strings.Contains(r.stdout, "demo@example.com") {
		t.Fatalf("the agent's api /me after the code flow: %s", r)
	}
}

// addressBar waits until the browser's address begins with prefix and
// returns it: what a person reads from the address bar, also when the page
// could not load (the current history entry; the document is then
// Chromium's error page).
func (b *browser) addressBar(t testing.TB, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	for {
		var addr string
		// While Chromium swaps the page for its error page it may say
		// "Not attached to an active page": ask again.
		h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
		if err == nil && h.CurrentIndex >= 0 && int(h.CurrentIndex) < len(h.Entries) {
			addr = h.Entries[h.CurrentIndex].URL
		}
		if strings.HasPrefix(addr, prefix) {
			return addr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the browser never went to %s (last at %q, %v)", prefix, addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
