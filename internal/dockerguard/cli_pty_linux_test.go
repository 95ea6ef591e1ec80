package dockerguard

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/ptytest"
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "exec", "-it", "myapp-sidecar-1", "sidecar", "login")
	dir := shortTempDir(t)
	cmd.Env = []string{"DOCKER_HOST=unix://" + env.sock, "DOCKER_CONFIG=" + dir, "HOME=" + dir, "TERM=xterm"}
	term := ptytest.Start(t, cmd, 24, 80)
	waitFor(t, term, "out: sidecar login")
	// The CLI has put the terminal in raw mode before copying output, so ^D
	// reaches the process as a byte.
	if _, err := io.WriteString(term.Master, "typed\x04"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("docker exec -it: %v\n%s", err, term)
	}
	<-term.Drained()
	if s := term.String(); !strings.Contains(s, "typedstdin closed") {
		t.Errorf("terminal shows %q", s)
	}
	env.fake.mu.Lock()
	resizes := strings.Join(env.fake.resizes, " ")
	env.fake.mu.Unlock()
	if !strings.Contains(resizes, "h=24&w=80") {
		t.Errorf("resizes %q, want h=24&w=80", resizes)
	}
}

func waitFor(t *testing.T, b fmt.Stringer, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q; have %q", s, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
