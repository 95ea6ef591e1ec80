package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/config"
)

// checkGuard: the guard's access to the engine, a ping on GUARD_UPSTREAM
// as the user doctor runs as. The socket is in the guard's container, not
// the sidecar's: without it here the check is skipped (there) or a
// problem (with --guard, where it must be).
func checkGuard(ctx context.Context, here bool) []Finding {
	gc, err := config.LoadGuard()
	if err != nil {
		return []Finding{{Area: "guard", Err: err}}
	}
	if _, err := os.Stat(gc.Upstream); err != nil && !here {
		return []Finding{{Area: "guard", Skipped: true,
			OK: "no Docker socket here (" + gc.Upstream + "); `docker compose run --rm --entrypoint 'sidecar doctor --guard' guard` checks the guard's access"}}
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", gc.Upstream)
		},
	}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	res, err := hc.Do(req)
	if err != nil {
		var fix string
		if errors.Is(err, syscall.EACCES) {
			fix = "the guard joins the socket's group: set DOCKER_GID in .env to `stat -c %g /var/run/docker.sock` on the host"
			var st syscall.Stat_t
			if syscall.Stat(gc.Upstream, &st) == nil {
				fix = fmt.Sprintf("the guard joins the socket's group: set DOCKER_GID=%d in .env (the group of %s)", st.Gid, gc.Upstream)
			}
		}
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = oe.Err
		}
		return []Finding{{Area: "guard", Err: fmt.Errorf("GUARD_UPSTREAM %s: the engine does not answer a ping: %w", gc.Upstream, err), Fix: fix}}
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return []Finding{{Area: "guard", Err: fmt.Errorf("GUARD_UPSTREAM %s: ping answered %s", gc.Upstream, res.Status)}}
	}
	return []Finding{{Area: "guard", OK: "the engine answers a ping on " + gc.Upstream}}
}
