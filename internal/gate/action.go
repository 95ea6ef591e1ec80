// Package gate is the one place that judges what the agent asks to do with
// the owner's sign-ins: `sidecar api`, `token` and `run`, each request a
// tool makes through `sidecar run`'s proxy, and signing in and out.
//
// An [Action] describes the request once. From it the gate derives the
// policy request (internal/policy), the question the owner sees when the
// policy says ask ([Question], carried to `sidecar serve` by
// internal/approval) and the audit line (internal/audit). [Gate.Check] is
// called by every command before anything is refreshed, sent or started.
//
// The package does no I/O of its own beyond the audit log it is handed:
// the owner is reached through an [Asker] (the approval socket client in
// production), so the rules are testable without a network.
package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/policy"
)

// Kind is what sort of thing the agent asks for.
type Kind string

// Kinds of action. The words are those of the policy rules and the audit
// log.
const (
	API    Kind = "api"    // an HTTP request to the provider's API (sidecar api, or a tool through the proxy)
	Token  Kind = "token"  // the raw token leaves our hands (sidecar token)
	Run    Kind = "run"    // a tool starts (sidecar run)
	SignIn Kind = "signin" // a sign-in (sidecar login, tgauth)
	Logout Kind = "logout" // a sign-out (sidecar logout, tgauth --force)
)

// Token variants.
const (
	VariantAccess = "access"          // the sign-in's own access token
	VariantScoped = "scoped"          // a token for just Scopes (sidecar token --scope)
	VariantAWS    = "aws-credentials" // AWS role credentials
)

// Action is one thing the agent asks for, described once.
type Action struct {
	Kind    Kind
	Profile string // set by the Gate
	API     string // set by the Gate: the profile's API base URL
	// Via names the tool whose request this is, for requests made through
	// `sidecar run`'s proxy ("run gh"); empty for sidecar's own commands.
	Via string

	// API
	Method string              // upper case
	URL    string              // the full URL as sent, query included
	Header map[string][]string // the request's headers, without Authorization
	Body   []byte              // the request body; only its digest, size and a preview leave the gate

	// Token
	Variant string   // VariantAccess, VariantScoped or VariantAWS
	Scopes  []string // VariantScoped: the scopes asked for

	// Run (SignIn, Logout: the command that signs in or out, e.g.
	// sidecar logout --force, shown to the owner)
	Argv      []string // the whole command line
	WithToken bool     // the tool gets the raw token (allow run TOOL with-token)
}

// url parses a.URL; a malformed URL yields an empty one (Check refuses it).
func (a *Action) url() *url.URL {
	u, err := url.Parse(a.URL)
	if err != nil {
		return &url.URL{}
	}
	return u
}

// outside says where u lies against the API's base URL: on another host,
// or on its host but outside its base path (rules match the path as sent,
// so /beta/users is not /v1.0/users, and the defaults never allow either).
// Without a base URL everything is another host's.
func (a *Action) outside(u *url.URL) (otherHost, outsideBase bool) {
	b, err := url.Parse(a.API)
	if err != nil || b.Host == "" {
		return true, false
	}
	if !strings.EqualFold(u.Host, b.Host) || !strings.EqualFold(u.Scheme, b.Scheme) {
		return true, false
	}
	base := strings.TrimSuffix(b.EscapedPath(), "/")
	p := u.EscapedPath()
	inside := base == "" || len(p) >= len(base) && strings.EqualFold(p[:len(base)], base) && (len(p) == len(base) || p[len(base)] == '/')
	return false, !inside
}

// Program is the tool of a Run action, or of the run a proxied request
// came from.
func (a *Action) Program() string {
	if len(a.Argv) > 0 {
		return a.Argv[0]
	}
	if p, ok := strings.CutPrefix(a.Via, "run "); ok {
		return p
	}
	return ""
}

