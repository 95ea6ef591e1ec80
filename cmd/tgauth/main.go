// Command tgauth signs a profile in through Telegram: it pushes the
// sign-in link and code to the owner's chat, keeps the message current,
// and confirms when the sign-in completes. Its stdout is for the agent
// that called it: one short line per state change, or JSON lines.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/handoff"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
	"github.com/devicegate/devicegate/internal/version"
)

var prog = cli.Tgauth

const usage = `usage: tgauth [--profile P] [--force] [--once] [--timeout D] [--json]

Signs in through Telegram: sends the sign-in link and code to
TELEGRAM_CHAT_ID, keeps the message current, and confirms when done.
Already signed in (and no --force): says so in the chat and exits 0.

  --profile P   profile to sign in (default: the default profile)
  --force       sign in again even if a usable sign-in exists
  --once        a one-off grant: keep no refresh token, so access ends
                when the access token expires (as OAUTH_ONE_OFF=true)
  --timeout D   give up after D (default: when the codes run out)
  --json        print JSON events, one per line (as sidecar login --json)

Exit codes: 0 ok, 1 failure, 2 usage or configuration, 3 declined,
4 sign-in required, 5 timed out, 6 provider error, 7 Telegram failure.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Main runs tgauth with args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintf(stdout, "tgauth %s\n", version.String())
		return 0
	}
	fs := cli.NewFlags("", stderr, usage)
	profile := fs.String("profile", "", "profile")
	force := fs.Bool("force", false, "sign in again")
	once := fs.Bool("once", false, "one-off grant")
	timeout := fs.Duration("timeout", 0, "give up after this long")
	asJSON := fs.Bool("json", false, "JSON events")
	pos, _, err := cli.Parse(fs, args)
	if err == nil && len(pos) > 0 {
		err = cli.Usagef("unexpected argument %q", pos[0])
	}
	if err == nil && *timeout < 0 {
		err = cli.Usagef("--timeout must not be negative")
	}
	if err != nil {
		return prog.Report(stderr, err)
	}
	out := &progress{w: stdout, json: *asJSON}
	err = run(ctx, *profile, *force, *once, *timeout, out, stderr, args)
	if err != nil && *asJSON {
		out.event(cli.ErrorEvent(err))
	}
	return prog.Report(stderr, err)
}

func run(ctx context.Context, profile string, force, once bool, timeout time.Duration, out *progress, stderr io.Writer, args []string) error {
	a, err := app.Load()
	if err != nil {
		return err
	}
	s, err := a.Open(profile)
	if err != nil {
		return err
	}
	// The code goes to the owner's chat, never to the agent (below); so
	// the agent's plain tgauth, which the owner's /auth in OpenClaw runs,
	// is not asked: over no sign-in there is nothing to swap, and a new
	// sign-in as another account waits for the owner's confirmation.
	// Replacing a sign-in that works (--force) is the owner's to allow.
	g := app.Gate(s, "")
	act := gate.Action{Kind: gate.SignIn, Argv: append([]string{"tgauth"}, args...)}
	if st, err := s.Status(); force && err == nil && st.State != session.StateSignInRequired {
		if _, err := g.Check(ctx, act); err != nil {
			return err
		}
	}
	out.agent = s.Caller == audit.CallerAgent
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tg, chat, err := a.Telegram(ctx, log)
	if err != nil {
		return err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	b := &bridge.Bridge{TG: tg, Chat: chat, Host: a.Host(), Log: log, Progress: out.step, OneOff: once, By: s.Caller,
		ConfirmSwitch: func(ctx context.Context, from, to tokencache.Account) error {
			return g.ConfirmAccount(ctx, act, bridge.AccountLabel(from), bridge.AccountLabel(to))
		},
		// The code flow: the owner pastes the address into the chat that
		// sidecar serve reads; serve hands it over (internal/handoff).
		Pastes: handoff.Client{DataDir: a.Config.DataDir}}
	_, err = b.SignIn(ctx, s, force)
	return err
}

// progress prints state changes for the agent: short lines, or JSON.
type progress struct {
	w    io.Writer
	json bool
	// agent: the caller is the agent, which gets no code (RFC 8628 §5.4:
	// the user code is for the person; an agent that had it could pass
	// it to someone who signs in first, as their own account).
	agent bool
}

// step turns the bridge's state change into the event an agent reads.
func (p *progress) step(st bridge.Step) {
	switch {
	case st.Code != nil:
		ev := cli.CodeEvent(st.Session, *st.Code)
		if p.agent {
			ev.UserCode, ev.VerificationURIComplete = "", ""
		}
		p.event(ev)
	case st.Link != nil:
		ev := cli.AuthorizeEvent(st.Session, *st.Link, time.Now())
		if p.agent {
			// As with the code: the link is for the owner. An agent that
			// had it could have someone else sign in at it and ask the
			// owner to paste where that landed.
			ev.URL = ""
		}
		p.event(ev)
	case st.Already:
		p.event(cli.SignedInEvent(st.Session, "already_signed_in", st.Entry))
	case st.Entry != nil:
		p.event(cli.SignedInEvent(st.Session, "signed_in", st.Entry))
	}
}

func (p *progress) event(ev cli.Event) {
	if p.json {
		json.NewEncoder(p.w).Encode(ev)
		return
	}
	switch ev.Event {
	case "code":
		fmt.Fprintf(p.w, "tgauth: sent the sign-in link and code to Telegram (profile %s); the code expires at %s\n", ev.Profile, ev.ExpiresAt.Format("15:04:05 UTC"))
	case "authorize":
		fmt.Fprintf(p.w, "tgauth: sent the sign-in link to Telegram (profile %s); the owner allows and sends back the address, by %s\n", ev.Profile, ev.ExpiresAt.Format("15:04:05 UTC"))
	case "restart":
		fmt.Fprintf(p.w, "tgauth: the code expired; sent a fresh one (%d of %d), expires at %s\n", ev.Attempt, ev.MaxAttempts, ev.ExpiresAt.Format("15:04:05 UTC"))
	case "signed_in", "already_signed_in":
		verb := "signed in"
		if ev.Event == "already_signed_in" {
			verb = "already signed in"
		}
		line := fmt.Sprintf("tgauth: %s as %s (profile %s, %s)", verb, ev.Account(), ev.Profile, ev.Provider)
		if len(ev.Scopes) > 0 {
			line += "; scopes: " + strings.Join(ev.Scopes, " ")
		}
		if len(ev.ScopesNotGranted) > 0 {
			line += "; not granted: " + strings.Join(ev.ScopesNotGranted, " ")
		}
		if ev.OneOff && ev.AccessExpiresAt != nil {
			line += "; one-off grant, access ends at " + ev.AccessExpiresAt.Format("15:04:05 UTC")
		}
		fmt.Fprintln(p.w, line)
	}
}
