package gate

import (
	"context"
	"errors"
	"testing"

	"github.com/devicegate/devicegate/internal/audit"
)

// limiter admits the first n agent actions and remembers what it was asked.
type limiter struct {
	n     int
	asked []audit.Event
}

func (l *limiter) Admit(e audit.Event) error {
	l.asked = append(l.asked, e)
	if len(l.asked) > l.n {
		return audit.ErrRateLimited
	}
	return nil
}

// TestCheckRateLimit: the limit binds the agent before anything else is
// judged (a request the policy or lint would refuse writes no line once
// the agent is over it); the owner never meets it.
func TestCheckRateLimit(t *testing.T) {
	tests := []struct {
		name   string
		caller string
		a      Action
	}{
		{"allowed read", audit.CallerAgent, Action{Kind: API, Method: "GET", URL: "https://api.github.com/user"}},
		{"denied by the policy", audit.CallerAgent, Action{Kind: API, Method: "DELETE", URL: "https://api.github.com/repos/o/r"}},
		{"refused by lint", audit.CallerAgent, Action{Kind: API, Method: "GET", URL: "https://api.github.com/user", Body: []byte("x")}},
		{"token", audit.CallerAgent, Action{Kind: Token, Variant: VariantAccess}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, lim := &log{}, &limiter{}
			g := &Gate{Profile: "gh", API: "https://api.github.com", Caller: tc.caller, Policy: mustPolicy(t, "deny DELETE /**; allow token"), Log: l, Limit: lim}
			_, err := g.Check(context.Background(), tc.a)
			if !errors.Is(err, audit.ErrRateLimited) {
				t.Fatalf("err = %v, want the rate limit", err)
			}
			if len(l.lines) != 0 {
				t.Errorf("lines %s: the limiter's refusal is its own line, once a burst", l.words())
			}
			if len(lim.asked) != 1 || lim.asked[0].Profile != "gh" || lim.asked[0].Caller != audit.CallerAgent || lim.asked[0].Action != string(tc.a.Kind) {
				t.Errorf("limiter asked %+v", lim.asked)
			}
		})
	}
	t.Run("owner", func(t *testing.T) {
		lim := &limiter{}
		g := &Gate{Profile: "gh", Caller: audit.CallerOwner, Policy: mustPolicy(t, "deny token"), Log: &log{}, Limit: lim}
		if _, err := g.Check(context.Background(), Action{Kind: Token}); err != nil || len(lim.asked) != 0 {
			t.Fatalf("owner: %v, limiter asked %d times", err, len(lim.asked))
		}
	})
	t.Run("admitted goes on to the policy", func(t *testing.T) {
		l := &log{}
		g := &Gate{Profile: "gh", API: "https://api.github.com", Caller: audit.CallerAgent, Policy: mustPolicy(t, "deny DELETE /**"), Log: l, Limit: &limiter{n: 1}}
		_, err := g.Check(context.Background(), Action{Kind: API, Method: "DELETE", URL: "https://api.github.com/repos/o/r"})
		if err == nil || errors.Is(err, audit.ErrRateLimited) || l.words() != "api:deny" {
			t.Fatalf("err %v, lines %s", err, l.words())
		}
	})
}
