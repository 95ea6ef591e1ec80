// Package bridge is the Telegram auth bridge: it runs a device-code
// sign-in and keeps the person's Telegram chat in step with it.
//
// It sends ONE message with what is asking, a button to the sign-in page,
// the code and the time left; keeps that message current (at most one edit
// per 30 s, never an identical one); puts a fresh code in the same message
// when one expires; and finally replaces it with the outcome. When the
// provider gives a verification_uri_complete, a QR code picture of it is
// sent too, and deleted at the end.
//
// The sign-in messages, the chat commands (chat.go) and the approval
// questions (approvals.go) are one package because they are one
// conversation with the owner: the same message formats, the same bot and
// the same rules for editing a message.
package bridge

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/qrcode"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Messenger is the part of the Telegram client the bridge uses.
type Messenger interface {
	SendMessage(ctx context.Context, chat int64, m telegram.Message) (int, error)
	EditMessage(ctx context.Context, chat int64, id int, m telegram.Message) error
	SendPhoto(ctx context.Context, chat int64, png []byte, caption string) (int, error)
	DeleteMessage(ctx context.Context, chat int64, id int) error
}

// DefaultEvery is how often the message is brought up to date.
const DefaultEvery = 30 * time.Second

// Bridge signs people in through one Telegram chat.
type Bridge struct {
	TG   Messenger
	Chat int64
	Host string // host or container shown as the requester
	// Progress, when set, is told every state change (for tgauth's stdout).
	Progress func(Step)
	Log      *slog.Logger  // warnings about Telegram hiccups; nil discards
	Every    time.Duration // 0 means DefaultEvery
	Now      func() time.Time
	// OneOff makes sign-ins one-off grants (tgauth --once): the refresh
	// token is dropped, so access ends when the access token expires.
	OneOff bool
	// Pastes gives code-flow sign-ins (OAUTH_FLOW=code) the addresses the
	// owner pastes, by their state: serve's Router, or tgauth's handoff
	// from serve. nil: no code-flow sign-ins here.
	Pastes codeflow.Mailbox
	// By says who started the sign-ins (ByAgent, ByOwner), for the
	// messages; "" says nothing.
	By string
	// ConfirmSwitch, when set, decides whether a sign-in that names
	// another identity than the profile's current one may replace it
	// (session.LoginOptions.ConfirmSwitch).
	ConfirmSwitch func(ctx context.Context, old, new tokencache.Account) error

	// ticks, when set, replaces the Every ticker (a test hook: a tick
	// sent on an unbuffered channel is received only after the previous
	// one was handled).
	ticks <-chan time.Time
}

func (b *Bridge) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Step is a state change of a sign-in: a code was shown (the first, or a
// fresh one after an expiry), or the profile is signed in.
type Step struct {
	Session *session.Session
	Code    *deviceflow.Code  // a code was shown
	Link    *codeflow.Link    // a code-flow link was sent
	Entry   *tokencache.Entry // signed in
	Already bool              // the sign-in existed; no code was needed
}

func (b *Bridge) progress(st Step) {
	if b.Progress != nil {
		b.Progress(st)
	}
}

// granted describes a sign-in for the chat.
func granted(s *session.Session, e *tokencache.Entry) Granted {
	g := Granted{Account: e.Account, Scopes: e.ScopesGranted, NotGranted: s.NotGranted(e), OneOff: e.OneOff}
	if e.OneOff {
		g.AccessExpiresAt = e.Expiry
	}
	return g
}

func (b *Bridge) log() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (b *Bridge) request(s *session.Session) Request {
	oneOff := b.OneOff || s.Provider.OneOff
	r := Request{Provider: s.Provider.Kind, Profile: s.Profile, Host: b.Host, Scopes: s.LoginScopes(oneOff), OneOff: oneOff, By: b.By, Asked: b.now()}
	if a := s.Provider.AWS; a != nil {
		// What the person grants is the role, not the registration's scope.
		r.Scopes, r.Access = nil, session.AWSAccount(a.AccountID, a.RoleName).Name
	}
	return r
}

// tgErr marks a failure as Telegram's, not the provider's.
func tgErr(doing string, err error) error {
	return &telegram.OpError{Op: doing, Err: err}
}

// SignIn signs the profile in through the chat. Unless force is set, a
// usable sign-in (a valid token, or one that refreshes) is reported to
// the chat and returned as is.
func (b *Bridge) SignIn(ctx context.Context, s *session.Session, force bool) (*tokencache.Entry, error) {
	req := b.request(s)
	if !force {
		e, err := s.Token(ctx, 0)
		var stale *session.StaleError
		if err == nil || (errors.As(err, &stale) && e != nil) {
			if _, err := b.TG.SendMessage(ctx, b.Chat, AlreadyMessage(req, granted(s, e))); err != nil {
				return nil, tgErr("sending the message", err)
			}
			b.progress(Step{Session: s, Entry: e, Already: true})
			return e, nil
		}
	}
	m := &message{b: b, s: s, req: req}
	defer m.stop()
	e, err := s.Login(ctx, session.LoginOptions{Display: m.show, Authorize: m.authorize, OneOff: b.OneOff, ConfirmSwitch: b.ConfirmSwitch})
	m.stop()
	m.release()
	// The final edit must happen even if ctx was cancelled (timeout):
	// the person should not be left looking at a dead code.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err != nil {
		if m.id != 0 {
			outcome, detail := Failed, err.Error()
			var tge *telegram.OpError
			switch {
			case errors.Is(err, deviceflow.ErrDeclined):
				outcome, detail = Declined, ""
			case errors.Is(err, policy.ErrRefused):
				outcome = Kept
			case (errors.Is(err, deviceflow.ErrExpired) || errors.Is(err, session.ErrTimedOut)) && m.link != nil:
				outcome, detail = Expired, "No address from the Sign in link arrived in time."
			case errors.Is(err, deviceflow.ErrExpired), errors.Is(err, session.ErrTimedOut):
				outcome, detail = Expired, "The code was not used in time."
			case errors.As(err, &tge):
				detail = ""
			}
			m.finish(fctx, EndMessage(req, outcome, detail))
		}
		return nil, err
	}
	m.finish(fctx, SignedInMessage(req, granted(s, e)))
	b.progress(Step{Session: s, Entry: e})
	return e, nil
}

