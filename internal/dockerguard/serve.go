package dockerguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/devicegate/devicegate/internal/unixsock"
)

const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 5 * time.Second
	maxHeaderBytes    = 64 << 10
	socketMode        = 0o660
)

type serveCtxKey struct{}

// serveContext returns the context passed to Serve, or nil when the Guard
// is used as a plain handler.
func serveContext(ctx context.Context) context.Context {
	c, _ := ctx.Value(serveCtxKey{}).(context.Context)
	return c
}

// Serve accepts connections on l until ctx is cancelled, then shuts down
// gracefully: it stops accepting, closes exec streams at once and gives
// other requests in flight a few seconds. It returns nil after a shutdown
// caused by ctx, and the accept error otherwise. Serve closes l.
func (g *Guard) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context {
			// Requests do not inherit the cancellation (shutdown is
			// graceful), but exec streams find ctx here and close on it.
			return context.WithValue(context.WithoutCancel(ctx), serveCtxKey{}, ctx)
		},
		ConnContext:                  withPeer,
		DisableGeneralOptionsHandler: true,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Listen listens on the unix socket path. A stale socket left by an earlier
// run is removed; a socket that still answers, or a file that is not a
// socket, is an error. The socket gets mode 0660, so the agent needs to be
// the owner or in the group; until the chmod the process umask applies,
// which with the usual umask is narrower.
func Listen(path string) (net.Listener, error) {
	l, err := unixsock.Listen(path, socketMode)
	if err != nil {
		return nil, fmt.Errorf("dockerguard: %w", err)
	}
	return l, nil
}

// peer identifies the process at the other end of a unix socket.
type peer struct{ uid, pid int32 }

type peerKey struct{}

func withPeer(ctx context.Context, c net.Conn) context.Context {
	if p, ok := peerCred(c); ok {
		return context.WithValue(ctx, peerKey{}, p)
	}
	return ctx
}

func peerFromContext(ctx context.Context) (peer, bool) {
	p, ok := ctx.Value(peerKey{}).(peer)
	return p, ok
}
