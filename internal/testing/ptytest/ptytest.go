//go:build linux

// Package ptytest opens pseudo-terminals for tests of programs that act
// differently on a terminal (sidecar login's QR code and countdown, docker
// exec -t through the guard).
package ptytest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/devicegate/devicegate/internal/testing/syncbuf"
)

// Open returns a pseudo-terminal pair of rows x cols, closed when the test
// ends. The program under test gets slave as its terminal; the test reads
// and writes master.
func Open(t testing.TB, rows, cols uint16) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// WaitRaw waits until the terminal leaves canonical mode, as a program
// does when it takes over the terminal (docker exec -t once attached):
// input typed earlier would be edited by the line discipline instead.
func WaitRaw(t testing.TB, tty *os.File, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ICANON == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal is still in canonical mode after %s", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Term is a command running on a pseudo-terminal of its own, the way a
// person's shell runs it: the terminal is its standard input, output and
// error and its controlling terminal, in a session of its own.
type Term struct {
	// Master is the test's end: what is written to it is typed.
	Master *os.File
	out    syncbuf.Buffer
	// drained is closed once the terminal has no writer left (reading it
	// fails with EIO after the command and its children exit).
	drained chan struct{}
}

// Start starts cmd on a new rows x cols pseudo-terminal and collects
// everything it shows. The caller still waits for cmd.
func Start(t testing.TB, cmd *exec.Cmd, rows, cols uint16) *Term {
	t.Helper()
	master, slave := Open(t, rows, cols)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Only the command holds the terminal now, so its end shows at master.
	slave.Close()
	term := &Term{Master: master, drained: make(chan struct{})}
	go func() {
		defer close(term.drained)
		_, _ = io.Copy(&term.out, master) // ends with EIO once nobody holds the terminal
	}()
	return term
}

// String returns what the terminal has shown so far.
func (term *Term) String() string { return term.out.String() }

// Drained is closed once everything the command wrote has been read.
func (term *Term) Drained() <-chan struct{} { return term.drained }