// message is the one chat message of a sign-in, and its QR picture.
type message struct {
	b   *Bridge
	s   *session.Session
	req Request

	mu         sync.Mutex
	id, photo  int
	code       deviceflow.Code
	linkInText bool
	last       string // text of the last successful send or edit
	// The code flow: its link, and the registration for pastes to drop
	// when the sign-in ends.
	link       *codeflow.Link
	unregister func()
	done       chan struct{}
	wg         sync.WaitGroup
}

// show is the device flow's display hook: send the message for the first
// code, edit it for a fresh one.
func (m *message) show(ctx context.Context, c deviceflow.Code) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.code = c
	msg := CodeMessage(m.req, c, m.b.now(), m.linkInText)
	if m.id == 0 {
		id, err := m.b.TG.SendMessage(ctx, m.b.Chat, msg)
		if errors.Is(err, telegram.ErrButtonURL) {
			// Telegram refuses some URLs as buttons (a host without a
			// dot, e.g. localhost): put the link in the text instead.
			m.linkInText = true
			msg = CodeMessage(m.req, c, m.b.now(), true)
			id, err = m.b.TG.SendMessage(ctx, m.b.Chat, msg)
		}
		if err != nil {
			return tgErr("sending the sign-in message", err)
		}
		m.id, m.last = id, msg.Text
		m.done = make(chan struct{})
		m.wg.Add(1)
		go m.keepCurrent(ctx, m.done)
	} else {
		if err := m.b.TG.EditMessage(ctx, m.b.Chat, m.id, msg); err != nil {
			// The old code is dead; the person must see the new one.
			// Send it as a new message rather than give up.
			m.b.log().Warn("could not edit the sign-in message; sending a new one", "err", err)
			id, err := m.b.TG.SendMessage(ctx, m.b.Chat, msg)
			if err != nil {
				return tgErr("sending the fresh code", err)
			}
			m.id = id
		}
		m.last = msg.Text
	}
	if m.s != nil {
		m.b.progress(Step{Session: m.s, Code: &c})
	}
	m.updatePhoto(ctx, c)
	return nil
}

// updatePhoto replaces the QR picture. A picture is a convenience: failing
// to send one is logged, not fatal.
func (m *message) updatePhoto(ctx context.Context, c deviceflow.Code) {
	if m.photo != 0 {
		if err := m.b.TG.DeleteMessage(ctx, m.b.Chat, m.photo); err != nil {
			m.b.log().Warn("could not delete the old QR code", "err", err)
		}
		m.photo = 0
	}
	if c.VerificationURIComplete == "" {
		return
	}
	png, err := qrcode.PNG(c.VerificationURIComplete)
	if err != nil {
		return
	}
	id, err := m.b.TG.SendPhoto(ctx, m.b.Chat, png, telegram.Escape("Or scan this to open the sign-in page with the code filled in."))
	if err != nil {
		m.b.log().Warn("could not send the QR code", "err", err)
		return
	}
	m.photo = id
}

// keepCurrent edits the time left, at most every Every, and only when the
// text changes (Telegram answers 400 to an identical edit).
func (m *message) keepCurrent(ctx context.Context, done <-chan struct{}) {
	defer m.wg.Done()
	every := m.b.Every
	if every <= 0 {
		every = DefaultEvery
	}
	tick := m.b.ticks
	if tick == nil {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-tick:
		}
		m.mu.Lock()
		msg := CodeMessage(m.req, m.code, m.b.now(), m.linkInText)
		if msg.Text != m.last {
			if err := m.b.TG.EditMessage(ctx, m.b.Chat, m.id, msg); err != nil {
				m.b.log().Warn("could not update the sign-in message", "err", err)
			} else {
				m.last = msg.Text
			}
		}
		m.mu.Unlock()
	}
}

// release drops the code flow's registration: its state is spent, and a
// later paste of it is "already used".
func (m *message) release() {
	m.mu.Lock()
	un := m.unregister
	m.unregister = nil
	m.mu.Unlock()
	if un != nil {
		un()
	}
}

func (m *message) stop() {
	m.mu.Lock()
	done := m.done
	m.done = nil
	m.mu.Unlock()
	if done != nil {
		close(done)
		m.wg.Wait()
	}
}

// finish replaces the message with the outcome and removes the QR code.
func (m *message) finish(ctx context.Context, msg telegram.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.photo != 0 {
		if err := m.b.TG.DeleteMessage(ctx, m.b.Chat, m.photo); err != nil {
			m.b.log().Warn("could not delete the QR code", "err", err)
		}
		m.photo = 0
	}
	if m.id == 0 {
		return
	}
	if err := m.b.TG.EditMessage(ctx, m.b.Chat, m.id, msg); err != nil {
		m.b.log().Warn("could not edit the sign-in message; sending the outcome as a new one", "err", err)
		if _, err := m.b.TG.SendMessage(ctx, m.b.Chat, msg); err != nil {
			m.b.log().Warn("could not tell the chat the outcome", "err", err)
		}
	}
}
