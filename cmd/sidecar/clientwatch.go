package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// errClientGone is why a sign-in stops when nobody is left to see it.
var errClientGone = errors.New("the terminal or docker exec client went away")

// watchClient returns a context cancelled, with errClientGone as its
// cause, when the person's side of stdin or stdout goes away: the terminal
// hangs up (SIGHUP, or POLLHUP on a TTY), or the pipe or socket that
// `docker exec` connects closes (POLLHUP/POLLERR). Without it a sign-in
// whose client was killed would poll the provider in the container until
// its code expired. Only pipes, sockets and terminals are watched, and a
// stdin already closed at the start (`< /dev/null`, a script's closed
// pipe) is the caller's choice, not a departure.
func watchClient(ctx context.Context, stdin io.Reader, stdout io.Writer) (context.Context, context.CancelFunc) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	// Gone: what is still written (the error, a JSON event) may meet a
	// closed pipe, which must be an EPIPE error, not a SIGPIPE death
	// before the exit code.
	cancel := func(err error) {
		if err == errClientGone {
			signal.Ignore(syscall.SIGPIPE)
		}
		cancelCause(err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	var fds []unix.PollFd
	if f, ok := stdin.(*os.File); ok && watchable(f) && !hungUp(int(f.Fd())) {
		fds = append(fds, unix.PollFd{Fd: int32(f.Fd())})
	}
	if f, ok := stdout.(*os.File); ok && watchable(f) {
		fds = append(fds, unix.PollFd{Fd: int32(f.Fd())})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				cancel(errClientGone)
				return
			default:
			}
			if len(fds) == 0 {
				select {
				case <-ctx.Done():
				case <-hup:
					cancel(errClientGone)
				}
				return
			}
			// Events 0: only POLLHUP, POLLERR and POLLNVAL, which poll
			// always reports. The timeout lets the loop see ctx end.
			n, err := unix.Poll(fds, 250)
			if err != nil && err != unix.EINTR {
				return
			}
			if n > 0 {
				for _, p := range fds {
					if p.Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
						cancel(errClientGone)
						return
					}
				}
			}
		}
	}()
	return ctx, func() {
		cancel(context.Canceled)
		<-done
		signal.Stop(hup)
	}
}

// watchable: a pipe, a socket or a terminal, whose other side can go.
func watchable(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	m := fi.Mode()
	return m&(os.ModeNamedPipe|os.ModeSocket) != 0 || m&os.ModeCharDevice != 0 && isTerminal(f)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// hungUp reports whether fd's other side is already gone.
func hungUp(fd int) bool {
	p := []unix.PollFd{{Fd: int32(fd)}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0 && p[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
}
