package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
)

// Listener is the part of the Telegram client that reads updates.
type Listener interface {
	Listen(ctx context.Context, fn func(telegram.Update)) error
}

// Chat is `sidecar serve`'s side of the conversation: it tells the person
// when a profile needs a sign-in and, with a Listener, answers /auth
// [profile] [force], /status and /logout [profile] from the bridge's chat.
// It lives here, next to the sign-in messages, so that the keeper only
// keeps sign-ins alive and never touches Telegram itself.
type Chat struct {
	Bridge   *Bridge
	Sessions []*session.Session // the first is the default for /auth and /logout
	// Listener, when set, is read for commands; nil means notices only.
	Listener Listener
	Log      *slog.Logger

	mu       sync.Mutex
	running  map[string]bool // profiles with a /auth sign-in under way; made on first use
	inflight sync.WaitGroup
}

func (c *Chat) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

// SignInNeeded tells the chat that a profile can no longer refresh its
// token, and why.
func (c *Chat) SignInNeeded(ctx context.Context, s *session.Session, reason string) error {
	req := Request{Provider: s.Provider.Kind, Profile: s.Profile, Host: c.Bridge.Host}
	_, err := c.Bridge.TG.SendMessage(ctx, c.Bridge.Chat, SignInNeededMessage(req, reason))
	return err
}

// Serve answers commands until ctx ends, then waits for the /auth
// sign-ins it started (they tell the chat how they ended). Without a
// Listener it returns at once. A 409 means another program (OpenClaw,
// usually) reads this bot's updates: two pollers would steal each other's
// messages, so it stops listening and says why.
func (c *Chat) Serve(ctx context.Context) {
	if c.Listener == nil {
		return
	}
	defer c.inflight.Wait()
	err := c.Listener.Listen(ctx, func(u telegram.Update) { c.command(ctx, u) })
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, telegram.ErrConflict):
		c.log().Error("not listening for Telegram commands: another program reads this bot's updates (409 Conflict), probably OpenClaw; send /auth through it, or give devicegate its own bot; set TELEGRAM_LISTEN=false to silence this", "err", err)
	case errors.Is(err, telegram.ErrUnauthorized):
		c.log().Error("not listening for Telegram commands: the bot token was refused", "err", err)
	default:
		c.log().Error("not listening for Telegram commands", "err", err)
	}
}

// Command is a chat command: /auth@mybot work force is {"/auth", ["work", "force"]}.
type Command struct {
	Name string
	Args []string
}

// ParseCommand reads a command from a message text; ok is false for
// anything that is not one.
func ParseCommand(text string) (cmd Command, ok bool) {
	fields := strings.Fields(text)
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
		return Command{}, false
	}
	name, _, _ := strings.Cut(strings.ToLower(fields[0]), "@") // /auth@mybot
	return Command{Name: name, Args: fields[1:]}, true
}

func (c *Chat) command(ctx context.Context, u telegram.Update) {
	log := c.log()
	if u.ChatID != c.Bridge.Chat {
		log.Warn("ignored a message from a chat that is not TELEGRAM_CHAT_ID", "chat", u.ChatID, "from", u.FromID)
		return
	}
	cmd, ok := ParseCommand(u.Text)
	if !ok {
		return
	}
	log.Info("command", "command", cmd.Name, "from", u.FromID)
	reply := func(text string) {
		if _, err := c.Bridge.TG.SendMessage(ctx, c.Bridge.Chat, telegram.Message{Text: telegram.Escape(text)}); err != nil {
			log.Warn("cannot reply", "err", err)
		}
	}
	var s *session.Session
	if cmd.Name == "/auth" || cmd.Name == "/logout" {
		var err error
		if s, err = c.session(cmd.Args); err != nil {
			reply(err.Error())
			return
		}
	}
	switch cmd.Name {
	case "/auth":
		c.auth(ctx, s, len(cmd.Args) > 1 && cmd.Args[1] == "force", reply)
	case "/status":
		reply(StatusText(c.Sessions))
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

// auth starts a sign-in unless one for the profile is under way.
func (c *Chat) auth(ctx context.Context, s *session.Session, force bool, reply func(string)) {
	c.mu.Lock()
	if c.running == nil {
		c.running = map[string]bool{}
	}
	busy := c.running[s.Profile]
	c.running[s.Profile] = true
	c.mu.Unlock()
	if busy {
		reply(fmt.Sprintf("A sign-in for profile %s is already under way: use the code above.", s.Profile))
		return
	}
	c.inflight.Add(1)
	go func() {
		defer c.inflight.Done()
		defer func() { c.mu.Lock(); delete(c.running, s.Profile); c.mu.Unlock() }()
		if _, err := c.Bridge.SignIn(ctx, s, force); err != nil {
			c.log().Warn("sign-in did not complete", "profile", s.Profile, "err", err)
		} else {
			c.log().Info("signed in", "profile", s.Profile)
		}
	}()
}

// StatusText is the answer to /status: one line per profile.
func StatusText(sessions []*session.Session) string {
	var b strings.Builder
	for _, s := range sessions {
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
		if st.OneOff {
			b.WriteString(", one-off grant (no refresh token kept)")
		}
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String())
}

func (c *Chat) session(args []string) (*session.Session, error) {
	if len(args) == 0 {
		return c.Sessions[0], nil
	}
	var names []string
	for _, s := range c.Sessions {
		if s.Profile == args[0] {
			return s, nil
		}
		names = append(names, s.Profile)
	}
	return nil, fmt.Errorf("unknown profile %q; configured: %s", args[0], strings.Join(names, ", "))
}
