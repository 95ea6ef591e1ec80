package main

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/ptytest"

	"github.com/devicegate/devicegate/internal/oidctest"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// On a terminal, login shows a QR code of verification_uri_complete and a
// live countdown.
func TestLoginOnATerminal(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	master, slave := ptytest.Open(t, 40, 120)
	cmd := exec.Command("sidecar", "login")
	cmd.Env = cliEnv(t, srv)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := &lockedBuf{}
	drained := make(chan struct{}) // the terminal has no writer left
	go func() {
		defer close(drained)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
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
	case <-drained:
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
