// Package keeper is `sidecar serve`: it keeps every profile's sign-in
// alive, tells the person once when one is lost, and (optionally) answers
// /auth, /status and /logout in the Telegram chat itself.
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
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
)

// Defaults.
const (
	DefaultTick   = 30 * time.Second
	DefaultMargin = 5 * time.Minute
)

// Listener is the part of the Telegram client that reads updates.
type Listener interface {
	Listen(ctx context.Context, fn func(telegram.Update)) error
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

	// Telegram, if set, is told when a sign-in is needed; with Listen it
	// also answers commands from its chat.
	Bridge *bridge.Bridge
	Listen Listener

	now      func() time.Time
	mu       sync.Mutex
	told     map[string]bool // profiles without a cache that were told already; made on first use
	running  map[string]bool // profiles with a /auth sign-in under way; made on first use
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
// sign-ins, which are told that the service is stopping.
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
	k.Log.Info("serving", "profiles", strings.Join(names, ","), "keepalive", k.Keepalive.String(), "telegram_listen", k.Listen != nil)

	if k.Listen != nil && k.Bridge != nil {
		k.inflight.Add(1)
		go func() {
			defer k.inflight.Done()
			k.listen(ctx)
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
	if k.Bridge == nil {
		return
	}
	req := bridge.Request{Provider: s.Provider.Kind, Profile: s.Profile, Host: k.Bridge.Host}
	if _, err := k.Bridge.TG.SendMessage(ctx, k.Bridge.Chat, bridge.SignInNeededMessage(req, reason)); err != nil {
		k.Log.Error("cannot tell Telegram that a sign-in is needed", "profile", s.Profile, "err", err)
	}
}

// listen answers commands from the configured chat until ctx ends. A 409
// means another program (OpenClaw, usually) reads this bot's updates: two
// pollers would steal each other's messages, so it stops and says why.
func (k *Keeper) listen(ctx context.Context) {
	err := k.Listen.Listen(ctx, func(u telegram.Update) { k.command(ctx, u) })
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, telegram.ErrConflict):
		k.Log.Error("not listening for Telegram commands: another program reads this bot's updates (409 Conflict), probably OpenClaw; send /auth through it, or give devicegate its own bot; set TELEGRAM_LISTEN=false to silence this", "err", err)
	case errors.Is(err, telegram.ErrUnauthorized):
		k.Log.Error("not listening for Telegram commands: the bot token was refused", "err", err)
	default:
		k.Log.Error("not listening for Telegram commands", "err", err)
	}
}

func (k *Keeper) command(ctx context.Context, u telegram.Update) {
	if u.ChatID != k.Bridge.Chat {
		k.Log.Warn("ignored a message from a chat that is not TELEGRAM_CHAT_ID", "chat", u.ChatID, "from", u.FromID)
		return
	}
	fields := strings.Fields(u.Text)
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
		return
	}
	cmd, _, _ := strings.Cut(strings.ToLower(fields[0]), "@") // /auth@mybot
	args := fields[1:]
	k.Log.Info("command", "command", cmd, "from", u.FromID)
	reply := func(text string) {
		if _, err := k.Bridge.TG.SendMessage(ctx, k.Bridge.Chat, telegram.Message{Text: telegram.Escape(text)}); err != nil {
			k.Log.Warn("cannot reply", "err", err)
		}
	}
	var s *session.Session
	if cmd == "/auth" || cmd == "/logout" {
		var err error
		if s, err = k.session(args); err != nil {
			reply(err.Error())
			return
		}
	}
	switch cmd {
	case "/auth":
		k.mu.Lock()
		if k.running == nil {
			k.running = map[string]bool{}
		}
		busy := k.running[s.Profile]
		k.running[s.Profile] = true
		k.mu.Unlock()
		if busy {
			reply(fmt.Sprintf("A sign-in for profile %s is already under way: use the code above.", s.Profile))
			return
		}
		force := len(args) > 1 && args[1] == "force"
		k.inflight.Add(1)
		go func() {
			defer k.inflight.Done()
			defer func() { k.mu.Lock(); delete(k.running, s.Profile); k.mu.Unlock() }()
			if _, err := k.Bridge.SignIn(ctx, s, force); err != nil {
				k.Log.Warn("sign-in did not complete", "profile", s.Profile, "err", err)
			} else {
				k.Log.Info("signed in", "profile", s.Profile)
			}
		}()
	case "/status":
		var b strings.Builder
		for _, s := range k.Sessions {
			st, err := s.Status()
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", s.Profile, err)
				continue
			}
			fmt.Fprintf(&b, "%s (%s): %s", st.Profile, st.Provider, st.State)
			if st.Account.Email != "" || st.Account.Name != "" {
				fmt.Fprintf(&b, " as %s", strings.TrimSpace(st.Account.Name+" "+st.Account.Email))
			}
			if st.AccessTokenExpiresAt != nil {
				fmt.Fprintf(&b, ", token until %s", st.AccessTokenExpiresAt.Format("2006-01-02 15:04 UTC"))
			}
			b.WriteString("\n")
		}
		reply(strings.TrimSpace(b.String()))
	case "/logout":
		res, err := s.Logout(ctx, false)
		switch {
		case err != nil:
			reply(fmt.Sprintf("Sign-out of %s failed: %v", s.Profile, err))
		case res == session.NotSignedIn:
			reply(fmt.Sprintf("Profile %s is not signed in.", s.Profile))
		default:
			reply(fmt.Sprintf("Signed out of profile %s.", s.Profile))
		}
	case "/start", "/help":
		reply("Commands: /auth [profile] to sign in, /status, /logout [profile].")
	}
}

func (k *Keeper) session(args []string) (*session.Session, error) {
	if len(args) == 0 {
		return k.Sessions[0], nil
	}
	var names []string
	for _, s := range k.Sessions {
		if s.Profile == args[0] {
			return s, nil
		}
		names = append(names, s.Profile)
	}
	return nil, fmt.Errorf("unknown profile %q; configured: %s", args[0], strings.Join(names, ", "))
}
