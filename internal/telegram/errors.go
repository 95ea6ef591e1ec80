package telegram

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Outcomes a caller branches on, with errors.Is.
var (
	// ErrUnauthorized: Telegram refused the bot token (401, or 404 on getMe,
	// which is what a malformed token gets). Ask for a new token.
	ErrUnauthorized = errors.New("bot token refused")

	// ErrConflict: another process is reading this bot's updates (409 on
	// getUpdates), or a webhook is set. Only one getUpdates consumer can run.
	ErrConflict = errors.New("another instance is polling this bot's updates")

	// ErrButtonURL: Telegram refused the URL of an inline button (it wants
	// http or https with a dotted host, so not http://localhost). Send the
	// link in the text instead.
	ErrButtonURL = errors.New("telegram refused the button URL")

	// ErrUnreachable: the Bot API could not be reached (network failure,
	// timeouts) even after retries.
	ErrUnreachable = errors.New("bot API unreachable")
)

// Error is an error answer of the Bot API ("ok": false), or an HTTP error
// status without one.
//
// errors.Is(err, ErrUnauthorized), ErrConflict and ErrButtonURL hold for the
// matching answers.
type Error struct {
	Method      string        // the Bot API method, e.g. "sendMessage"
	Code        int           // error_code, or the HTTP status when the body had none
	Description string        // Telegram's description, e.g. "Bad Request: chat not found"
	RetryAfter  time.Duration // parameters.retry_after, for 429

	api bool // the answer was a Bot API envelope, not just an HTTP status
}

func (e *Error) Error() string {
	s := fmt.Sprintf("telegram: %s: %d %s", e.Method, e.Code, e.Description)
	if e.RetryAfter > 0 && !strings.Contains(e.Description, "retry after") {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Unwrap returns the sentinel error for the answer, if there is one.
func (e *Error) Unwrap() error {
	switch {
	case e.Code == http.StatusUnauthorized, e.Code == http.StatusNotFound && e.Method == "getMe" && e.api:
		return ErrUnauthorized
	case e.Code == http.StatusConflict:
		return ErrConflict
	case e.Code == http.StatusBadRequest && (strings.Contains(e.Description, "inline keyboard button URL") || strings.Contains(e.Description, "BUTTON_URL_INVALID")):
		return ErrButtonURL
	}
	return nil
}

// notModified reports Telegram's answer to an edit that changes nothing.
func notModified(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == http.StatusBadRequest && strings.Contains(e.Description, "message is not modified")
}

// redactor removes the bot token from everything that leaves the package.
// The token is part of every request URL, so network errors (*url.Error)
// carry it.
type redactor struct {
	secrets []string // the token and its escaped forms
}

const redacted = "<redacted>"

func newRedactor(token string) redactor {
	if token == "" {
		return redactor{}
	}
	s := []string{token}
	for _, v := range []string{url.PathEscape(token), url.QueryEscape(token)} {
		if v != token {
			s = append(s, v)
		}
	}
	return redactor{secrets: s}
}

func (r redactor) string(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}

func (r redactor) contains(s string) bool {
	for _, secret := range r.secrets {
		if strings.Contains(s, secret) {
			return true
		}
	}
	return false
}

// error returns err with the token removed from its message and from the
// errors it wraps, keeping what errors.Is and errors.As need: a *url.Error
// is rebuilt with a redacted URL; *Error gets a redacted description; any
// other error mentioning the token is replaced by one with the same message
// redacted, wrapping the redacted cause.
func (r redactor) error(err error) error {
	if err == nil || len(r.secrets) == 0 {
		return err
	}
	switch e := err.(type) {
	case *url.Error:
		return &url.Error{Op: e.Op, URL: r.string(e.URL), Err: r.error(e.Err)}
	case *Error:
		c := *e
		c.Description = r.string(e.Description)
		return &c
	case *redactedError:
		return e
	}
	if !r.contains(err.Error()) && !r.chainContains(err) {
		return err
	}
	var causes []error
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		causes = []error{u.Unwrap()}
	case interface{ Unwrap() []error }:
		causes = u.Unwrap()
	}
	re := &redactedError{msg: r.string(err.Error())}
	for _, c := range causes {
		if c != nil {
			re.causes = append(re.causes, r.error(c))
		}
	}
	return re
}

// chainContains looks for the token in the URLs of wrapped *url.Errors,
// whose messages may not show them.
func (r redactor) chainContains(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) && r.contains(ue.URL)
}

// redactedError stands in for an error whose message held the token.
type redactedError struct {
	msg    string
	causes []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.causes }
