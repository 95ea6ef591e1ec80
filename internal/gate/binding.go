package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/devicegate/devicegate/internal/policy"
)

// PolicyRequest is what internal/policy decides on for a question, as
// [Action.PolicyRequest] builds it for the action the question describes
// (TestQuestionPolicyRequest keeps the two in step). `sidecar serve` uses
// it to decide a question again with the profile's own policy: the rule a
// client names is never trusted.
func (q *Question) PolicyRequest() policy.Request {
	switch Kind(q.Action) {
	case API:
		return policy.Request{Action: policy.ActionAPI, Method: q.Method, Host: q.Host, Path: q.Path}
	case Run:
		return policy.Request{Action: policy.ActionRun, Program: q.Program()}
	case Token:
		return policy.Request{Action: policy.ActionToken}
	}
	return policy.Request{Action: q.Action}
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
}

// Binding is the SHA-256, hex, of the canonical form of what the question
// asks: an answer carries the binding of the question it answers, and
// the asking command takes an Allow only for its own request. Two
// questions that differ in anything that decides what happens have
// different bindings.
func (q *Question) Binding() string {
	b, err := json.Marshal(bound{
		Profile: q.Profile, Action: q.Action, Via: q.Via,
		Method: q.Method, Host: q.Host, Path: q.Path, Query: q.Query, Headers: q.Headers,
		BodySize: q.BodySize, BodyDigest: q.BodyDigest,
		Variant: q.Variant, Scopes: q.Scopes, Command: q.Command, WithToken: q.WithToken,
	})
	if err != nil {
		panic("gate: " + err.Error()) // strings, ints and bools always marshal
	}
	sum := sha256.Sum256(append([]byte("devicegate question v1\n"), b...))
	return hex.EncodeToString(sum[:])
}
