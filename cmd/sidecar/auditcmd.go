package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/preset"
)

const auditUsage = `usage: sidecar audit [--profile P] [--since D] [--last N] [--denied] [--json]

Shows the audit log: every token export, sidecar run, sidecar api call,
sign-in, refresh, logout and approval decision, oldest first, with who
asked (agent: through the Docker guard; owner: everything else). --since
takes a duration back from now (24h, 90m) or a time (2026-12-01 or
RFC 3339); --last N the N newest (default 50, 0 for all); --denied only
refusals (denied, not approved, timed out, rate limited). --json prints
one JSON object per line. The log never holds a token, a body or a query
value; it keeps at least the last 30 days.`

func auditCmd(args []string, stdout, stderr io.Writer, now time.Time) error {
	fs := cli.NewFlags("audit", stderr, auditUsage)
	profile := fs.String("profile", "", "only this profile")
	since := fs.String("since", "", "only events since this duration ago or time")
	last := fs.Int("last", 50, "only the newest N events (0 for all)")
	denied := fs.Bool("denied", false, "only refusals")
	asJSON := fs.Bool("json", false, "print JSON lines")
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("audit takes no arguments")
	}
	if *last < 0 {
		return cli.Usagef("--last must not be negative")
	}
	f := audit.Filter{Profile: *profile, Last: *last, Refused: *denied}
	if *since != "" {
		if f.Since, err = parseSince(*since, now); err != nil {
			return err
		}
	}
	c, err := config.Load(preset.Kinds())
	if err != nil {
		return err
	}
	evs, err := audit.Open(c.DataDir).Read(f)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(evs) == 0 {
		_, err := fmt.Fprintln(stdout, "no audit events")
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPROFILE\tCALLER\tACTION\tDECISION\tWHAT\tSTATUS")
	for _, e := range evs {
		st := ""
		if e.Status != 0 {
			st = strconv.Itoa(e.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"),
			e.Profile, e.Caller, e.Action, dash(e.Decision), dash(e.What()), st)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseSince reads --since: a duration back from now, or a date or time.
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, cli.Usagef("--since %s: want a positive duration", v)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, cli.Usagef("--since %q: want a duration such as 24h or a time such as 2026-12-01 or 2026-12-01T15:04:05Z", v)
}
