package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/syncbuf"
)

// auditSignIns returns the decisions of the sign-in lines of the audit
// log, oldest first.
func auditSignIns(t *testing.T, env []string) []string {
	t.Helper()
	r := sidecar(t, env, "audit", "--json", "--last", "0")
	if r.code != 0 {
		t.Fatalf("audit: %+v", r)
	}
	var out []string
	for l := range strings.Lines(r.stdout) {
		var ev struct{ Action, Decision string }
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		if ev.Action == "signin" {
			out = append(out, ev.Decision)
		}
	}
	return out
}

// startLogin starts `sidecar login --json` and returns once the code is
// shown: the command, its stdout reader past the code event, and stderr.
func startLogin(t *testing.T, env []string, stdin io.Reader) (*exec.Cmd, io.ReadCloser, *syncbuf.Buffer) {
	t.Helper()
	cmd := exec.Command("sidecar", "login", "--json")
	cmd.Env = env
	cmd.Stdin = stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errb := &syncbuf.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewReader(stdout)
	line, err := sc.ReadString('\n')
	var ev cli.Event
	if err != nil || json.Unmarshal([]byte(line), &ev) != nil || ev.Event != "code" {
		t.Fatalf("no code event: %q %v, stderr %s", line, err, errb)
	}
	return cmd, stdout, errb
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// The manners of sidecar login: signed in already, it says as whom and
// wants --force; Ctrl-C and a client gone are "cancelled", exit 130; and
// every outcome is in the audit log.
func TestLoginManners(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second, DeviceCodeTTL: 2 * time.Second})
	env := cliEnv(t, srv)
	ctx := context.Background()

	// Declined, then expired: both in the audit log.
	if _, code, _ := loginJSON(t, env, func(ev cli.Event) { srv.Deny(ctx, ev.UserCode) }); code != exitcode.Declined {
		t.Fatalf("decline: exit %d", code)
	}
	if _, code, _ := loginJSON(t, env, func(cli.Event) {}); code != exitcode.TimedOut {
		t.Fatalf("expiry: exit %d", code)
	}

	t.Run("ctrl-c", func(t *testing.T) {
		cmd, stdout, errb := startLogin(t, env, nil)
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(stdout)
		if code := exitCode(cmd.Wait()); code != exitcode.Cancelled {
			t.Fatalf("exit %d, stderr %s", code, errb)
		}
		if got := errb.String(); !strings.HasPrefix(got, "sidecar: error: the sign-in was cancelled") || strings.Count(got, "\n") != 1 {
			t.Fatalf("stderr %q", got)
		}
		if !bytes.Contains(rest, []byte(`"event":"error"`)) || !bytes.Contains(rest, []byte(`"code":130`)) {
			t.Fatalf("no error event: %s", rest)
		}
	})
	t.Run("stdin closed", func(t *testing.T) {
		// docker exec -i: the daemon closes the process's stdin when the
		// client goes away.
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd, stdout, errb := startLogin(t, env, r)
		r.Close()
		w.Close()
		io.Copy(io.Discard, stdout)
		if code := exitCode(cmd.Wait()); code != exitcode.Cancelled || !strings.Contains(errb.String(), "the sign-in was cancelled: the terminal or docker exec client went away") {
			t.Fatalf("exit %d, stderr %s", code, errb)
		}
	})
	t.Run("stdout closed", func(t *testing.T) {
		cmd, stdout, errb := startLogin(t, env, nil)
		stdout.Close()
		if code := exitCode(cmd.Wait()); code != exitcode.Cancelled || !strings.Contains(errb.String(), "client went away") {
			t.Fatalf("exit %d, stderr %s", code, errb)
		}
	})
	if got, want := auditSignIns(t, env), []string{"declined", "expired", "cancelled", "cancelled", "cancelled"}; !slices.Equal(got, want) {
		t.Fatalf("audit sign-ins %q, want %q", got, want)
	}

	// Signed in: a second login says so, exit 0, and starts nothing.
	if _, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		if err := srv.Approve(ctx, ev.UserCode, oidctest.ApproveOptions{}); err != nil {
			t.Error(err)
		}
	}); code != 0 {
		t.Fatalf("login: exit %d, %s", code, stderr)
	}
	r := sidecar(t, env, "login")
	want := "Already signed in as Alice Example (alice@example.com) (profile default).\nTo sign in again, run `sidecar login --force`.\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Fatalf("login when signed in: %+v", r)
	}
	r = sidecar(t, env, "login", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"event":"already_signed_in"`) {
		t.Fatalf("login --json when signed in: %+v", r)
	}
	// --force starts over: a code is shown.
	cmd := exec.Command("sidecar", "login", "--force", "--json")
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if !strings.Contains(line, `"event":"code"`) {
		t.Fatalf("login --force: %q", line)
	}
	if got := auditSignIns(t, env); !slices.Equal(got[len(got)-2:], []string{"ok", "cancelled"}) {
		t.Fatalf("audit sign-ins %q", got)
	}
}
