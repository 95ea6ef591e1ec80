package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/qrcode"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const loginUsage = `usage: sidecar login [--profile P] [--flow device|code] [--force] [--once] [--json]

Signs in with a device code: open the URL on any device, enter the code,
and approve. With --flow code (or OAUTH_FLOW=code), the authorization code
flow instead: open the link, allow, and paste the address your browser then
shows (on this machine's browser it finishes by itself). Already signed
in, it says as whom and stops; --force signs in again. With --once, a
one-off grant: no refresh token is kept, so access ends when the access
token expires. With --json, prints one JSON event per line. Ctrl-C, or the
terminal or docker exec client going away, cancels it (exit 130).`

func login(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("login", stderr, loginUsage)
	profile := fs.String("profile", "", "profile to sign in")
	asJSON := fs.Bool("json", false, "print JSON events")
	once := fs.Bool("once", false, "a one-off grant: keep no refresh token")
	flow := fs.String("flow", "", "device or code (default: the profile's OAUTH_FLOW)")
	force := fs.Bool("force", false, "sign in again even if signed in")
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("login takes no arguments")
	}
	if *flow != "" && *flow != config.FlowDevice && *flow != config.FlowCode {
		return cli.Usagef("--flow is device or code, not %q", *flow)
	}
	s, err := open(*profile)
	if err == nil && *flow != "" {
		err = s.Provider.UseFlow(*flow)
	}
	if err != nil {
		return emitErr(stdout, *asJSON, err)
	}
	if !*force {
		if e := signedIn(ctx, s); e != nil {
			return already(stdout, *asJSON, s, e)
		}
	}
	// The agent's sign-in is the owner's to allow (policy signin): the
	// code goes to the agent, and whoever enters it chooses the account.
	g := gateFor(s, "")
	act := gate.Action{Kind: gate.SignIn, Argv: append([]string{"sidecar", "login"}, args...)}
	if _, err := g.Check(ctx, act); err != nil {
		return emitErr(stdout, *asJSON, err)
	}
	// The code flow reads the pasted address from stdin, whose end is
	// then expected: only stdout (and a hangup) tell that the client left.
	watchIn := stdin
	if s.Provider.Flow == config.FlowCode {
		watchIn = nil
	}
	ctx, stopWatch := watchClient(ctx, watchIn, stdout)
	defer stopWatch()
	var (
		out      = &terminal{w: stdout, tty: isTTY(stdout)}
		replaced *tokencache.Account
		opts     = session.LoginOptions{OneOff: *once, ConfirmSwitch: confirmSwitch(g, act, &replaced)}
	)
	enc := json.NewEncoder(stdout)
	if *asJSON {
		opts.Display = func(_ context.Context, c deviceflow.Code) error { return enc.Encode(cli.CodeEvent(s, c)) }
	} else {
		opts.Display = func(_ context.Context, c deviceflow.Code) error { out.show(s.Provider.Kind, s.Profile, c); return nil }
		opts.Retrying = func(err error, wait time.Duration) {
			out.note(fmt.Sprintf("provider not answering (%v); retrying in %s", err, wait.Round(time.Second)))
		}
	}
	done := func(err error) error { return err }
	if s.Provider.Flow == config.FlowCode {
		ctx, done = codeLogin(ctx, s, &opts, stdin, out, enc, *asJSON)
	}
	e, err := s.Login(ctx, opts)
	err = done(err)
	out.stop()
	if err != nil {
		return emitErr(stdout, *asJSON, err)
	}
	announce(ctx, s, bridge.Change{Account: e.Account, Replaced: replaced, Command: "sidecar login"}, stderr)
	if *asJSON {
		return enc.Encode(cli.SignedInEvent(s, "signed_in", e))
	}
	fmt.Fprintf(stdout, "Signed in as %s.\n", e.Account)
	fmt.Fprintf(stdout, "Granted scopes: %s\n", strings.Join(e.ScopesGranted, " "))
	if miss := s.NotGranted(e); len(miss) > 0 {
		fmt.Fprintf(stdout, "Not granted: %s\n", strings.Join(miss, " "))
	}
	if e.OneOff {
		fmt.Fprintf(stdout, "One-off grant: access ends at %s; no refresh token is kept.\n", e.Expiry.UTC().Format(time.RFC3339))
	}
	return nil
}

// signedIn returns the profile's sign-in when it is usable (refreshed if
// need be, or still valid when the refresh failed), as tgauth judges it.
func signedIn(ctx context.Context, s *session.Session) *tokencache.Entry {
	e, err := s.Token(ctx, 0)
	var stale *session.StaleError
	if err == nil || errors.As(err, &stale) && e != nil {
		return e
	}
	return nil
}

// already says who is signed in, and how to sign in anew.
func already(stdout io.Writer, asJSON bool, s *session.Session, e *tokencache.Entry) error {
	if asJSON {
		return json.NewEncoder(stdout).Encode(cli.SignedInEvent(s, "already_signed_in", e))
	}
	flag := ""
	if s.Profile != config.DefaultProfile {
		flag = " --profile " + s.Profile
	}
	fmt.Fprintf(stdout, "Already signed in as %s (profile %s).\n", e.Account, s.Profile)
	fmt.Fprintf(stdout, "To sign in again, run `sidecar login%s --force`.\n", flag)
	return nil
}

// emitErr also reports the error as a JSON event in --json mode, so that a
// program reading stdout sees how it ended; the error still goes to stderr.
func emitErr(stdout io.Writer, asJSON bool, err error) error {
	if asJSON {
		_ = json.NewEncoder(stdout).Encode(cli.ErrorEvent(err))
	}
	return err
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminal shows codes to a person at a terminal: a QR code and a live
// countdown on a TTY, plain lines otherwise (logs, pipes, docker exec
// without -t).
type terminal struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	done chan struct{}
	wg   sync.WaitGroup
}

func (t *terminal) show(kind, profile string, c deviceflow.Code) {
	t.stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.Attempt > 0 {
		fmt.Fprintf(t.w, "\nThe code expired; here is a fresh one (%d of %d).\n", c.Attempt, c.MaxAttempts)
	}
	fmt.Fprintf(t.w, "To sign in to %s (profile %s), open:\n\n  %s\n\nand enter the code:  %s\n\n", kind, profile, c.VerificationURI, c.UserCode)
	if c.VerificationURIComplete != "" {
		// The link too on a terminal: a browser on the same machine (the
		// demo's localhost provider) cannot scan the QR code.
		fmt.Fprintf(t.w, "Or open this link, which carries the code: %s\n\n", c.VerificationURIComplete)
		if t.tty {
			if q, err := qrcode.Terminal(c.VerificationURIComplete); err == nil {
				fmt.Fprintf(t.w, "Or scan this with your phone:\n\n%s\n", q)
			}
		}
	}
	left := time.Until(c.ExpiresAt).Round(time.Second)
	if !t.tty {
		fmt.Fprintf(t.w, "The code expires in %s (at %s). Waiting for approval...\n", left, c.ExpiresAt.UTC().Format("15:04:05 UTC"))
		return
	}
	t.done = make(chan struct{})
	t.wg.Add(1)
	go t.countdown(c.ExpiresAt, t.done)
}

func (t *terminal) countdown(at time.Time, done <-chan struct{}) {
	defer t.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		left := max(time.Until(at), 0).Round(time.Second)
		t.mu.Lock()
		fmt.Fprintf(t.w, "\rWaiting for approval... the code expires in %s  ", left)
		t.mu.Unlock()
		select {
		case <-done:
			t.mu.Lock()
			fmt.Fprint(t.w, "\r\033[K")
			t.mu.Unlock()
			return
		case <-tick.C:
		}
	}
}

func (t *terminal) note(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tty {
		fmt.Fprint(t.w, "\r\033[K")
	}
	fmt.Fprintln(t.w, msg)
}

func (t *terminal) stop() {
	if t.done != nil {
		close(t.done)
		t.wg.Wait()
		t.done = nil
	}
}
