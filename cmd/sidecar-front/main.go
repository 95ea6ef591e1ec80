// Command sidecar-front is installed as `sidecar` in the sidecar image, in
// front of the full program (cmd/sidecar), which is installed next to it
// as ../libexec/devicegate/sidecar. It answers the command an agent runs
// most, `sidecar token` while the cached token is valid, by itself, and
// hands every other command line to the full program with execve(2): the
// same process, arguments, environment and descriptors.
//
// Why a second binary: tools run `sidecar token` before each API call, and
// a Go program's start grows with what it links. The full sidecar links
// net/http, TLS, the OAuth client and the Telegram client, and starts in
// about 1.4 times the time of the smallest Go program that reads the same
// cache file, before doing anything. This one links the configuration,
// the cache, the policy and the audit log (internal/local), and starts in
// little more than that program's time (make bench).
//
// The front never decides differently from the full program. It handles
// only the case in which the full program prints the cached token without
// asking anyone: the configuration is valid, the caller may have the token
// without an approval, and the cached token is valid for --min-ttl. Then it
// writes the same audit line and prints the same bytes. Anything else
// (another command or flag, an error of any kind, a token to refresh, a
// policy that denies or asks, an agent over the rate limit) goes to the
// full program before anything is written, but for the one line a burst
// of rate-limit refusals writes: the full program would write the same
// line, and then refuses again without one. TestFrontMatchesFull holds
// it to that.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/local"
	"github.com/devicegate/devicegate/internal/policy"
)

// fullPath is where the full program is installed, from this binary's
// directory (/usr/local/bin/sidecar → /usr/local/libexec/devicegate/sidecar).
const fullPath = "../libexec/devicegate/sidecar"

func main() {
	if code, handled := token(os.Args[1:], os.Stdout, os.Stderr, time.Now()); handled {
		os.Exit(code)
	}
	exe, err := os.Executable()
	if err == nil {
		full := filepath.Join(filepath.Dir(exe), fullPath)
		err = syscall.Exec(full, os.Args, os.Environ()) // returns only on failure
		err = fmt.Errorf("cannot start the full sidecar program %s: %w", full, err)
	}
	fmt.Fprintf(os.Stderr, "sidecar: error: %v\nsidecar: hint: the installation is incomplete: rebuild the image (docker compose build sidecar)\n", err)
	os.Exit(1)
}

// token answers `sidecar token [--profile P] [--min-ttl D]` when the full
// program would print the cached token without asking anyone, and returns
// handled false, having written nothing, in every other case.
func token(args []string, stdout, stderr io.Writer, now time.Time) (code int, handled bool) {
	if len(args) == 0 || args[0] != "token" {
		return 0, false
	}
	profile, minTTL, ok := parseFlags(args[1:])
	if !ok {
		return 0, false
	}
	l, err := local.Load()
	if err != nil {
		return 0, false
	}
	p, err := l.Open(profile)
	if err != nil {
		return 0, false
	}
	// cmd/sidecar's gate: the policy binds the agent only.
	decision := "owner"
	if p.Caller == audit.CallerAgent {
		if p.Policy.Decide(policy.Request{Action: policy.ActionToken}).Decision != policy.Allow {
			return 0, false
		}
		decision = "allow"
	}
	e, err := l.Store.Load(p.Name)
	if err != nil || !e.Valid(now, minTTL) {
		return 0, false
	}
	// cmd/sidecar's gate: the rate limit binds the agent. Over it, the
	// full program says so (its Admit refuses again; the one line of the
	// burst is written by whichever refused first, and is the same line).
	ev := audit.Event{Profile: p.Name, Caller: p.Caller, Action: audit.ActionToken}
	if p.Audit.Admit(ev) != nil {
		return 0, false
	}
	// From here on, what cmd/sidecar's token does with a valid token: the
	// audit line (a failure to write it is a warning), then the token.
	ev.Decision = decision
	if err := p.Audit.Append(ev); err != nil {
		fmt.Fprintf(stderr, "sidecar: warning: %v\n", err)
	}
	if _, err := fmt.Fprintln(stdout, e.AccessToken); err != nil {
		fmt.Fprintf(stderr, "sidecar: error: %v\n", err)
		return 1, true
	}
	return 0, true
}

// parseFlags reads --profile and --min-ttl the way the flag package does
// (-name or --name, then =value or the next argument). ok is false for any
// other flag or argument, and for a value the full program refuses: it
// then says why.
func parseFlags(args []string) (profile string, minTTL time.Duration, ok bool) {
	minTTL = 60 * time.Second // cmd/sidecar's default
	for i := 0; i < len(args); i++ {
		name, found := strings.CutPrefix(args[i], "-")
		if !found {
			return "", 0, false
		}
		name = strings.TrimPrefix(name, "-")
		name, value, hasValue := strings.Cut(name, "=")
		if !hasValue {
			if i+1 == len(args) {
				return "", 0, false
			}
			i++
			value = args[i]
		}
		switch name {
		case "profile":
			profile = value
		case "min-ttl":
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 {
				return "", 0, false
			}
			minTTL = d
		default:
			return "", 0, false
		}
	}
	return profile, minTTL, true
}
