package cli

import (
	"time"

	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Event is one line of `sidecar login --json` and `tgauth --json`: the
// progress of a sign-in, for an agent to follow. It never holds a token or
// the device code. The shape is the command line's contract with agents,
// so it lives here, with the other output, not in session.
type Event struct {
	Event string `json:"event"` // code, restart, authorize, signed_in, already_signed_in, error

	Profile  string `json:"profile,omitempty"`
	Provider string `json:"provider,omitempty"`

	// code and restart
	UserCode                string     `json:"user_code,omitempty"`
	VerificationURI         string     `json:"verification_uri,omitempty"`
	VerificationURIComplete string     `json:"verification_uri_complete,omitempty"`
	ExpiresAt               *time.Time `json:"expires_at,omitempty"`
	Attempt                 int        `json:"attempt,omitempty"`
	MaxAttempts             int        `json:"max_attempts,omitempty"`

	// authorize (the code flow): the link to open, the redirect address
	// whose full address (with code and state) is then pasted, and the
	// seconds left to do it.
	URL         string `json:"url,omitempty"`
	RedirectURI string `json:"redirect_uri,omitempty"`
	ExpiresIn   int    `json:"expires_in,omitempty"`

	// signed_in
	Name             string   `json:"name,omitempty"`
	Email            string   `json:"email,omitempty"`
	Subject          string   `json:"subject,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
	ScopesNotGranted []string `json:"scopes_not_granted,omitempty"`
	// OneOff: no refresh token is kept; access ends at AccessExpiresAt.
	OneOff          bool       `json:"one_off,omitempty"`
	AccessExpiresAt *time.Time `json:"access_expires_at,omitempty"`

	// error
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Account is who the event names.
func (ev Event) Account() tokencache.Account {
	return tokencache.Account{Name: ev.Name, Email: ev.Email, Subject: ev.Subject}
}

// CodeEvent describes a fresh code: "code" for the first, "restart" for a
// new one after an expiry.
func CodeEvent(s *session.Session, c deviceflow.Code) Event {
	ev := Event{
		Event: "code", Profile: s.Profile, Provider: s.Provider.Kind,
		UserCode: c.UserCode, VerificationURI: c.VerificationURI,
		VerificationURIComplete: c.VerificationURIComplete,
		Attempt:                 c.Attempt, MaxAttempts: c.MaxAttempts,
	}
	t := c.ExpiresAt.UTC().Truncate(time.Second)
	ev.ExpiresAt = &t
	if c.Attempt > 0 {
		ev.Event = "restart"
	}
	return ev
}

// AuthorizeEvent describes the link of a code-flow sign-in at now.
func AuthorizeEvent(s *session.Session, l codeflow.Link, now time.Time) Event {
	t := l.ExpiresAt.UTC().Truncate(time.Second)
	return Event{
		Event: "authorize", Profile: s.Profile, Provider: s.Provider.Kind,
		URL: l.URL, RedirectURI: l.RedirectURI, ExpiresIn: int(l.ExpiresAt.Sub(now).Seconds()), ExpiresAt: &t,
	}
}

// SignedInEvent describes a completed (or existing) sign-in.
func SignedInEvent(s *session.Session, kind string, e *tokencache.Entry) Event {
	ev := Event{
		Event: kind, Profile: s.Profile, Provider: s.Provider.Kind,
		Name: e.Account.Name, Email: e.Account.Email, Subject: e.Account.Subject,
		Scopes:           e.ScopesGranted,
		ScopesNotGranted: s.NotGranted(e),
		OneOff:           e.OneOff,
	}
	if e.OneOff && !e.Expiry.IsZero() {
		t := e.Expiry.UTC()
		ev.AccessExpiresAt = &t
	}
	return ev
}

// ErrorEvent describes a failure with its exit code.
func ErrorEvent(err error) Event {
	return Event{Event: "error", Code: Code(err), Message: err.Error()}
}
