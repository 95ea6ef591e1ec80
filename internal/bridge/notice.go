package bridge

import (
	"fmt"
	"strings"

	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Who started a sign-in or sign-out, as the audit log says it
// (audit.CallerAgent, audit.CallerOwner).
const (
	ByAgent = "agent"
	ByOwner = "owner"
)

// Change is a sign-in or a sign-out to announce in the chat: whoever
// started it, the owner hears of it, so that an agent that signs the
// profile out, or in as someone else, is seen at once.
type Change struct {
	Request                      // provider, profile, host; By: who started it
	SignedOut bool               // a sign-out; else a sign-in
	Account   tokencache.Account // who is signed in now, or was until the sign-out
	// Replaced, on a sign-in, is the account it took the place of, when
	// that was another one (confirmed by the owner, or the owner's own).
	Replaced *tokencache.Account
	// Command is what did it: "sidecar login", "sidecar logout --force",
	// "/logout".
	Command string
	// Result, on a sign-out, says what happened at the provider.
	Result string
}

// startedBy says who started what the message is about.
func startedBy(r Request) string {
	switch r.By {
	case ByAgent:
		return "the agent"
	case ByOwner:
		return "you"
	}
	return ""
}

// ChangeMessage announces a sign-in or a sign-out.
func ChangeMessage(c Change) telegram.Message {
	var b strings.Builder
	if c.SignedOut {
		fmt.Fprintf(&b, "🚪 *Signed out of %s*\n", esc(accountLabel(c.Account)))
	} else {
		fmt.Fprintf(&b, "🔑 *Signed in as %s*\n", esc(accountLabel(c.Account)))
	}
	b.WriteString(header(Request{Provider: c.Provider, Profile: c.Profile, Host: c.Host, By: c.By}))
	if c.Command != "" {
		fmt.Fprintf(&b, "Command: %s\n", code(telegram.Truncate(c.Command, 200)))
	}
	if c.Replaced != nil {
		fmt.Fprintf(&b, "In place of: %s\n", esc(accountLabel(*c.Replaced)))
	}
	if c.Result != "" {
		fmt.Fprintf(&b, "%s\n", esc(telegram.Truncate(c.Result, 600)))
	}
	if c.By == ByAgent {
		cmd := "/logout"
		if c.Profile != "" && c.Profile != "default" {
			cmd += " " + c.Profile
		}
		if c.SignedOut {
			fmt.Fprintf(&b, "\n_Not what you wanted? Send %s to sign in again, and check what the agent was asked to do\\._", esc(strings.Replace(cmd, "/logout", "/auth", 1)))
		} else {
			fmt.Fprintf(&b, "\n_Not what you wanted? Send %s to end this sign\\-in\\._", esc(cmd))
		}
	}
	return telegram.Message{Text: strings.TrimRight(b.String(), "\n")}
}

// accountLabel names an account so that two accounts never read alike:
// the name and email, and the subject when the name does not show it (a
// display name is the account holder's to choose).
func accountLabel(a tokencache.Account) string {
	s := a.String()
	if a.Subject != "" && !strings.Contains(s, a.Subject) {
		s += " · id " + a.Subject
	}
	return s
}

// AccountLabel is accountLabel for the commands that ask the owner to
// confirm a change of account (gate.ConfirmAccount).
func AccountLabel(a tokencache.Account) string { return accountLabel(a) }

// LogoutResult says what a sign-out did at the provider, for a Change.
func LogoutResult(r session.LogoutResult, kind string) string {
	switch r {
	case session.Revoked:
		return "The provider revoked the tokens; the cache is deleted."
	case session.NotRevocable:
		return "The cache is deleted; " + provider.Title(kind) + " offers no revocation, so the grant may still be listed in the account's settings."
	case session.Forgotten:
		return "The cache is deleted without revocation at the provider (--force)."
	}
	return ""
}
