package gate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Question is what the owner is asked when the policy says ask: everything
// that decides what happens, so that what the owner allows is what runs.
// It is also the request that crosses the approval socket
// (internal/approval) from the waiting command to `sidecar serve`.
type Question struct {
	Profile string `json:"profile"`
	Account string `json:"account,omitempty"`
	Action  string `json:"action"` // a Kind
	Via     string `json:"via,omitempty"`

	// api
	Method     string   `json:"method,omitempty"`
	Scheme     string   `json:"scheme,omitempty"` // https, or http (a loopback API)
	Host       string   `json:"host,omitempty"`
	Path       string   `json:"path,omitempty"`  // escaped, without the query
	Query      string   `json:"query,omitempty"` // raw query, shown in full
	Headers    []string `json:"headers,omitempty"`
	BodySize   int      `json:"body_size,omitempty"`
	BodyDigest string   `json:"body_digest,omitempty"`
	Preview    string   `json:"preview,omitempty"` // the body's start, secret-looking values masked

	// token
	Variant string   `json:"variant,omitempty"`
	Scopes  []string `json:"scopes,omitempty"`

	// run: the whole command line
	Command   []string `json:"command,omitempty"`
	WithToken bool     `json:"with_token,omitempty"`

	// Rule is the policy rule that said ask, shown to the owner.
	Rule string `json:"rule,omitempty"`

	// NewAccount, on a signin question, is the account that would take
	// the place of Account: the owner confirms the change or keeps the
	// old sign-in ([Gate.ConfirmAccount]).
	NewAccount string `json:"new_account,omitempty"`
}

// Answer is the owner's answer to a Question.
type Answer struct {
	Allow bool `json:"allow"`
	// Until is zero for this request only; set, requests of the same grant
	// scope are allowed without asking until then.
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason"`
	// Binding is the [Question.Binding] of the question answered: an
	// Allow counts only for the request that was asked about.
	Binding string `json:"binding,omitempty"`
}

// Reasons an Answer carries. They are stable words: the audit log and the
// commands' messages use them.
const (
	ReasonAllowOnce    = "allow_once"    // the owner tapped Allow once
	ReasonAllow1h      = "allow_1h"      // the owner tapped Allow for 1 hour
	ReasonGrant        = "grant"         // an earlier Allow for 1 hour still covers this request
	ReasonDeny         = "deny"          // the owner tapped Deny
	ReasonTimeout      = "timeout"       // no answer within the server's timeout
	ReasonServeStopped = "serve_stopped" // serve stopped or restarted while the request waited
	ReasonUnavailable  = "unavailable"   // serve could not put the request to the owner (Telegram down)
	ReasonInvalid      = "invalid"       // serve refused the request as malformed
	ReasonNoListener   = "no_listener"   // nobody listens for approvals
)

// Limits on a Question. A Question is small: more is not one of ours.
const (
	MaxPreview = 1024 // bytes of body shown
	// MaxPreviewText bounds the preview as sent: masking may lengthen
	// the shown bytes ("" becomes "[masked]"), and the count of bytes not
	// shown follows them.
	MaxPreviewText = 2 * MaxPreview
	MaxCommandArgs = 64
	MaxHeaders     = 32
	maxField       = 2048
	maxArg         = 512
)

// Validate reports what is wrong with a question, naming the field.
func (q *Question) Validate() error {
	switch Kind(q.Action) {
	case API:
		if q.Method == "" || q.Host == "" {
			return errors.New("approval: an api request needs method and host")
		}
	case Token, SignIn, Logout:
	case Run:
		if len(q.Command) == 0 {
			return errors.New("approval: a run request needs the command")
		}
	default:
		return fmt.Errorf("approval: unknown action %q (want api, token, run, signin or logout)", q.Action)
	}
	if q.Profile == "" {
		return errors.New("approval: the request names no profile")
	}
	if len(q.Preview) > MaxPreviewText {
		return fmt.Errorf("approval: preview is %d bytes (at most %d)", len(q.Preview), MaxPreviewText)
	}
	if len(q.Command) > MaxCommandArgs {
		return fmt.Errorf("approval: command has %d arguments (at most %d)", len(q.Command), MaxCommandArgs)
	}
	if len(q.Headers) > MaxHeaders {
		return fmt.Errorf("approval: %d headers (at most %d)", len(q.Headers), MaxHeaders)
	}
	fields := map[string]string{"profile": q.Profile, "account": q.Account, "new_account": q.NewAccount, "method": q.Method, "scheme": q.Scheme, "host": q.Host,
		"path": q.Path, "query": q.Query, "rule": q.Rule, "via": q.Via, "variant": q.Variant, "body_digest": q.BodyDigest}
	for i, h := range q.Headers {
		fields[fmt.Sprintf("headers[%d]", i)] = h
	}
	for i, s := range q.Scopes {
		fields[fmt.Sprintf("scopes[%d]", i)] = s
	}
	for name, v := range fields {
		if len(v) > maxField {
			return fmt.Errorf("approval: %s is %d bytes (at most %d)", name, len(v), maxField)
		}
	}
	if q.BodySize < 0 {
		return errors.New("approval: negative body size")
	}
	return nil
}

