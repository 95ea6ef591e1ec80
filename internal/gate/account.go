package gate

import (
	"context"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/policy"
)

// RuleAccountChange is the rule a question about an account change names:
// no policy rule allows it, so that an agent allowed to sign in (allow
// signin, or an owner who tapped Allow on "signing in") still cannot put
// another account in place of the owner's without the owner seeing both.
const RuleAccountChange = "a sign-in as another account asks the owner (always)"

// ConfirmAccount asks the owner whether the sign-in a (Kind SignIn) may
// replace the profile's account from with the account to, which the
// sign-in named (another subject, email or AWS account). The caller holds
// the new tokens in memory meanwhile and writes them only when
// ConfirmAccount returns nil; on a refusal the old sign-in stays.
//
// The owner's own sign-ins (a terminal, the gatekeeper chat's /auth) are
// not asked: they saw the code, and the change is announced. For the
// agent there is no rule that skips the question, and without a listening
// `sidecar serve` the change is refused: a *policy.Refused (exit 8),
// audited like every refusal of the gate.
func (g *Gate) ConfirmAccount(ctx context.Context, a Action, from, to string) error {
	a.Profile = g.Profile
	a.Kind = SignIn
	if g.Caller != audit.CallerAgent {
		return nil
	}
	ev := a.Event()
	q := a.Question(RuleAccountChange)
	q.Account, q.NewAccount = clip(from, maxField), clip(to, maxField)
	ans, err := g.ask(ctx, q)
	reason := reasonOf(ans, err)
	ap := ev
	ap.Action, ap.Decision, ap.Detail = audit.ActionApproval, reason, "for signin as another account; rule: "+RuleAccountChange
	g.record(ap)
	if err == nil && ans.Allow {
		return nil
	}
	ev.Decision, ev.Detail = "deny", "account change not confirmed: "+reason
	g.record(ev)
	return &policy.Refused{
		Action: "signing in to profile " + g.Profile + " as " + to + " in place of " + from,
		Reason: reason, Rule: RuleAccountChange,
	}
}
