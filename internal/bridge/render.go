package bridge

import (
	"fmt"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Request says who is asking, so the person can recognise a sign-in
// request they did not start.
type Request struct {
	Provider string   // preset name, e.g. github
	Profile  string   // profile name
	Host     string   // host or container asking
	Scopes   []string // requested scopes
	OneOff   bool     // a one-off grant: no refresh token will be kept
	Access   string   // what is granted when scopes do not say (AWS: the account and role)
	By       string   // who started it: ByAgent or ByOwner; "" says nothing
	// Asked is when the sign-in was asked for: with Host and Profile, what
	// lets the person tell their own request from a phishing one
	// (Storm-2372 sends device codes nobody asked for).
	Asked time.Time
}

var esc = telegram.Escape

func code(s string) string { return "`" + telegram.EscapeCode(s) + "`" }

// header is the part of every message that says what is asking.
func header(r Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* account · profile %s\n", esc(provider.Title(r.Provider)), code(r.Profile))
	switch who := startedBy(r); {
	case who != "" && r.Host != "":
		fmt.Fprintf(&b, "Started by %s on %s\n", esc(who), code(r.Host))
	case who != "":
		fmt.Fprintf(&b, "Started by %s\n", esc(who))
	case r.Host != "":
		fmt.Fprintf(&b, "Requested by %s\n", code(r.Host))
	}
	if len(r.Scopes) > 0 {
		fmt.Fprintf(&b, "Scopes: %s\n", esc(telegram.Truncate(strings.Join(r.Scopes, " "), 600)))
	}
	if r.Access != "" {
		fmt.Fprintf(&b, "Access: %s\n", esc(r.Access))
	}
	if !r.Asked.IsZero() {
		fmt.Fprintf(&b, "Asked at %s\n", esc(r.Asked.UTC().Format("15:04 UTC, 2 Jan")))
	}
	return b.String()
}

// left renders the time left on a code coarsely, so that a refresh every
// 30 s changes the text only when the person would notice.
func left(d time.Duration) string {
	switch {
	case d <= 0:
		return "expired"
	case d < time.Minute:
		return "less than a minute"
	case d < 2*time.Minute:
		return "about 1 minute"
	}
	return fmt.Sprintf("about %d minutes", int((d+30*time.Second)/time.Minute))
}

// CodeMessage is the sign-in message: what asks, where to go, the code,
// the time left. linkInText is set when Telegram refused the URL button.
func CodeMessage(r Request, c deviceflow.Code, now time.Time, linkInText bool) telegram.Message {
	var b strings.Builder
	b.WriteString("🔐 *Sign\\-in request*\n")
	b.WriteString(header(r))
	b.WriteString("\n")
	if c.Attempt > 0 {
		fmt.Fprintf(&b, "The previous code expired; this is a fresh one \\(%d of %d\\)\\.\n\n", c.Attempt, c.MaxAttempts)
	}
	target := c.VerificationURI
	if c.VerificationURIComplete != "" {
		target = c.VerificationURIComplete
	}
	if linkInText {
		fmt.Fprintf(&b, "1\\. Open %s\n", esc(target))
	} else {
		b.WriteString("1\\. Tap *Open sign\\-in page* below\n")
	}
	fmt.Fprintf(&b, "2\\. Enter the code %s \\(tap it to copy\\)\n", code(c.UserCode))
	b.WriteString("3\\. Sign in and approve\n\n")
	if r.OneOff {
		b.WriteString("⏱ One\\-off grant: access ends when the access token expires; no refresh token will be kept\\.\n")
	}
	fmt.Fprintf(&b, "⏳ Expires in %s \\(%s\\)\n", esc(left(c.ExpiresAt.Sub(now))), esc(c.ExpiresAt.UTC().Format("15:04 UTC")))
	b.WriteString("_Did not ask for this? Ignore it: nothing is granted without the code\\._")
	m := telegram.Message{Text: b.String()}
	if !linkInText {
		m.Buttons = []telegram.Button{{Text: "Open sign-in page", URL: target}}
	}
	return m
}

// Granted is what a sign-in gave: who, and which scopes.
type Granted struct {
	Account    tokencache.Account
	Scopes     []string // granted
	NotGranted []string // requested but not granted
	// OneOff: no refresh token is kept; access ends at AccessExpiresAt.
	OneOff          bool
	AccessExpiresAt time.Time
}

// SignedInMessage replaces the code once the person signed in.
func SignedInMessage(r Request, ev Granted) telegram.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "✅ *Signed in as %s*\n", esc(ev.Account.String()))
	b.WriteString(header(Request{Provider: r.Provider, Profile: r.Profile, Host: r.Host, By: r.By}))
	if len(ev.Scopes) > 0 {
		fmt.Fprintf(&b, "Granted: %s\n", esc(telegram.Truncate(strings.Join(ev.Scopes, " "), 600)))
	}
	if len(ev.NotGranted) > 0 {
		fmt.Fprintf(&b, "Not granted: %s\n", esc(strings.Join(ev.NotGranted, " ")))
	}
	b.WriteString(oneOffLine(ev))
	return telegram.Message{Text: strings.TrimRight(b.String(), "\n")}
}

