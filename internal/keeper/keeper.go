// Package keeper is the heart of `sidecar serve`: it keeps every profile's
// sign-in alive and tells the person once when one is lost. Talking to the
// person (the notice, and the /auth, /status and /logout commands) is the
// Chat's job, behind a two-method interface (bridge.Chat in production).
//
// Tokens are refreshed before they expire and also on a cadence
// (SIDECAR_KEEPALIVE), because providers revoke refresh tokens that go
// unused (Microsoft after 90 days, many OIDC servers sooner). Every
// refresh goes through the session's cross-process lock, so the keeper and
// concurrent `sidecar token` calls never both spend a refresh token.
package keeper

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/session"
)

// Defaults.
const (
	DefaultTick   = 30 * time.Second
	DefaultMargin = 5 * time.Minute
)

// Chat is the conversation with the person.
type Chat interface {
	// SignInNeeded tells the person that a profile needs a sign-in.
	SignInNeeded(ctx context.Context, s *session.Session, reason string) error
	// Serve answers the person's commands until ctx ends and what they
	// started has finished.
	Serve(ctx context.Context)
}

// Keeper runs the keep-alive loop.
type Keeper struct {
	Sessions  []*session.Session // in the order profiles were declared
	Keepalive time.Duration      // refresh at least this often
	Tick      time.Duration      // how often to check; DefaultTick if 0
	Margin    time.Duration      // refresh when expiring within this; DefaultMargin if 0
	Log       *slog.Logger
	// Heartbeat, if set, is a file touched on every round, for `sidecar health`.
	Heartbeat string

	// Chat, if set, is told when a sign-in is needed and serves the
	// person's commands while Run runs.
	Chat Chat

	now      func() time.Time
	mu       sync.Mutex
	told     map[string]bool // profiles without a cache that were told already; made on first use
	inflight sync.WaitGroup
}

func (k *Keeper) clock() time.Time {
	if k.now != nil {
		return k.now()
	}
	return time.Now()
}

// Run checks every profile each tick until ctx ends. A check under way
// finishes first (a refresh is never abandoned mid-way), and so do /auth
// sign-ins started from the chat.
func (k *Keeper) Run(ctx context.Context) error {
	if k.Tick <= 0 {
		k.Tick = DefaultTick
	}
	if k.Margin <= 0 {
		k.Margin = DefaultMargin
	}
	names := make([]string, 0, len(k.Sessions))
	for _, s := range k.Sessions {
		names = append(names, s.Profile)
	}
	k.Log.Info("serving", "profiles", strings.Join(names, ","), "keepalive", k.Keepalive.String(), "telegram", k.Chat != nil)

	if k.Chat != nil {
		k.inflight.Add(1)
		go func() {
			defer k.inflight.Done()
			k.Chat.Serve(ctx)
		}()
	}
	t := time.NewTicker(k.Tick)
	defer t.Stop()
	for {
		k.Round(ctx)
		select {
		case <-ctx.Done():
			k.inflight.Wait()
			k.Log.Info("stopped")
			return nil
		case <-t.C:
		}
	}
}

// Round checks every profile once.
func (k *Keeper) Round(ctx context.Context) {
	for _, s := range k.Sessions {
		if ctx.Err() != nil {
			return
		}
		k.check(ctx, s)
	}
	if k.Heartbeat != "" {
		now := k.clock()
		if err := os.Chtimes(k.Heartbeat, now, now); err != nil {
			if f, err := os.OpenFile(k.Heartbeat, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
				f.Close()
			}
		}
	}
}

func (k *Keeper) check(ctx context.Context, s *session.Session) {
	log := k.Log.With("profile", s.Profile)
	e, err := s.Load()
	if err != nil {
		var se *session.SignInError
		if errors.As(err, &se) {
			k.notice(ctx, s)
			return
		}
		log.Error("cannot read the token cache", "err", err)
		return
	}
	if e.SignInRequired {
		k.notice(ctx, s)
		return
	}
	k.mu.Lock()
	delete(k.told, s.Profile) // signed in again
	k.mu.Unlock()
	if e.RefreshToken == "" {
		if !e.Valid(k.clock(), 0) {
			k.notice(ctx, s)
		}
		return
	}
	now := k.clock()
	last := e.RefreshedAt
	if e.SignedInAt.After(last) {
		last = e.SignedInAt
	}
	switch {
	case !e.Valid(now, k.Margin):
		_, err = s.Token(ctx, k.Margin)
		k.refreshed(ctx, s, log, "expiring", err)
	case k.Keepalive > 0 && now.Sub(last) >= k.Keepalive:
		_, err = s.Refresh(ctx)
		k.refreshed(ctx, s, log, "keepalive", err)
	}
}

func (k *Keeper) refreshed(ctx context.Context, s *session.Session, log *slog.Logger, why string, err error) {
	var stale *session.StaleError
	switch {
	case err == nil:
		log.Info("refreshed", "why", why)
	case errors.Is(err, session.ErrSignInRequired):
		log.Warn("sign-in required", "why", why, "err", err)
		k.notice(ctx, s)
	case errors.As(err, &stale):
		log.Warn("refresh failed; the current token is still valid", "why", why, "err", err)
	default:
		log.Warn("refresh failed; will retry", "why", why, "err", err)
	}
}

// notice tells the chat, once, that a profile needs a sign-in.
func (k *Keeper) notice(ctx context.Context, s *session.Session) {
	tell, reason, recorded, err := s.ClaimNotice(ctx)
	if err != nil {
		k.Log.Error("cannot record the sign-in notice", "profile", s.Profile, "err", err)
		return
	}
	if tell && !recorded {
		k.mu.Lock()
		if k.told == nil {
			k.told = map[string]bool{}
		}
		tell = !k.told[s.Profile]
		k.told[s.Profile] = true
		k.mu.Unlock()
	}
	if !tell {
		return
	}
	k.Log.Warn("sign-in needed", "profile", s.Profile, "reason", reason)
	if k.Chat == nil {
		return
	}
	if err := k.Chat.SignInNeeded(ctx, s, reason); err != nil {
		k.Log.Error("cannot tell Telegram that a sign-in is needed", "profile", s.Profile, "err", err)
	}
}
