//go:build linux

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/confine"
	"github.com/devicegate/devicegate/internal/testing/ptytest"
	"github.com/devicegate/devicegate/internal/testing/syncbuf"
)

// confineToken is the access token the tools below are given.
const confineToken = "gho_confine_test_token_value_0123456789"

// agentRunEnv is the environment of `sidecar run` started by the agent
// (through the guard) with a signed-in github profile whose policy lets
// it run sh.
func agentRunEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	xdg := t.TempDir()
	dir := filepath.Join(xdg, "devicegate")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	entry := `{"version":1,"profile":"default","provider":"github","access_token":"` + confineToken + `","token_type":"bearer","scopes_granted":["repo"],"account":{"name":"Octo Cat","subject":"octocat"}}`
	if err := os.WriteFile(filepath.Join(dir, "default.token"), []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_DATA_HOME=" + xdg,
		"OAUTH_PROVIDER=github", "OAUTH_CLIENT_ID=Iv1.test", "OAUTH_POLICY=allow run sh with-token", // the raw token, so that masking is what is tested
		"DEVICEGATE_CALLER=agent",
	}
	return append(env, extra...)
}

// sleeper starts a process outside any tool's sandbox, as `sidecar
// serve` is: a tool must not be able to stop or kill it.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// procState is the state letter of process pid (S sleeping, T stopped,
// Z a zombie), or "" when there is no such process.
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// pid (comm) state ...: the last ')' ends comm.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// TestRunAgentToolCannotSignalServe: a tool the agent runs cannot stop or
// kill a process outside its sandbox (attack: SIGSTOP `sidecar serve`,
// silencing /logout and the approvals), nor fork something that does it
// later.
func TestRunAgentToolCannotSignalServe(t *testing.T) {
	if s := confine.Probe(); !s.ScopesSignals {
		t.Skipf("the kernel cannot keep tools from signalling sidecar serve: Landlock ABI 6 needed, kernel has %d", s.ABI)
	}
	t.Parallel()
	serve := sleeper(t)
	pid := strconv.Itoa(serve.Process.Pid)
	r := sidecar(t, agentRunEnv(t), "run", "--", "sh", "-c",
		"kill -STOP "+pid+"; echo stop=$?; kill -KILL "+pid+"; echo kill=$?; kill -TERM "+pid+"; echo term=$?")
	for _, want := range []string{"stop=1", "kill=1", "term=1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("want %s: stdout %q, stderr %q", want, r.stdout, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("stderr %q, want EPERM", r.stderr)
	}
	if state := procState(serve.Process.Pid); state != "S" {
		t.Fatalf("the process outside is in state %q after the tool's signals", state)
	}
}

// TestRunAgentToolLeavesNothingBehind: what a tool the agent runs starts
// in the background is killed when `sidecar run` returns, whether it
// stayed in the tool's process group or left it with setsid.
func TestRunAgentToolLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	scripts := map[string]string{
		"in the group": "sleep 1000 </dev/null >/dev/null 2>&1 & echo $!",
		"orphaned":     "sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'",
		// Holding the output pipes open: sidecar run returns all the same.
		"holding stdout": "sleep 1000 & echo $!",
	}
	if _, err := exec.LookPath("setsid"); err == nil {
		scripts["in a session of its own"] = "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!"
	}
	for name, script := range scripts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A deadline, so that a sidecar run that waits for the
			// background process fails the test rather than hangs it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sidecar", "run", "--", "sh", "-c", script)
			cmd.Env = agentRunEnv(t)
			var stdout, stderr syncbuf.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("sidecar run: %v", err)
			}
			bg, err := strconv.Atoi(strings.TrimSpace(stdout.String()))
			if err != nil {
				t.Fatalf("no pid: stdout %q, stderr %q", stdout.String(), stderr.String())
			}
			t.Cleanup(func() { syscall.Kill(bg, syscall.SIGKILL) })
			// SIGKILL was sent before sidecar run returned; the process
			// may take a moment to be gone.
			deadline := time.Now().Add(10 * time.Second)
			for st := procState(bg); st != "" && st != "Z"; st = procState(bg) {
				if time.Now().After(deadline) {
					t.Fatalf("the tool's background process %d outlived sidecar run (state %s)", bg, st)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestRunAgentToolHasNoTerminal: with a terminal (docker exec -t), a tool
// the agent runs cannot write the token past the masking, to /dev/tty,
// to fd 0 or to the terminal's device; the owner's tool keeps it.
func TestRunAgentToolHasNoTerminal(t *testing.T) {
	t.Parallel()
	script := `echo "$GH_TOKEN" >/dev/tty; echo tty=$?
echo "$GH_TOKEN" >&0; echo fd0=$?
echo "$GH_TOKEN" >"$TEST_TTY"; echo pts=$?
echo "$GH_TOKEN"`
	tests := []struct {
		name  string
		agent bool
		want  []string
	}{
		{"agent", true, []string{"tty=2", "fd0=1", "pts=2", "[masked]"}},
		{"owner", false, []string{"tty=0", "fd0=0", confineToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			master, slave := ptytest.Open(t, 24, 200)
			env := agentRunEnv(t, "TEST_TTY="+slave.Name())
			if !tt.agent {
				env = append(env, "DEVICEGATE_CALLER=")
			}
			cmd := exec.Command("sidecar", "run", "--", "sh", "-c", script)
			cmd.Env = env
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			var out syncbuf.Buffer
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				_, _ = io.Copy(&out, master) // EIO once nobody holds the terminal
			}()
			err := cmd.Wait()
			var xe *exec.ExitError
			if err != nil && !errors.As(err, &xe) {
				t.Fatal(err)
			}
			select {
			case <-drained:
			case <-time.After(10 * time.Second):
				t.Fatal("the terminal was not drained")
			}
			text := out.String()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("no %q on the terminal:\n%s", w, text)
				}
			}
			if tt.agent && strings.Contains(text, confineToken) {
				t.Errorf("the token reached the terminal:\n%s", text)
			}
		})
	}
}

// TestRunAgentSplitTokenMasked: a tool that writes half the token to
// stdout and half to stderr (and goes on writing) gets it masked.
func TestRunAgentSplitTokenMasked(t *testing.T) {
	t.Parallel()
	half := len(confineToken) / 2
	script := `printf 'gh=%s' "${GH_TOKEN%` + confineToken[half:] + `}"; printf '%s\n' "${GH_TOKEN#` + confineToken[:half] + `}" >&2; echo ' and more'`
	env := agentRunEnv(t)
	for range 5 {
		r := sidecar(t, env, "run", "--", "sh", "-c", script)
		if r.code != 0 || r.stdout != "gh=[masked] and more\n" || r.stderr != "\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	}
}