// oneOffLine tells the person that a grant ends on its own.
func oneOffLine(ev Granted) string {
	if !ev.OneOff {
		return ""
	}
	if ev.AccessExpiresAt.IsZero() {
		return "⏱ One\\-off grant: no refresh token is kept\\.\n"
	}
	return fmt.Sprintf("⏱ One\\-off grant: access ends at %s; no refresh token is kept\\.\n",
		esc(ev.AccessExpiresAt.UTC().Format("15:04 UTC, 2 Jan")))
}

// AlreadyMessage answers a request when a usable sign-in exists.
func AlreadyMessage(r Request, ev Granted) telegram.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "✅ Already signed in as *%s*\n", esc(ev.Account.String()))
	b.WriteString(header(Request{Provider: r.Provider, Profile: r.Profile, Host: r.Host, By: r.By}))
	b.WriteString(oneOffLine(ev))
	b.WriteString("To sign in again anyway, run `tgauth \\-\\-force`\\.")
	return telegram.Message{Text: b.String()}
}

// Outcome messages for a sign-in that did not complete.
const (
	Declined = "declined"
	Expired  = "expired"
	Failed   = "failed"
	// Kept: the sign-in named another account and the owner did not
	// confirm the change (or could not be asked); the old one stays.
	Kept = "kept"
)

// EndMessage replaces the code when the sign-in did not complete, and says
// what to do.
func EndMessage(r Request, outcome, detail string) telegram.Message {
	var b strings.Builder
	switch outcome {
	case Declined:
		b.WriteString("❌ *Sign\\-in declined*\n")
	case Expired:
		b.WriteString("⌛ *Sign\\-in code expired*\n")
	case Kept:
		b.WriteString("🛑 *Sign\\-in not used: the account was not confirmed*\n")
	default:
		b.WriteString("⚠️ *Sign\\-in failed*\n")
	}
	b.WriteString(header(Request{Provider: r.Provider, Profile: r.Profile, Host: r.Host, By: r.By}))
	if detail != "" {
		fmt.Fprintf(&b, "\n%s\n", esc(telegram.Truncate(detail, 1500)))
	}
	switch outcome {
	case Declined:
		b.WriteString("\nNothing was granted\\. Send /auth when you want to allow it\\.")
	case Kept:
		b.WriteString("\nThe profile keeps its current account\\.")
	default:
		b.WriteString("\nSend /auth to start again\\.")
	}
	return telegram.Message{Text: b.String()}
}

// SignInNeededMessage is what `sidecar serve` sends, once, when a profile
// can no longer refresh its token.
func SignInNeededMessage(r Request, reason string) telegram.Message {
	var b strings.Builder
	b.WriteString("🔑 *Sign\\-in needed*\n")
	b.WriteString(header(Request{Provider: r.Provider, Profile: r.Profile, Host: r.Host, By: r.By}))
	if reason != "" {
		fmt.Fprintf(&b, "\n%s\n", esc(telegram.Truncate(reason, 1000)))
	}
	cmd := "/auth"
	if r.Profile != "" && r.Profile != "default" {
		cmd += " " + r.Profile
	}
	fmt.Fprintf(&b, "\nSend %s to sign in again\\.", esc(cmd))
	return telegram.Message{Text: b.String()}
}
