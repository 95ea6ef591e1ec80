//go:build dockere2e && linux

package docker

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair sized rows x cols, for running the
// Docker CLI with -t on a real terminal.
func openPTY(t *testing.T, rows, cols uint16) (master, slave *os.File) {
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
	t.Cleanup(func() { s.Close() })
	ws := struct{ row, col, x, y uint16 }{rows, cols, 0, 0}
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

// waitRaw waits until the terminal leaves canonical mode, which is what the
// Docker CLI does once the exec's stream is attached: input typed earlier
// would be edited by our own line discipline instead of the exec's.
func waitRaw(t *testing.T, tty *os.File, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var tio syscall.Termios
		if err := ioctl(tty.Fd(), syscall.TCGETS, unsafe.Pointer(&tio)); err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&syscall.ICANON == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal is still in canonical mode after %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