// Question is what the owner is asked about a, under rule.
func (a *Action) Question(rule string) Question {
	q := Question{Profile: a.Profile, Action: string(a.Kind), Via: a.Via, Rule: clip(rule, maxField)}
	switch a.Kind {
	case API:
		u := a.url()
		q.Scheme = u.Scheme
		q.Method, q.Host, q.Path, q.Query = a.Method, u.Host, clip(u.EscapedPath(), maxField), clip(u.RawQuery, maxField)
		q.Headers = a.shownHeaders()
		if len(q.Headers) > MaxHeaders {
			q.Headers = append(q.Headers[:MaxHeaders-1], fmt.Sprintf("… %d more headers", len(q.Headers)-MaxHeaders+1))
		}
		for i, h := range q.Headers {
			q.Headers[i] = clip(h, maxField)
		}
		q.BodySize, q.BodyDigest, q.Preview = len(a.Body), a.BodyDigest(), Preview(a.Body)
	case Token:
		q.Variant, q.Scopes = a.Variant, a.Scopes
		if q.Variant == "" {
			q.Variant = VariantAccess
		}
	case Run:
		q.Command, q.WithToken = clipArgs(a.Argv), a.WithToken
	case SignIn, Logout:
		q.Command = clipArgs(a.Argv)
	}
	return q
}

// clip bounds s to n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// clipArgs bounds a command line for a question, saying what was cut.
// The arguments are shown whole up to maxArg bytes each: the flags decide
// what the tool does.
func clipArgs(argv []string) []string {
	out := make([]string, 0, min(len(argv), MaxCommandArgs))
	for i, a := range argv {
		if i == MaxCommandArgs-1 && len(argv) > MaxCommandArgs {
			out = append(out, fmt.Sprintf("… %d more arguments", len(argv)-i))
			break
		}
		if len(a) > maxArg {
			a = clip(a, maxArg) + fmt.Sprintf(" (%d bytes)", len(a))
		}
		out = append(out, strings.ToValidUTF8(a, "?"))
	}
	return out
}

// secretMember matches a JSON string member, or a form field, whose name
// says it is secret.
var secretMember = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)("[^"]*(?:pass|secret|token|key|auth|credential|cookie)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"` +
		`|(\b[\w.-]*(?:pass|secret|token|key|auth|credential|cookie)[\w.-]*=)[^&\s]+`)
})

// secretValue matches what a credential looks like: a JWT, the bearer and
// basic schemes with their credentials, prefixed tokens (GitHub, Slack,
// Google), and a run of 32 or more characters of the base64 alphabet that
// holds no '/' or '.': so that a URL is never masked (its path segments
// and host names are what the owner must see), while a key is.
var secretValue = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(
		`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*` +
			`|(?i:bearer|basic|token)\s+[A-Za-z0-9_.~+/=-]{8,}` +
			`|\b(?:gh[pousr]_|github_pat_|xox[abprs]-|ya29\.)[A-Za-z0-9_.-]+` +
			`|[A-Za-z0-9_+=-]{32,}`)
})

// urlish matches URLs, which are shown as they are.
var urlish = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>]+`)
})

// MaskSecrets masks secret-looking values in s and leaves URLs whole.
func MaskSecrets(s string) string {
	if s == "" {
		return s
	}
	s = secretMember().ReplaceAllStringFunc(s, func(m string) string {
		sub := secretMember().FindStringSubmatch(m)
		if sub[1] != "" {
			return sub[1] + `"[masked]"`
		}
		return sub[2] + "[masked]"
	})
	var b strings.Builder
	last := 0
	for _, loc := range urlish().FindAllStringIndex(s, -1) {
		b.WriteString(secretValue().ReplaceAllString(s[last:loc[0]], "[masked]"))
		b.WriteString(s[loc[0]:loc[1]])
		last = loc[1]
	}
	b.WriteString(secretValue().ReplaceAllString(s[last:], "[masked]"))
	return b.String()
}

func maskHeader(name, v string) string {
	n := strings.ToLower(name)
	for _, w := range []string{"token", "secret", "key", "auth", "cookie", "credential", "pass"} {
		if strings.Contains(n, w) {
			return "[masked]"
		}
	}
	return MaskSecrets(v)
}

// Preview is the start of a request body for the owner: up to MaxPreview
// bytes of text, secret-looking values masked, then "N more bytes not
// shown". A body that is not text is described by its size only.
func Preview(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	b := body
	if len(b) > MaxPreview {
		b = b[:MaxPreview]
	}
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1] // a rune cut at the end
	}
	if len(b) == 0 || !utf8.Valid(b) || strings.ContainsRune(string(b), 0) {
		return fmt.Sprintf("(%d bytes, not text)", len(body))
	}
	s := clip(MaskSecrets(string(b)), MaxPreviewText-64)
	if rest := len(body) - len(b); rest > 0 {
		s += fmt.Sprintf("\n… %d more bytes not shown", rest)
	}
	return s
}
