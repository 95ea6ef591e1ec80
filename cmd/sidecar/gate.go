package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/session"
)

// gate applies the profile's policy to what the agent wants (token, run,
// api) before anything is refreshed or sent, and on "ask" puts it to the
// owner through serve (internal/approval). It returns the decision word for
// the audit line: "owner" for the owner's own commands (the policy binds
// the agent only), "allow" for a rule, or the owner's answer ("allow_once",
// "allow_1h", "grant"). A refusal is a *policy.Refused (exit 8); it is in
// the audit log before gate returns. An agent over the rate limit
// (audit.ErrRateLimited, exit 8 too) is refused before the policy is
// read.
func gate(ctx context.Context, s *session.Session, req policy.Request, ask approval.Request, ev audit.Event) (string, error) {
	if s.Caller != audit.CallerAgent {
		return "owner", nil
	}
	what := describe(req, ask)
	// The rate limit comes first, before the policy: a flood of refused
	// requests would fill the log as well as a flood of allowed ones. Its
	// refusal is in the log already (once a burst); no line here.
	if s.Audit != nil {
		ev.Profile, ev.Caller = s.Profile, s.Caller
		if err := s.Audit.Admit(ev); err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
	}
	v := s.Policy.Decide(req)
	switch v.Decision {
	case policy.Allow:
		return "allow", nil
	case policy.Deny:
		ev.Decision, ev.Detail = "deny", "policy: "+v.Rule
		_ = s.Record(ev)
		return "", &policy.Refused{Action: what, Reason: "policy", Rule: v.Rule}
	}
	ask.Profile, ask.Rule = s.Profile, v.Rule
	if e, err := s.Load(); err == nil {
		ask.Account = e.Account.Email
		if ask.Account == "" {
			ask.Account = e.Account.Name
		}
	}
	d, err := approval.Ask(ctx, approval.SocketPath(s.Store.Dir()), ask)
	reason := d.Reason
	switch {
	case errors.Is(err, approval.ErrNoListener):
		reason = approval.ReasonNoListener
	case err != nil && reason == "":
		reason = "error"
	case err == nil && reason == "" && d.Allow:
		reason = "allow"
	case err == nil && reason == "":
		reason = approval.ReasonDeny
	}
	ap := ev
	ap.Action, ap.Decision, ap.Detail = audit.ActionApproval, reason, "for "+ev.Action+"; rule: "+v.Rule
	_ = s.Record(ap)
	if err == nil && d.Allow {
		return reason, nil
	}
	ev.Decision, ev.Detail = "deny", "not approved: "+reason
	_ = s.Record(ev)
	return "", &policy.Refused{Action: what, Reason: reason, Rule: v.Rule}
}

// describe names a request in a refusal message.
func describe(req policy.Request, ask approval.Request) string {
	switch req.Action {
	case policy.ActionAPI:
		return req.Method + " " + ask.Host + req.Path
	case policy.ActionRun:
		return "sidecar run " + req.Program
	}
	return "sidecar " + req.Action
}

// record appends what a command did to the audit log, and warns when the
// log cannot be written: the owner should know the log has a hole.
func record(s *session.Session, ev audit.Event, stderr io.Writer) {
	if err := s.Record(ev); err != nil {
		fmt.Fprintf(stderr, "%s: warning: %v\n", prog.Name, err)
	}
}

// runCommand is what the audit log keeps of a `sidecar run` command line:
// the program and its first word when that is a subcommand ("gh pr"),
// never the other arguments (they may hold values the owner's data).
func runCommand(argv []string) string {
	c := argv[0]
	if len(argv) > 1 && argv[1] != "" && !strings.HasPrefix(argv[1], "-") && len(argv[1]) <= 32 {
		c += " " + argv[1]
	}
	return c
}

// maxPreview bounds the body preview the owner sees in an approval.
const maxPreview = 300

// secretField matches a JSON string member whose name says it is secret.
// Compiled on first use, not when sidecar starts.
var secretField = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)("[^"]*(?:pass|secret|token|key|auth|credential|cookie)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"`)
})

// preview is the start of a request body for the owner's approval message,
// with secret-looking values masked; "" for a body that is not text.
func preview(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	b := body
	if len(b) > 4*maxPreview {
		b = b[:4*maxPreview]
	}
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1] // a rune cut at the end
	}
	if len(b) == 0 || !utf8.Valid(b) || strings.ContainsRune(string(b), 0) {
		return ""
	}
	s := secretField().ReplaceAllString(string(b), `$1"[masked]"`)
	s = audit.Mask(s)
	if len(s) > maxPreview {
		cut := maxPreview
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
