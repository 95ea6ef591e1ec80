package redact

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

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
// last read, and each is read until it is empty. When the child wrote to
// one pipe, then the other, then the first again before the relay read,
// the first pipe's two writes are read as one: then the two pipes' data
// of that round are masked in the order that masks the most (so a secret
// split in two across them is caught). A tool that cuts a secret into
// more pieces, or reorders them, is not caught: no masking can be the
// barrier, placeholders are.
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
		// The relay cannot be told: what it has not relayed is lost.
		return fmt.Errorf("stopping the relay of the tool's output: %w", err)
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

// roundMax bounds what is read from one pipe in one round, so that a
// tool writing without pause to one stream does not keep the other
// waiting, nor fill our memory.
const roundMax = 256 << 10

func (rl *Relay) loop() {
	defer close(rl.done)
	var (
		ended   [2]bool
		pending [2]bool // ready, and not read to the end in the last round
		events  = make([]unix.EpollEvent, 3)
		bufs    [2][]byte
	)
	for {
		timeout := -1
		if pending[0] || pending[1] {
			timeout = 0
		}
		n, err := unix.EpollWait(rl.ep, events, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			rl.err = err
			return
		}
		// A round: the pipes in the order they became ready (those left
		// pending first: they were ready before), each read until empty.
		var order []int
		for i := range pending {
			if pending[i] {
				order = append(order, i)
			}
		}
		stop := false
		for _, ev := range events[:n] {
			switch {
			case ev.Fd == stopTag:
				stop = true
			case !slices.Contains(order, int(ev.Fd)):
				order = append(order, int(ev.Fd))
			}
		}
		// The other pipe too, reported or not: what the tool wrote to it
		// before what was just reported is there, and the two are masked
		// together. Whatever the tool wrote before it exited is in the
		// pipes: when stopping, take exactly that.
		for i := range 2 {
			if !slices.Contains(order, i) {
				order = append(order, i)
			}
		}
		// Read both until a pass finds both empty: a write to one pipe
		// that follows one to the other, made while the first was read,
		// is then in this round too.
		bufs[0], bufs[1] = bufs[0][:0], bufs[1][:0]
		for more := true; more; {
			more = false
			for _, i := range order {
				if ended[i] || pending[i] && len(bufs[i]) >= roundMax {
					continue
				}
				n := len(bufs[i])
				bufs[i], ended[i], pending[i] = rl.read(i, bufs[i], stop)
				more = more || len(bufs[i]) > n && !stop
			}
		}
		rl.hand(order, bufs)
		if stop || ended[0] && ended[1] {
			return
		}
	}
}

// hand masks and writes what a round read.
func (rl *Relay) hand(order []int, bufs [2][]byte) {
	var err error
	switch {
	case len(bufs[0]) > 0 && len(bufs[1]) > 0:
		first, second := order[0], 1-order[0]
		_, err = rl.pair[0].m.writeRound(run{uint8(first), bufs[first]}, run{uint8(second), bufs[second]})
	case len(bufs[0]) > 0:
		_, err = rl.pair[0].Write(bufs[0])
	case len(bufs[1]) > 0:
		_, err = rl.pair[1].Write(bufs[1])
	}
	if err != nil && rl.err == nil {
		rl.err = err // keep reading: a stopped reader would block the tool
	}
}

// read appends what pipe i holds to buf until it is empty (or buf holds
// roundMax: more is pending), and tells whether it ended (every writer
// closed it). With last, it reads only what the pipe holds now, since a
// writer may still be filling it.
func (rl *Relay) read(i int, buf []byte, last bool) (_ []byte, ended, more bool) {
	fd := rl.r[i]
	limit := roundMax
	if last {
		n, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
		if err != nil {
			return buf, true, false
		}
		limit = len(buf) + n
	}
	for len(buf) < limit {
		if cap(buf)-len(buf) < 32<<10 {
			buf = slices.Grow(buf, 32<<10)
		}
		n, err := unix.Read(fd, buf[len(buf):min(cap(buf), limit)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return buf, false, false
		}
		if err != nil || n == 0 {
			return buf, true, false
		}
		buf = buf[:len(buf)+n]
	}
	return buf, false, !last
}
