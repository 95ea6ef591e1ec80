package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/devicegate/devicegate/internal/policy"
)

// PolicyRequest is what internal/policy decides on for a question, given
// the profile's API base URL: that of the Action the question describes,
// derived by the same code. `sidecar serve` uses it to decide a question
// again with the profile's own policy: the rule a client names is never
// trusted.
func (q *Question) PolicyRequest(api string) policy.Request {
	a := Action{Kind: Kind(q.Action), Profile: q.Profile, API: api, Via: q.Via,
		Method: q.Method, URL: q.URL(), Variant: q.Variant, Scopes: q.Scopes, Argv: q.Command, WithToken: q.WithToken}
	return a.PolicyRequest()
}

// URL is the full URL of an API question, query included.
func (q *Question) URL() string {
	if q.Host == "" {
		return ""
	}
	scheme := q.Scheme
	if scheme == "" {
		scheme = "https"
	}
	u := scheme + "://" + q.Host + q.Path
	if q.Query != "" {
		u += "?" + q.Query
	}
	return u
}

// Program is the tool of a run question, or of the run a proxied request
// came from.
func (q *Question) Program() string {
	if len(q.Command) > 0 {
		return q.Command[0]
	}
	if p, ok := strings.CutPrefix(q.Via, "run "); ok {
		return p
	}
	return ""
}

// bound is what a question's binding covers: everything that decides
// what happens (method, the full URL with its query, the headers, the
// body's digest and size; the token's variant and scopes; the whole
// command line), and nothing that serve may rewrite (the rule, the
// account shown) or that derives from the rest (the preview).
type bound struct {
	Profile    string   `json:"profile"`
	Action     string   `json:"action"`
	Via        string   `json:"via"`
	Method     string   `json:"method"`
	Scheme     string   `json:"scheme"`
	Host       string   `json:"host"`
	Path       string   `json:"path"`
	Query      string   `json:"query"`
	Headers    []string `json:"headers"`
	BodySize   int      `json:"body_size"`
	BodyDigest string   `json:"body_digest"`
	Variant    string   `json:"variant"`
	Scopes     []string `json:"scopes"`
	Command    []string `json:"command"`
	WithToken  bool     `json:"with_token"`
	NewAccount string   `json:"new_account"`
}

// Binding is the SHA-256, hex, of the canonical form of what the question
// asks: an answer carries the binding of the question it answers, and
// the asking command takes an Allow only for its own request. Two
// questions that differ in anything that decides what happens have
// different bindings.
func (q *Question) Binding() string {
	b, err := json.Marshal(bound{
		Profile: q.Profile, Action: q.Action, Via: q.Via,
		Method: q.Method, Scheme: q.Scheme, Host: q.Host, Path: q.Path, Query: q.Query, Headers: q.Headers,
		BodySize: q.BodySize, BodyDigest: q.BodyDigest,
		Variant: q.Variant, Scopes: q.Scopes, Command: q.Command, WithToken: q.WithToken,
		NewAccount: q.NewAccount,
	})
	if err != nil {
		panic("gate: " + err.Error()) // strings, ints and bools always marshal
	}
	sum := sha256.Sum256(append([]byte("devicegate question v1\n"), b...))
	return hex.EncodeToString(sum[:])
}

// ShownWhole reports whether a's question shows everything that decides
// what happens: the path and query, every header and every argument
// within the question's limits. The body need not be: its size and
// digest are shown, and its start. A request that would be shown cut is
// refused rather than asked about.
func (a *Action) ShownWhole() bool {
	switch a.Kind {
	case API:
		u := a.url()
		if len(u.EscapedPath()) > maxField || len(u.RawQuery) > maxField {
			return false
		}
		h := a.shownHeaders()
		if len(h) > MaxHeaders {
			return false
		}
		for _, v := range h {
			if len(v) > maxField {
				return false
			}
		}
	case Run, SignIn, Logout:
		if len(a.Argv) > MaxCommandArgs {
			return false
		}
		for _, arg := range a.Argv {
			if len(arg) > maxArg {
				return false
			}
		}
	}
	return true
}
