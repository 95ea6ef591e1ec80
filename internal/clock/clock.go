// Package clock holds what waiting code shares: a sleep that a context
// ends early. Code that tests must control takes a sleep function (with
// this signature) or a timer as a parameter; this is the real one.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done, whichever comes first, and
// returns ctx.Err() in the second case. d <= 0 returns at once (nil,
// unless ctx is already done). Unlike time.After, it frees its timer when
// ctx ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
