package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/clock"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
)

// Listener is the part of the Telegram client that reads updates.
type Listener interface {
	Listen(ctx context.Context, fn func(telegram.Update)) error
}

// Chat is `sidecar serve`'s side of the conversation: it tells the person
// when a profile needs a sign-in and, with a Listener, answers /auth
// [profile] [force], /status, /logout [profile] and /audit from the
// bridge's chat, and hands taps on approval buttons to Approvals. It lives
// here, next to the sign-in messages, so that the keeper only keeps
// sign-ins alive and never touches Telegram itself.
type Chat struct {
	Bridge   *Bridge
	Sessions []*session.Session // the first is the default for /auth and /logout
	// Listener, when set, is read for commands; nil means notices only.
	Listener Listener
	Log      *slog.Logger
	// Owner, if set, is the only user whose commands count (in a group
	// chat anyone could write them).
	Owner int64
	// Pastes, if set, routes the sign-in addresses the owner pastes to the
	// code-flow sign-ins waiting for them (here, or handed off to tgauth).
	Pastes *codeflow.Router
	// Approvals, if set, receives the taps on approval buttons.
	Approvals *Approvals
	// Grants, if set, answers /grants and receives the taps on its End
	// buttons.
	Grants *Grants
	// Audit, if set, answers /audit [denied] [page]: a page of the audit
	// log (AuditReply).
	Audit AuditLog
	// Telegram answers 409 while another program polls the bot. Serve then
	// waits RetryMin, doubling up to RetryMax, and polls again, for ever:
	// a second poller must not silence the owner's /logout.
	RetryMin, RetryMax time.Duration
	// Sleep waits or returns ctx's error; a test hook (nil: a timer).
	Sleep func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	running  map[string]bool // profiles with a /auth sign-in under way; made on first use
	inflight sync.WaitGroup
}

// Defaults of Chat.RetryMin and RetryMax. The cap keeps a /logout sent
// while another program polls answered within a minute: every poll of
// ours gets the updates the other program left unconfirmed.
const (
	DefaultRetryMin = 2 * time.Second
	DefaultRetryMax = 20 * time.Second
)

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
// Listener it returns at once.
//
// It never gives up listening: the owner's /logout is the kill switch.
// A 409 means another program polls this bot (OpenClaw sharing the bot,
// a second serve, or someone who holds the token): Serve tells the owner
// once, in the chat, and keeps polling with a capped backoff, so that it
// still gets the owner's commands within a minute. Other failures (a
// refused token, say) are logged and retried the same way.
func (c *Chat) Serve(ctx context.Context) {
	if c.Listener == nil {
		return
	}
	defer c.inflight.Wait()
	lo, hi := c.RetryMin, c.RetryMax
	if lo <= 0 {
		lo = DefaultRetryMin
	}
	if hi < lo {
		hi = max(DefaultRetryMax, lo)
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = clock.Sleep
	}
	wait, told := lo, false
	for {
		err := c.Listener.Listen(ctx, func(u telegram.Update) {
			wait = lo // polling worked
			c.command(ctx, u)
		})
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, telegram.ErrConflict):
			c.log().Warn("another program polls this bot's updates (409 Conflict); polling again", "wait", wait.String(), "err", err)
			if !told {
				told = true
				c.reply(ctx, "⚠️ Another program is reading this bot's updates (Telegram says 409 Conflict). "+
					"devicegate keeps listening, but commands and approval taps may reach the other program first. "+
					"If OpenClaw uses this bot, give devicegate a bot of its own (README: Two bots), or set TELEGRAM_LISTEN=false.")
			}
		case errors.Is(err, telegram.ErrUnauthorized):
			c.log().Error("Telegram refused the bot token; polling again", "wait", wait.String(), "err", err)
		default:
			c.log().Error("reading Telegram updates failed; polling again", "wait", wait.String(), "err", err)
		}
		if sleep(ctx, wait) != nil {
			return
		}
		wait = min(wait*2, hi)
	}
}

