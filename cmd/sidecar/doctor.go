package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/doctor"
	"github.com/devicegate/devicegate/internal/exitcode"
)

const doctorUsage = `usage: sidecar doctor [--guard]

Checks the whole setup at once and prints every problem with its fix:
every invalid or missing variable, the secret files, the cache key, each
profile's provider (its discovery and a device code, left to expire), the
gatekeeper bot (getMe) and its chat (getChat, nothing is sent), the
guard's access to the Docker engine, and the gateway's variables (every
one compose.yaml's gateway needs when DEVICEGATE_GATEWAY=compose, which
compose.yaml sets; DEVICEGATE_GATEWAY=external in .env for an OpenClaw of
your own) and owner id. Exit 2 when there is a problem. In the real stack:

  docker compose run --rm sidecar doctor
  docker compose run --rm --entrypoint 'sidecar doctor --guard' guard

With --guard, only the guard's access to the engine (GUARD_UPSTREAM), in
the guard's container.`

func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("doctor", stderr, doctorUsage)
	guardOnly := fs.Bool("guard", false, "check only the guard's access to the engine")
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("doctor takes no arguments")
	}
	if *guardOnly {
		// As the guard itself: a guard started as root drops to nonroot
		// with the socket's group first, and so does its check.
		// When that fails (no socket here), the check says what is wrong.
		if gc, err := config.LoadGuard(); err == nil {
			_, _ = dropRoot(gc.Upstream)
		}
	}
	// The timeout the configuration asks for is unknown until it is read;
	// doctor's own requests get a fixed one.
	findings := doctor.Run(ctx, doctor.Options{HTTP: app.HTTPClient(httpTimeout), GuardOnly: *guardOnly})
	p := prog
	for _, f := range findings {
		switch {
		case f.Err != nil:
			fmt.Fprintf(stdout, "FAIL  %-18s %s\n", f.Area, oneLine(f.Err.Error()))
			fixes := p.Hints(f.Err)
			if f.Fix != "" {
				fixes = []string{f.Fix}
			}
			for _, h := range fixes {
				fmt.Fprintf(stdout, "      %-18s fix: %s\n", "", h)
			}
		case f.Skipped:
			fmt.Fprintf(stdout, "skip  %-18s %s\n", f.Area, f.OK)
		default:
			fmt.Fprintf(stdout, "ok    %-18s %s\n", f.Area, f.OK)
		}
	}
	n := doctor.Problems(findings)
	if n == 0 {
		fmt.Fprintln(stdout, "\nNo problems found.")
		return nil
	}
	word := "problems"
	if n == 1 {
		word = "problem"
	}
	return cli.Exit(exitcode.Usage, fmt.Errorf("%d %s found (listed above): fix them, then run doctor again", n, word))
}

// httpTimeout bounds each of doctor's requests.
const httpTimeout = 15 * time.Second

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }
