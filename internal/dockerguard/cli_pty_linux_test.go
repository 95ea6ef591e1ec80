package dockerguard

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/ptytest"
)

// TestDockerCLIInteractiveTTY runs "docker exec -it" on a real terminal:
// raw mode, TTY stream, resize and the final exit-code inspect all pass
// through the guard.
func TestDockerCLIInteractiveTTY(t *testing.T) {
	bin, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI on PATH")
	}
	env := newTestEnv(t)
	master, slave := ptytest.Open(t, 24, 80)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "exec", "-it", "myapp-sidecar-1", "sidecar", "login")
	dir := shortTempDir(t)
	cmd.Env = []string{"DOCKER_HOST=unix://" + env.sock, "DOCKER_CONFIG=" + dir, "HOME=" + dir, "TERM=xterm"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := &syncBuffer{}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, master) // ends with EIO once the CLI exits
		close(copied)
	}()
	waitFor(t, out, "out: sidecar login")
	// The CLI has put the terminal in raw mode before copying output, so ^D
	// reaches the process as a byte.
	if _, err := io.WriteString(master, "typed\x04"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("docker exec -it: %v\n%s", err, out)
	}
	<-copied
	if s := out.String(); !strings.Contains(s, "typedstdin closed") {
		t.Errorf("terminal shows %q", s)
	}
	env.fake.mu.Lock()
	resizes := strings.Join(env.fake.resizes, " ")
	env.fake.mu.Unlock()
	if !strings.Contains(resizes, "h=24&w=80") {
		t.Errorf("resizes %q, want h=24&w=80", resizes)
	}
}

func waitFor(t *testing.T, b *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q; have %q", s, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
