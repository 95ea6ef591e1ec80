package redact

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Relay carries a child's standard output and error, through a [NewPair],
// to two writers: what the agent reads when it runs a tool.
//
// The child writes to two pipes, and a secret it splits across them is
// masked only if the pieces are read in the order it wrote them. Two
// goroutines reading a pipe each (as exec.Cmd does) would hand them over
// in whatever order the scheduler runs them. So one goroutine reads both
// through epoll in edge-triggered mode, whose ready list is first in,
// first out: a pipe is reported in the order it received data after the
// last read, and each is read until it is empty. The order is the
// child's, unless the child writes to one pipe, then the other, then the
// first again before the relay reads: then the first pipe's two writes
// come before the other's.
//
// The relay stops when told, not when the pipes end: a process the tool
// left behind may hold them open for as long as it lives.
type Relay struct {
	pair     [2]*Writer
	r        [2]int      // our ends of the pipes
	w        [2]*os.File // the child's
	ep, stop int         // the epoll instance and the eventfd that stops it
	done     chan struct{}
	err      error
}

// stopTag marks the eventfd among the epoll events (the pipes are 0, 1).
const stopTag = 2

// NewRelay returns a relay to stdout and stderr masking secrets. Give the
// child [Relay.Files], then call [Relay.Start] once it started and
// [Relay.Stop] once it exited, or [Relay.Close] if it never started.
func NewRelay(stdout, stderr io.Writer, secrets ...string) (*Relay, error) {
	rl := &Relay{r: [2]int{-1, -1}, ep: -1, stop: -1, done: make(chan struct{})}
	rl.pair[0], rl.pair[1] = NewPair(stdout, stderr, secrets...)
	fail := func(err error) (*Relay, error) {
		rl.Close()
		return nil, fmt.Errorf("relaying the tool's output: %w", err)
	}
	for i := range rl.r {
		var p [2]int
		// The child's end stays blocking, as a program expects its
		// output to be; only ours reads without waiting.
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			return fail(err)
		}
		rl.r[i], rl.w[i] = p[0], os.NewFile(uintptr(p[1]), "tool output")
		if err := unix.SetNonblock(p[0], true); err != nil {
			return fail(err)
		}
	}
	var err error
	if rl.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fail(err)
	}
	if rl.stop, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail(err)
	}
	for i, fd := range []int{rl.r[0], rl.r[1], rl.stop} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(i)}
		if err := unix.EpollCtl(rl.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return fail(err)
		}
	}
	return rl, nil
}

// Files returns the ends the child writes to, as its standard output and
// error.
func (rl *Relay) Files() (stdout, stderr *os.File) { return rl.w[0], rl.w[1] }

// Start closes our copies of the child's ends, now that it holds them,
// and starts relaying.
func (rl *Relay) Start() {
	rl.w[0].Close()
	rl.w[1].Close()
	go rl.loop()
}

// Stop relays what is in the pipes now, stops (what the tool's processes
// write later is dropped), and writes out what the masking held back.
// Call it once the child has exited and what it left behind was killed.
func (rl *Relay) Stop() error {
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0} // an eventfd takes a uint64
	if _, err := unix.Write(rl.stop, one); err != nil {
		rl.err = err
	}
	<-rl.done
	err := errors.Join(rl.err, rl.pair[0].Flush())
	rl.Close()
	return err
}

// Close releases the pipes; for a child that never started.
func (rl *Relay) Close() {
	for _, f := range rl.w {
		if f != nil {
			f.Close()
		}
	}
	for _, fd := range []int{rl.r[0], rl.r[1], rl.ep, rl.stop} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func (rl *Relay) loop() {
	defer close(rl.done)
	buf := make([]byte, 32<<10)
	var ended [2]bool
	events := make([]unix.EpollEvent, 3)
	for {
		n, err := unix.EpollWait(rl.ep, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			rl.err = err
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == stopTag {
				// Whatever the tool wrote before it exited is in the
				// pipes: take exactly that, then stop.
				for i := range rl.r {
					if !ended[i] {
						rl.copy(i, buf, true)
					}
				}
				return
			}
			if !ended[ev.Fd] {
				ended[ev.Fd] = rl.copy(int(ev.Fd), buf, false)
			}
		}
	}
}

// copy relays what pipe i holds until it is empty, and tells whether it
// ended (every writer closed it). With last, it reads only what the pipe
// holds now, since a writer may still be filling it.
func (rl *Relay) copy(i int, buf []byte, last bool) (ended bool) {
	fd := rl.r[i]
	left := -1
	if last {
		var err error
		if left, err = unix.IoctlGetInt(fd, unix.TIOCINQ); err != nil {
			return true
		}
	}
	for left != 0 {
		b := buf
		if left > 0 {
			b = buf[:min(left, len(buf))]
		}
		n, err := unix.Read(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return false
		}
		if err != nil || n == 0 {
			return true
		}
		if _, err := rl.pair[i].Write(b[:n]); err != nil && rl.err == nil {
			rl.err = err // keep reading: a stopped reader would block the tool
		}
		if left > 0 {
			left -= n
		}
	}
	return false
}
