// Package unixsock listens on a Unix socket file that a process of ours
// owns: serve's approval and sign-in handoff sockets in the data directory
// and the Docker guard's socket.
package unixsock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"time"
)

// ErrInUse means another process answers on the socket: two listeners
// would split the requests between them, so the second does not start.
var ErrInUse = errors.New("in use by another process")

// Listen listens on the socket at path with the given mode. A socket left
// by a process that died (nobody answers on it) is replaced; one that
// answers is ErrInUse, and a file that is not a socket is not touched.
// Until the chmod the process umask applies, which with the usual umask is
// narrower than mode.
func Listen(path string, mode fs.FileMode) (net.Listener, error) {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("%s exists and is not a socket", path)
	case err == nil:
		if c, derr := net.DialTimeout("unix", path, time.Second); derr == nil {
			c.Close()
			return nil, fmt.Errorf("%s is %w", path, ErrInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the stale socket: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Serve accepts connections on ln until ctx ends and runs handle for each
// in its own goroutine, with ctx. When ctx ends it closes ln (which
// removes the socket file) and returns nil once every handle has
// returned, so a server can answer what still waits before it is gone.
// Any other failure to accept closes ln and is returned.
func Serve(ctx context.Context, ln net.Listener, handle func(context.Context, net.Conn)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			ln.Close()
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			handle(ctx, conn)
		}()
	}
}