// reply sends text to the chat; a failure is logged.
func (c *Chat) reply(ctx context.Context, text string) {
	if _, err := c.Bridge.TG.SendMessage(ctx, c.Bridge.Chat, telegram.Message{Text: telegram.Escape(text)}); err != nil {
		c.log().Warn("cannot reply", "err", err)
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
	if u.CallbackID != "" {
		if c.Grants != nil && IsGrantTap(u.CallbackData) {
			c.Grants.Tap(ctx, u)
			return
		}
		if c.Approvals != nil {
			c.Approvals.Tap(ctx, u)
			return
		}
		// Every tap is answered, or the button keeps spinning.
		if tg, ok := c.Bridge.TG.(interface {
			AnswerCallback(context.Context, string, string) error
		}); ok {
			if err := tg.AnswerCallback(ctx, u.CallbackID, tapStale); err != nil {
				log.Warn("cannot answer a tap", "err", err)
			}
		}
		return
	}
	if u.ChatID != c.Bridge.Chat {
		log.Warn("ignored a message from a chat that is not TELEGRAM_CHAT_ID", "chat", u.ChatID, "from", u.FromID)
		return
	}
	// A sign-in address (the code flow) is deleted whoever sent it: it
	// holds a one-time code. Only the owner's counts.
	if !strings.HasPrefix(strings.TrimSpace(u.Text), "/") && looksLikePaste(u.Text) {
		c.paste(ctx, u.MessageID, u.Text, c.Owner != 0 && u.FromID == c.Owner)
		return
	}
	if c.Owner != 0 && u.FromID != c.Owner {
		log.Warn("ignored a message from someone who is not TELEGRAM_OWNER_ID", "from", u.FromID)
		return
	}
	cmd, ok := ParseCommand(u.Text)
	if !ok {
		return
	}
	log.Info("command", "command", cmd.Name, "from", u.FromID)
	reply := func(text string) { c.reply(ctx, text) }
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
		st, _ := s.Status()
		res, err := s.Logout(ctx, false)
		switch {
		case err != nil:
			reply(fmt.Sprintf("Sign-out of %s failed: %v", s.Profile, err))
		case res == session.NotSignedIn:
			reply(fmt.Sprintf("Profile %s is not signed in.", s.Profile))
		default:
			// The answer is the announcement every sign-out gets.
			m := ChangeMessage(Change{Request: Request{Provider: s.Provider.Kind, Profile: s.Profile, Host: c.Bridge.Host, By: ByOwner},
				SignedOut: true, Account: st.Account, Command: "/logout", Result: LogoutResult(res, s.Provider.Kind)})
			if _, err := c.Bridge.TG.SendMessage(ctx, c.Bridge.Chat, m); err != nil {
				log.Warn("cannot reply", "err", err)
			}
		}
	case "/audit":
		if c.Audit == nil {
			reply("The audit log is not available here.")
			return
		}
		if _, err := c.Bridge.TG.SendMessage(ctx, c.Bridge.Chat, AuditReply(cmd.Args, c.Audit)); err != nil {
			log.Warn("cannot reply", "err", err)
		}
	case "/grants":
		if c.Grants == nil {
			reply("Approvals are off here: there are no grants.")
			return
		}
		c.Grants.Show(ctx)
	case "/start", "/help":
		reply("Commands: /auth [profile] to sign in, /status, /logout [profile], /audit [denied] [page], /grants.")
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
		reply(fmt.Sprintf("A sign-in for profile %s is already under way: use the code or link above.", s.Profile))
		return
	}
	c.inflight.Add(1)
	go func() {
		defer c.inflight.Done()
		defer func() { c.mu.Lock(); delete(c.running, s.Profile); c.mu.Unlock() }()
		// The owner's /auth: their sign-in, announced as theirs.
		b := *c.Bridge
		b.By = ByOwner
		if _, err := b.SignIn(ctx, s, force); err != nil {
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
		if st.Flow == config.FlowCode {
			b.WriteString(", signed in with the code flow")
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
