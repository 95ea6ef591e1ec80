package main

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/ptytest"
)

// On a terminal, login shows a QR code of verification_uri_complete and a
// live countdown.
func TestLoginOnATerminal(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	cmd := exec.Command("sidecar", "login")
	cmd.Env = cliEnv(t, srv)
	out := ptytest.Start(t, cmd, 40, 120)
	codeRe := regexp.MustCompile(`enter the code:\s+(\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	var code string
	for code == "" || !strings.Contains(out.String(), "the code expires in") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no code and countdown on the terminal:\n%s", out)
		}
		if m := codeRe.FindStringSubmatch(out.String()); m != nil {
			code = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.Approve(context.Background(), code, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	select {
	case <-out.Drained():
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal was not drained after login exited")
	}
	text := out.String()
	if !strings.Contains(text, "Or scan this with your phone:") || strings.Count(text, "█") < 50 {
		t.Errorf("no QR code on the terminal:\n%s", text)
	}
	// The link as text too: a browser on the same machine cannot scan.
	if !regexp.MustCompile(`Or open this link, which carries the code: http://127\.0\.0\.1:\d+/device\S*`).MatchString(text) {
		t.Errorf("no link with the code on the terminal:\n%s", text)
	}
	if !strings.Contains(text, "\rWaiting for approval... the code expires in") {
		t.Errorf("no live countdown:\n%s", text)
	}
	if !strings.Contains(text, "Signed in as Alice Example (alice@example.com).") {
		t.Errorf("no confirmation:\n%s", text)
	}
}
