//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/ptytest"
	"github.com/devicegate/devicegate/internal/testing/syncbuf"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// signIn signs the profile of env in at srv.
func signIn(t *testing.T, srv *oidctest.Server, env []string) {
	t.Helper()
	if _, code, stderr := loginJSON(t, env, func(ev cli.Event) {
		if err := srv.Approve(context.Background(), ev.UserCode, oidctest.ApproveOptions{}); err != nil {
			t.Error(err)
		}
	}); code != 0 {
		t.Fatalf("login: exit %d: %s", code, stderr)
	}
}

// waitText waits until the terminal has shown want (count times).
func waitText(t *testing.T, term *ptytest.Term, want string, count int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(term.String(), want) < count {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q (%d times):\n%s", want, count, term.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startApprovals runs `sidecar approvals` on a terminal of its own.
func startApprovals(t *testing.T, env []string) (*ptytest.Term, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command("sidecar", "approvals")
	cmd.Env = env
	term := ptytest.Start(t, cmd, 50, 200)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	waitText(t, term, "Waiting for the agent's requests", 1)
	return term, cmd
}

// agentToken runs `sidecar token` as the agent, in the background.
func agentToken(t *testing.T, env []string, args ...string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		cmd := exec.Command("sidecar", append([]string{"token"}, args...)...)
		cmd.Env = append(env, "DEVICEGATE_CALLER=agent")
		var out, errb syncbuf.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		ch <- result{out.String(), errb.String(), code}
	}()
	return ch
}

// Without the gatekeeper bot, the owner answers from a terminal; with no
// terminal the agent is refused at once; the agent cannot run it.
func TestApprovalsTerminal(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	g := newGatekeeper(t, srv)
	// No bot: serve's environment without the Telegram variables.
	var env []string
	for _, e := range g.env {
		if !strings.HasPrefix(e, "TELEGRAM_") {
			env = append(env, e)
		}
	}
	g.env = env
	signIn(t, srv, env)
	serveCmd := exec.Command("sidecar", "serve")
	serveCmd.Env, serveCmd.Stderr = env, g.logs
	if err := serveCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { serveCmd.Process.Signal(syscall.SIGTERM); serveCmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(g.sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not listen:\n%s", g.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	if r := <-agentToken(t, env); r.code != exitcode.Refused || !strings.Contains(r.stderr, "approvals are off") {
		t.Fatalf("with nobody to ask: %+v", r)
	}
	if r := sidecar(t, append(env, "DEVICEGATE_CALLER=agent"), "approvals"); r.code != exitcode.Refused || !strings.Contains(r.stderr, "for the owner") {
		t.Fatalf("the agent ran sidecar approvals: %+v", r)
	}

	term, cmd := startApprovals(t, env)
	res := agentToken(t, env)
	waitText(t, term, "Wants the raw access token", 1)
	waitText(t, term, "Rule: ask token", 1)
	fmt.Fprintln(term.Master, "o")
	if r := <-res; r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("the agent's token after allow once: %+v", r)
	}
	waitText(t, term, "Request 1: ✅ Allowed once.", 1)

	res = agentToken(t, env)
	waitText(t, term, "Request 2", 1)
	fmt.Fprintln(term.Master, "d")
	if r := <-res; r.code != exitcode.Refused {
		t.Fatalf("the agent's token after deny: %+v", r)
	}
	waitText(t, term, "Request 2: ⛔ Denied.", 1)
	fmt.Fprintln(term.Master, "q")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("approvals after q: %v\n%s", err, term.String())
	}
}

// With the gatekeeper bot too: the question is in both places, the first
// answer wins, and the chat's message says where it was answered.
func TestApprovalsTerminalAndChat(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	g := newGatekeeper(t, srv, "SIDECAR_APPROVAL_TIMEOUT=1m")
	signIn(t, srv, g.env)
	g.start(t)
	defer g.cmd.Process.Signal(syscall.SIGTERM)
	term, _ := startApprovals(t, g.env)

	res := agentToken(t, g.env)
	q := g.question(t)
	waitText(t, term, "Wants the raw access token", 1)
	fmt.Fprintln(term.Master, "h")
	if r := <-res; r.code != 0 {
		t.Fatalf("the agent's token: %+v", r)
	}
	g.waitFor(t, "the chat's message updated", 20*time.Second, func(v telegramtest.View) bool {
		for _, m := range v.Chat(ownerChat) {
			if m.ID == q.ID {
				return len(m.Buttons) == 0 && strings.Contains(m.Text, "Allowed for 1 hour") && strings.Contains(m.Text, "(answered in the terminal)")
			}
		}
		return false
	})
	// The hour covers the next one, in both places.
	if r := <-agentToken(t, g.env); r.code != 0 {
		t.Fatalf("within the hour: %+v", r)
	}

	// Another variant is asked again; answered in the chat, the terminal
	// is told.
	res = agentToken(t, g.env, "--scope", "api:read")
	waitText(t, term, "Wants a token for just these scopes", 1)
	g.question(t)
	if _, _, err := g.gate.TapButton(ownerChat, ownerChat, "Deny"); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.code != exitcode.Refused {
		t.Fatalf("after Deny in the chat: %+v", r)
	}
	waitText(t, term, "Request 2: ⛔ Denied. (answered in Telegram)", 1)
}
