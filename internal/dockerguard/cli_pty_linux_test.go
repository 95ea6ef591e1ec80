package dockerguard

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair sized 24x80.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	if err := ioctl(m.Fd(), syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatal(err)
	}
	var n uint32
	if err := ioctl(m.Fd(), syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ws := struct{ row, col, x, y uint16 }{24, 80, 0, 0}
	if err := ioctl(s.Fd(), syscall.TIOCSWINSZ, unsafe.Pointer(&ws)); err != nil {
		t.Fatal(err)
	}
	return m, s
}

func ioctl(fd, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

// TestDockerCLIInteractiveTTY runs "docker exec -it" on a real terminal:
// raw mode, TTY stream, resize and the final exit-code inspect all pass
// through the guard.
func TestDockerCLIInteractiveTTY(t *testing.T) {
	bin, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI on PATH")
	}
	env := newTestEnv(t)
	master, slave := openPTY(t)
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
