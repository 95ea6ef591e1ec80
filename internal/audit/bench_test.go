package audit

import (
	"errors"
	"testing"
)

// BenchmarkAppend is one agent API line, as `sidecar api` writes it.
func BenchmarkAppend(b *testing.B) {
	l := Open(b.TempDir())
	e := Event{Profile: "default", Caller: CallerAgent, Action: ActionAPI, Decision: "allow", Method: "GET", Host: "api.github.com", Path: "/repos/octo/hello/issues", Status: 200}
	for b.Loop() {
		if err := l.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdmit is what the rate limit adds to each agent action: one
// admitted (a bucket that never runs out), refused (an empty one), or the
// owner's (no I/O).
func BenchmarkAdmit(b *testing.B) {
	e := Event{Profile: "default", Caller: CallerAgent, Action: ActionToken}
	b.Run("admitted", func(b *testing.B) {
		l := Open(b.TempDir())
		l.Burst, l.Rate = 1<<40, 1<<40
		for b.Loop() {
			if err := l.Admit(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refused", func(b *testing.B) {
		l := Open(b.TempDir())
		l.Burst, l.Rate = 1, 1
		l.Admit(e)
		for b.Loop() {
			if err := l.Admit(e); !errors.Is(err, ErrRateLimited) {
				b.Fatal(err)
			}
		}
	})
	b.Run("owner", func(b *testing.B) {
		l := Open(b.TempDir())
		o := e
		o.Caller = CallerOwner
		for b.Loop() {
			if err := l.Admit(o); err != nil {
				b.Fatal(err)
			}
		}
	})
}
