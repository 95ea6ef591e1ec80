package gate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/policy"
)

// Asker puts a question to the owner and waits for the answer; in
// production the client of serve's approval socket (internal/approval).
// An Asker that finds nobody to ask returns an error wrapping
// ErrNoApprover.
type Asker interface {
	Ask(ctx context.Context, q Question) (Answer, error)
}

// Recorder appends to the audit log (session.Session.Record, which adds the
// profile and the caller).
type Recorder interface {
	Record(audit.Event) error
}

// Limiter is the rate limit on the agent's actions (audit.Log.Admit): nil
// when the action may go ahead; an error wrapping audit.ErrRateLimited
// when the agent is over its budget, the refusal already in the log (one
// line a burst).
type Limiter interface {
	Admit(audit.Event) error
}

// ErrNoApprover is what an Asker returns when no `sidecar serve` with a
// gatekeeper bot listens: approvals are off, and an ask is a denial that
// says how to turn them on.
var ErrNoApprover = errors.New("no sidecar serve with a gatekeeper bot is listening for approvals")

// Gate judges the actions of one profile's commands.
type Gate struct {
	Profile string
	API     string // the profile's API base URL (OAUTH_API_URL); API actions outside it ask
	Caller  string // audit.CallerAgent or audit.CallerOwner
	Policy  *policy.Policy
	Log     Recorder
	Limit   Limiter // nil: no rate limit
	Asker   Asker   // nil: nobody to ask (an ask is a denial)
	// Account names the signed-in account in a question; nil or "" when
	// it is not known.
	Account func() string
}

// Pass is an action the gate let through. Its Event is the action's audit
// line with the decision filled in; the command adds the outcome (Status,
// Detail) and calls Record once the action is done.
type Pass struct {
	Event audit.Event
	log   Recorder
}

// Record appends the action's audit line.
func (p *Pass) Record() error {
	if p.log == nil {
		return nil
	}
	return p.log.Record(p.Event)
}

// Check judges a before anything is refreshed, sent or started. The owner's
// own commands pass (the policy binds the agent only) with decision
// "owner". For the agent the rate limit (Limit) comes first, then the
// policy decides; on ask the Asker puts a
// Question to the owner. A refusal is a *policy.Refused (exit 8), in the
// audit log before Check returns; a Pass carries the decision word
// ("allow", or the owner's answer: "allow_once", "allow_1h", "grant").
func (g *Gate) Check(ctx context.Context, a Action) (*Pass, error) {
	a.Profile, a.API = g.Profile, g.API
	ev := a.Event()
	pass := &Pass{Event: ev, log: g.Log}
	if g.Caller != audit.CallerAgent {
		pass.Event.Decision = "owner"
		return pass, nil
	}
	// The rate limit comes first: a flood of requests the policy refuses
	// would fill the log as well as a flood of allowed ones. Its refusal
	// is logged by the limiter, once a burst; no line here.
	if g.Limit != nil {
		lim := ev
		lim.Profile, lim.Caller = g.Profile, g.Caller
		if err := g.Limit.Admit(lim); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Describe(), err)
		}
	}
	if a.Kind == API {
		if err := lint(&a); err != nil {
			ev.Decision, ev.Detail = "deny", err.Error()
			g.record(ev)
			return nil, err
		}
	}
	v := g.Policy.Decide(a.PolicyRequest())
	switch v.Decision {
	case policy.Allow:
		pass.Event.Decision = "allow"
		return pass, nil
	case policy.Deny:
		return nil, g.refuse(ev, &a, "policy", v.Rule, "policy: "+v.Rule)
	}
	if !a.ShownWhole() {
		// The owner cannot allow what they cannot see.
		return nil, g.refuse(ev, &a, ReasonInvalid, v.Rule, "too long to show the owner whole")
	}
	q := a.Question(v.Rule)
	if g.Account != nil {
		q.Account = g.Account()
	}
	ans, err := g.ask(ctx, q)
	reason := reasonOf(ans, err)
	ap := ev
	ap.Action, ap.Decision, ap.Detail = audit.ActionApproval, reason, "for "+ev.Action+"; rule: "+v.Rule
	g.record(ap)
	if err == nil && ans.Allow {
		pass.Event.Decision = reason
		return pass, nil
	}
	return nil, g.refuse(ev, &a, reason, v.Rule, "not approved: "+reason)
}

// reasonOf is the word the audit log and the refusal use for an answer.
func reasonOf(ans Answer, err error) string {
	switch {
	case errors.Is(err, ErrNoApprover):
		return ReasonNoListener
	case err != nil && ans.Reason == "":
		return "error"
	case err == nil && ans.Reason == "" && ans.Allow:
		return "allow"
	case err == nil && ans.Reason == "":
		return ReasonDeny
	}
	return ans.Reason
}

// ErrBadRequest is a request the agent may not make in any form: one that
// would do something other than what the policy and the owner see (exit 2).
var ErrBadRequest = errors.New("request refused")

// BadRequest says what is wrong with an agent's request.
type BadRequest struct{ Msg string }

func (e *BadRequest) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrBadRequest) true.
func (e *BadRequest) Unwrap() error { return ErrBadRequest }

// overrideHeaders make many servers (and frameworks in front of them) run
// another method than the request line's: a POST the owner approved would
// run as DELETE.
var overrideHeaders = []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}

// lint refuses, for the agent, what would run differently from how it is
// judged and shown: a method override, a body on a method that has none
// (a server may act on it, and it would go unseen with a read the policy
// allows), a URL that is not one.
func lint(a *Action) error {
	u := a.url()
	if u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return &BadRequest{Msg: fmt.Sprintf("%q is not an http(s) URL", a.URL)}
	}
	for k := range a.Header {
		for _, o := range overrideHeaders {
			if strings.EqualFold(k, o) {
				return &BadRequest{Msg: fmt.Sprintf("the header %s is refused: it makes the server run another method than %s; send the method itself (-X)", o, a.Method)}
			}
		}
	}
	switch a.Method {
	case "GET", "HEAD", "OPTIONS":
		if len(a.Body) > 0 {
			return &BadRequest{Msg: fmt.Sprintf("a %s request with a body is refused: the body would go unseen; use POST, PUT or PATCH for a request with data", a.Method)}
		}
	}
	return nil
}

func (g *Gate) ask(ctx context.Context, q Question) (Answer, error) {
	if g.Asker == nil {
		return Answer{Reason: ReasonNoListener}, ErrNoApprover
	}
	if err := q.Validate(); err != nil {
		return Answer{Reason: ReasonInvalid}, fmt.Errorf("gate: %w", err)
	}
	return g.Asker.Ask(ctx, q)
}

// refuse records the refusal of a and returns its error.
func (g *Gate) refuse(ev audit.Event, a *Action, reason, rule, detail string) error {
	ev.Decision, ev.Detail = "deny", detail
	g.record(ev)
	return &policy.Refused{Action: a.Describe(), Reason: reason, Rule: rule}
}

func (g *Gate) record(ev audit.Event) {
	if g.Log != nil {
		_ = g.Log.Record(ev) // a refusal stands even when the log cannot be written
	}
}
