package approval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// The owner can answer from a terminal too: `sidecar approvals` (run by
// the owner with `docker exec -it`) connects to serve's socket with the
// key, says it watches, and gets every waiting question as a ConsoleEvent;
// it answers with ConsoleAnswer lines. Where the gatekeeper bot is there
// as well, both are asked (Fanout) and the first answer wins; the other
// side is told.

// Console is the owner at terminals running `sidecar approvals`: an Owner.
type Console struct {
	// Alone: there is no other owner (no gatekeeper bot). A question
	// with no terminal watching is then answered ErrNoListener at once
	// instead of waiting for nobody.
	Alone bool

	mu       sync.Mutex
	pending  map[string]*consoleQuestion
	watchers map[*watcher]struct{}
}

type consoleQuestion struct {
	id     string
	req    Request
	asked  time.Time
	choice chan Choice
}

type watcher struct {
	send chan ConsoleEvent
}

// ConsoleEvent is one line serve sends to a terminal.
type ConsoleEvent struct {
	// Pending is a question waiting for the owner.
	Pending *PendingQuestion `json:"pending,omitempty"`
	// Done ends a question: answered (here or elsewhere), timed out,
	// withdrawn.
	Done *DoneQuestion `json:"done,omitempty"`
}

// PendingQuestion is a question waiting, with the id to answer it by.
type PendingQuestion struct {
	ID       string  `json:"id"`
	Question Request `json:"question"`
}

// DoneQuestion says how a question ended.
type DoneQuestion struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"`
}

// ConsoleAnswer is the owner's answer from a terminal.
type ConsoleAnswer struct {
	ID     string `json:"id"`
	Choice string `json:"choice"` // "o", "h" or "d": a Choice
}

// watchBuffer is how many events a slow terminal may lag behind before it
// is dropped (it can reconnect and gets every waiting question again).
const watchBuffer = 64

func (c *Console) watching() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.watchers)
}

func (c *Console) broadcastLocked(ev ConsoleEvent) {
	for w := range c.watchers {
		select {
		case w.send <- ev:
		default: // too slow: dropped, its connection ends
			delete(c.watchers, w)
			close(w.send)
		}
	}
}

// Ask implements Owner: the question is shown on every terminal watching
// (and to those that connect while it waits) until one answers or ctx
// ends.
func (c *Console) Ask(ctx context.Context, req Request) (Choice, error) {
	if c.Alone && c.watching() == 0 {
		return 0, fmt.Errorf("%w: there is no gatekeeper bot, and nobody runs sidecar approvals", ErrNoListener)
	}
	q := &consoleQuestion{id: NewID(), req: req, asked: time.Now(), choice: make(chan Choice, 1)}
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[string]*consoleQuestion{}
	}
	c.pending[q.id] = q
	c.broadcastLocked(ConsoleEvent{Pending: &PendingQuestion{ID: q.id, Question: req}})
	c.mu.Unlock()
	var (
		ch      Choice
		err     error
		outcome string
	)
	select {
	case ch = <-q.choice:
		outcome = ChoiceOutcome(ch)
	case <-ctx.Done():
		err = ctx.Err()
		outcome = EndedOutcome(context.Cause(ctx))
	}
	c.mu.Lock()
	delete(c.pending, q.id)
	c.broadcastLocked(ConsoleEvent{Done: &DoneQuestion{ID: q.id, Outcome: outcome}})
	c.mu.Unlock()
	return ch, err
}

// answer hands a terminal's answer to the question id; false when it no
// longer waits.
func (c *Console) answer(id string, ch Choice) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.pending[id]
	if q == nil {
		return false
	}
	delete(c.pending, id) // one answer per question
	q.choice <- ch
	return true
}

