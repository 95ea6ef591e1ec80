package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/keeper"
	"github.com/devicegate/devicegate/internal/preset"
)

const healthUsage = `usage: sidecar health [--guard]

The container health check. Without flags: ok when sidecar serve has
completed a round recently. With --guard: ok when the guard's socket
(GUARD_LISTEN) answers a ping.`

func health(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("health", stderr, healthUsage)
	guardMode := fs.Bool("guard", false, "check the Docker socket guard")
	maxAge := fs.Duration("max-age", 3*keeper.DefaultTick, "how old the serve heartbeat may be")
	if _, _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *guardMode {
		gc, err := config.LoadGuard()
		if err != nil {
			return err
		}
		// As the guard itself, which owns its socket.
		if _, err := dropRoot(gc.Upstream); err != nil {
			return err
		}
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", gc.Listen)
			},
		}}
		// The host is a placeholder: the dialer above ignores it, so
		// the error names the socket instead of this URL.
		res, err := hc.Get("http://docker/_ping")
		if err != nil {
			var oe *net.OpError
			if errors.As(err, &oe) {
				err = oe.Err
			}
			return fmt.Errorf("guard: no answer on %s (GUARD_LISTEN): %w", gc.Listen, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("guard: ping answered %s", res.Status)
		}
		fmt.Fprintln(stdout, "ok")
		return nil
	}
	c, err := config.Load(preset.Kinds())
	if err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(c.DataDir, heartbeatName))
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("sidecar serve has not completed a round yet")
	}
	if err != nil {
		return err
	}
	if age := time.Since(fi.ModTime()); age > *maxAge {
		return fmt.Errorf("sidecar serve last completed a round %s ago", age.Round(time.Second))
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
