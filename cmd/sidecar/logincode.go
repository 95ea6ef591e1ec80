package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/qrcode"
	"github.com/devicegate/devicegate/internal/session"
)

// pastePrompt asks for the address on a terminal.
const pastePrompt = "Paste the address your browser shows after you allow:"

// codeLogin is the code flow's side of `sidecar login` (OAUTH_FLOW=code or
// --flow code): it shows the link (and a QR code on a TTY), or in --json
// mode prints an authorize event; addresses pasted on stdin (one per
// line) and, where the redirect is a loopback address here, the browser's
// own redirect (as gcloud and az do) finish it. It returns the context the
// sign-in runs in, and done, which turns the sign-in's error into the one
// to report: in --json mode one line is all there is, so a paste that does
// not count ends the sign-in with why.
func codeLogin(ctx context.Context, s *session.Session, opts *session.LoginOptions, stdin io.Reader, out *terminal, enc *json.Encoder, asJSON bool) (context.Context, func(error) error) {
	ctx, cancel := context.WithCancelCause(ctx)
	pastes := make(chan codeflow.Paste)
	// Listen where the browser will be sent when it runs here. Not being
	// able to (the port is taken) is no failure: pasting still works.
	redirect := s.Provider.Redirect()
	listening := false
	if u, err := url.Parse(redirect); err == nil && u.Scheme == "http" {
		if ln, full, err := codeflow.Listen(redirect); err == nil {
			opts.RedirectURI, listening = full, true
			go codeflow.ServeRedirects(ctx, ln, full, pastes)
		} else if !asJSON {
			out.note(fmt.Sprintf("not listening for the browser here (%v): paste the address instead", err))
		}
	}
	reply := func(err error) {
		if asJSON {
			cancel(err)
			return
		}
		out.note(fmt.Sprintf("%s: %v\n%s", prog.Name, err, pastePrompt))
	}
	go readPastes(ctx, stdin, pastes, reply)
	opts.Authorize = func(_ context.Context, l codeflow.Link) (<-chan codeflow.Paste, error) {
		if asJSON {
			return pastes, enc.Encode(cli.AuthorizeEvent(s, l, time.Now()))
		}
		out.showLink(s.Provider.Kind, s.Profile, l, listening)
		return pastes, nil
	}
	return ctx, func(err error) error {
		cause := context.Cause(ctx)
		cancel(nil)
		if err != nil && errors.Is(cause, codeflow.ErrPaste) {
			return cause
		}
		return err
	}
}

// readPastes sends every non-empty line of stdin as a paste until ctx ends
// or stdin does (then the loopback redirect, or expiry, ends the wait).
func readPastes(ctx context.Context, stdin io.Reader, pastes chan<- codeflow.Paste, reply func(error)) {
	if stdin == nil {
		return
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 4096), codeflow.MaxPaste+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		select {
		case pastes <- codeflow.Paste{Text: line, Reply: reply}:
		case <-ctx.Done():
			return
		}
	}
}

// showLink prints the code flow's link for a person at a terminal.
func (t *terminal) showLink(kind, profile string, l codeflow.Link, listening bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "To sign in to %s (profile %s), open this link in a browser and allow:\n\n  %s\n\n", kind, profile, l.URL)
	if t.tty {
		if q, err := qrcode.Terminal(l.URL); err == nil {
			fmt.Fprintf(t.w, "Or scan this with your phone:\n\n%s\n", q)
		}
	}
	fmt.Fprintf(t.w, "After you allow, your browser goes to an address beginning with %s.\n", l.RedirectURI)
	if listening {
		fmt.Fprintln(t.w, "If your browser can load that address itself (the same machine, not across a container or SSH), the sign-in finishes by itself.")
	}
	fmt.Fprintf(t.w, "On another device (a phone) that page cannot load: copy its whole address.\nThe link expires at %s.\n\n%s\n", l.ExpiresAt.UTC().Format("15:04:05 UTC"), pastePrompt)
}
