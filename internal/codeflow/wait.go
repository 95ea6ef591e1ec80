package codeflow

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Paste is one text the person pasted (or the loopback listener got).
type Paste struct {
	Text string
	// Reply, when set, is told why a paste did not count (a *PasteError),
	// so its source can say so to the person. The outcome of the sign-in
	// itself is Wait's result, not a reply.
	Reply func(err error)
}

// Wait feeds pastes to the attempt until one signs in, the person
// declines, the attempt expires or ctx ends (its error is returned as is).
// A paste that does not count is replied to and waiting goes on.
func (a *Attempt) Wait(ctx context.Context, pastes <-chan Paste) (*oauth2.Token, error) {
	for {
		left := a.ExpiresAt.Sub(a.f.clock())
		if left <= 0 {
			return nil, ErrExpired
		}
		t := time.NewTimer(left)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
			// Checked again on the clock at the top.
			continue
		case p, ok := <-pastes:
			t.Stop()
			if !ok {
				return nil, ErrNoPastes
			}
			tok, err := a.Finish(ctx, p.Text)
			if errors.Is(err, ErrPaste) {
				if p.Reply != nil {
					p.Reply(err)
				}
				continue
			}
			return tok, err
		}
	}
}

// ErrNoPastes means the source of pastes closed while the sign-in waited:
// nothing can finish it any more (the process reading the chat stopped).
var ErrNoPastes = errors.New("the pasted address can no longer arrive (the process reading the chat stopped); start the sign-in again")

// Mailbox gives a waiting code-flow sign-in the pastes that carry its
// state: a Router where the pastes arrive in this process, a handoff from
// `sidecar serve` where they arrive in another. reply, if the mailbox
// sets it on the pastes, tells the person why one did not count.
type Mailbox interface {
	Open(ctx context.Context, state string, reply func(error)) (pastes <-chan Paste, cancel func(), err error)
}

// Open implements Mailbox: the pastes keep the Reply their deliverer set.
func (r *Router) Open(_ context.Context, state string, _ func(error)) (<-chan Paste, func(), error) {
	ch, cancel := r.Register(state)
	return ch, cancel, nil
}

// Router hands pastes to the sign-in they belong to, by state, where the
// pastes arrive at one place (the chat `sidecar serve` reads) and several
// sign-ins may wait. A paste for no waiting sign-in is answered here: a
// state seen before is "already used", any other "not from a sign-in
// under way".
type Router struct {
	mu      sync.Mutex
	waiting map[string]chan Paste
	done    map[string]bool // states whose sign-in ended or got its paste
}

// Register makes a mailbox for an attempt's state. cancel removes it and
// remembers the state as used.
func (r *Router) Register(state string) (pastes <-chan Paste, cancel func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting == nil {
		r.waiting, r.done = map[string]chan Paste{}, map[string]bool{}
	}
	ch := make(chan Paste, 1)
	r.waiting[state] = ch
	return ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.waiting, state)
		r.remember(state)
	}
}

// maxRemembered bounds the used states kept for "already used" replies.
const maxRemembered = 256

func (r *Router) remember(state string) {
	if len(r.done) >= maxRemembered {
		clear(r.done)
	}
	r.done[state] = true
}

// Waiting reports whether any sign-in waits for a paste.
func (r *Router) Waiting() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.waiting) > 0
}

// Deliver routes a paste to the sign-in its state names. A paste that
// belongs to none gets its reply here. The first paste for a state is
// delivered; a second one while the first is handled is "already used".
func (r *Router) Deliver(p Paste) {
	red, err := ParseRedirect(p.Text)
	if err != nil {
		reply(p, err)
		return
	}
	r.mu.Lock()
	ch, ok := r.waiting[red.State]
	used := r.done[red.State]
	if ok {
		select {
		case ch <- p:
		default:
			ok, used = false, true
		}
	}
	r.mu.Unlock()
	switch {
	case ok:
	case used:
		reply(p, pasteErr(ReasonReused, "this address was already used: a sign-in address works once; send /auth to start again"))
	default:
		reply(p, pasteErr(ReasonState, "this address is not from a sign-in under way (its state is unknown): send /auth, then the address of that Sign in link"))
	}
}

func reply(p Paste, err error) {
	if p.Reply != nil {
		p.Reply(err)
	}
}