// watch serves one terminal on conn until it hangs up or ctx ends.
func (c *Console) watch(ctx context.Context, conn net.Conn, br *bufio.Reader) {
	w := &watcher{send: make(chan ConsoleEvent, watchBuffer)}
	c.mu.Lock()
	if c.watchers == nil {
		c.watchers = map[*watcher]struct{}{}
	}
	c.watchers[w] = struct{}{}
	var waiting []*consoleQuestion
	for _, q := range c.pending {
		waiting = append(waiting, q)
	}
	for _, q := range sortedByAsked(waiting) {
		select {
		case w.send <- ConsoleEvent{Pending: &PendingQuestion{ID: q.id, Question: q.req}}:
		default: // more waiting than a terminal is sent at once: the oldest first
		}
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if _, ok := c.watchers[w]; ok {
			delete(c.watchers, w)
			close(w.send)
		}
		c.mu.Unlock()
	}()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer cancel()
		for {
			line, err := br.ReadBytes('\n')
			if err != nil || len(line) > 256 {
				return
			}
			var a ConsoleAnswer
			if json.Unmarshal(line, &a) != nil || len(a.Choice) != 1 {
				return
			}
			switch ch := Choice(a.Choice[0]); ch {
			case AllowOnce, AllowHour, Deny:
				c.answer(a.ID, ch)
			default:
				return
			}
		}
	}()
	stop := context.AfterFunc(wctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	enc := json.NewEncoder(conn)
	for {
		select {
		case <-wctx.Done():
			return
		case ev, ok := <-w.send:
			if !ok {
				return
			}
			conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if enc.Encode(ev) != nil {
				return
			}
		}
	}
}

func sortedByAsked(qs []*consoleQuestion) []*consoleQuestion {
	for i := 1; i < len(qs); i++ {
		for j := i; j > 0 && qs[j].asked.Before(qs[j-1].asked); j-- {
			qs[j], qs[j-1] = qs[j-1], qs[j]
		}
	}
	return qs
}

// ChoiceOutcome says what an answer did, for the owner.
func ChoiceOutcome(c Choice) string {
	switch c {
	case AllowOnce:
		return "✅ Allowed once."
	case AllowHour:
		return "✅ Allowed for 1 hour (the same kind of request asks nothing until then)."
	}
	return "⛔ Denied."
}

// EndedOutcome says why a question ended without an answer of its own
// owner, from its context's cause.
func EndedOutcome(cause error) string {
	var ans *Answered
	switch {
	case errors.As(cause, &ans):
		return ChoiceOutcome(ans.Choice) + " (answered " + ans.Where + ")"
	case errors.Is(cause, ErrTimedOut):
		return "⌛ No answer in time: denied."
	case errors.Is(cause, ErrGranted):
		return "✅ Allowed by your \"Allow for 1 hour\" for the same kind of request."
	case errors.Is(cause, ErrWithdrawn):
		return "↩️ The command stopped waiting: nothing was allowed."
	}
	return "⏹ devicegate stopped before an answer: denied."
}

// Answered is the cause of a question's end when another owner (the
// other of the chat and the terminal) answered first.
type Answered struct {
	Choice Choice
	Where  string // "in the terminal", "in Telegram"
}

func (a *Answered) Error() string { return "approval: answered " + a.Where }

// Fanout asks every owner at once; the first answer wins and the others'
// questions end with an *Answered cause, so each shows what happened.
type Fanout struct {
	Owners []Owner
	Where  []string // where each owner is, for the others' messages
}

// Ask implements Owner.
func (f *Fanout) Ask(ctx context.Context, req Request) (Choice, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type result struct {
		i   int
		c   Choice
		err error
	}
	results := make(chan result, len(f.Owners))
	for i, o := range f.Owners {
		go func() {
			c, err := o.Ask(ctx, req)
			results <- result{i, c, err}
		}()
	}
	var lastErr error
	for range f.Owners {
		r := <-results
		if r.err == nil {
			// The others end their questions in the background, each
			// showing where it was answered.
			cancel(&Answered{Choice: r.c, Where: f.Where[r.i]})
			return r.c, nil
		}
		if lastErr == nil || !errors.Is(r.err, ErrNoListener) {
			lastErr = r.err
		}
	}
	return 0, lastErr
}