// PolicyRequest is what internal/policy decides on.
func (a *Action) PolicyRequest() policy.Request {
	switch a.Kind {
	case API:
		u := a.url()
		r := policy.Request{Action: policy.ActionAPI, Method: a.Method, Host: u.Host, Path: u.EscapedPath()}
		r.OtherHost, r.OutsideBase = a.outside(u)
		return r
	case Run:
		// A run that hands the tool the raw token is a token export: an
		// explicit token rule stricter than the run rule wins.
		return policy.Request{Action: policy.ActionRun, Program: a.Program(), Export: a.WithToken}
	case Token:
		return policy.Request{Action: policy.ActionToken}
	}
	return policy.Request{Action: string(a.Kind)}
}

// BodyDigest is the SHA-256 of the body, hex: what an approval is bound
// to, so that the body the owner saw is the body that is sent.
func (a *Action) BodyDigest() string {
	if a.Body == nil {
		return ""
	}
	sum := sha256.Sum256(a.Body)
	return hex.EncodeToString(sum[:])
}

// Event is the audit line of the action, before its decision and outcome.
// It keeps what was done, never with what: no body, no query value, no
// header value.
func (a *Action) Event() audit.Event {
	ev := audit.Event{Action: string(a.Kind), Via: a.Via}
	switch a.Kind {
	case API:
		u := a.url()
		ev.Method, ev.Host, ev.Path = a.Method, u.Host, u.EscapedPath()
	case Run:
		ev.Command = runCommand(a.Argv)
		if a.WithToken {
			ev.Detail = "with the raw token"
		}
	case SignIn, Logout:
		ev.Command = strings.Join(clipArgs(a.Argv), " ")
	case Token:
		switch a.Variant {
		case VariantScoped:
			ev.Detail = "scopes: " + strings.Join(a.Scopes, " ")
		case VariantAWS:
			ev.Detail = "aws role credentials"
		}
	}
	return ev
}

// runCommand is what the audit log keeps of a command line: the program
// and its first word when that is a subcommand ("gh pr"), never the other
// arguments (they may hold the owner's data).
func runCommand(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	c := argv[0]
	if len(argv) > 1 && argv[1] != "" && !strings.HasPrefix(argv[1], "-") && len(argv[1]) <= 32 {
		c += " " + argv[1]
	}
	return c
}

// Describe names the action in a refusal message, for the agent.
func (a *Action) Describe() string {
	switch a.Kind {
	case API:
		u := a.url()
		s := a.Method + " " + u.Host + u.EscapedPath()
		if a.Via != "" {
			s += " (by " + a.Program() + ")"
		}
		return s
	case Run:
		if a.WithToken {
			return "sidecar run " + a.Program() + " with the raw token"
		}
		return "sidecar run " + a.Program()
	case Token:
		switch a.Variant {
		case VariantScoped:
			return "sidecar token --scope '" + strings.Join(a.Scopes, " ") + "'"
		case VariantAWS:
			return "sidecar token --aws-credentials"
		}
		return "sidecar token"
	case SignIn:
		return "signing in to profile " + a.Profile
	case Logout:
		return "signing out of profile " + a.Profile
	}
	return "sidecar " + string(a.Kind)
}

// standardHeaders are the headers every client sends, which decide
// nothing about what the API does; every other header is shown to the
// owner.
var standardHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Connection", "Content-Length",
	"Content-Type", "Host", "Proxy-Connection", "User-Agent",
}

// shownHeaders are the request's non-standard headers as "Name: value",
// sorted, with secret-looking values masked.
func (a *Action) shownHeaders() []string {
	var out []string
	for k, vs := range a.Header {
		if slices.ContainsFunc(standardHeaders, func(s string) bool { return strings.EqualFold(s, k) }) ||
			strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "Proxy-Authorization") {
			continue
		}
		for _, v := range vs {
			out = append(out, k+": "+maskHeader(k, v))
		}
	}
	slices.Sort(out)
	return out
}
