package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/telegram"
)

// LinkMessage is the code flow's sign-in message (OAUTH_FLOW=code): what
// asks and when (r.Asked), a Sign in button to the authorization link, and two lines
// of instructions. linkInText is set when Telegram refused the URL as a
// button (a host without a dot): the link goes in the text then.
func LinkMessage(r Request, l codeflow.Link, now time.Time, linkInText bool) telegram.Message {
	var b strings.Builder
	b.WriteString("🔐 *Sign\\-in request*\n")
	b.WriteString(header(r))
	b.WriteString("\n")
	if linkInText {
		fmt.Fprintf(&b, "1\\. Open %s and allow\n", esc(l.URL))
	} else {
		b.WriteString("1\\. Tap *Sign in* below and allow\n")
	}
	fmt.Fprintf(&b, "2\\. Your browser then tries to open an address beginning with %s and cannot load it: copy that whole address and send it here\n\n", code(l.RedirectURI))
	if r.OneOff {
		b.WriteString("⏱ One\\-off grant: access ends when the access token expires; no refresh token will be kept\\.\n")
	}
	fmt.Fprintf(&b, "⏳ Expires in %s \\(%s\\)\n", esc(left(l.ExpiresAt.Sub(now))), esc(l.ExpiresAt.UTC().Format("15:04 UTC")))
	b.WriteString("_Did not ask for this? Ignore it: nothing is granted unless you allow and send the address\\._")
	m := telegram.Message{Text: b.String()}
	if !linkInText {
		m.Buttons = []telegram.Button{{Text: "Sign in", URL: l.URL}}
	}
	return m
}

// authorize is the code flow's Authorize hook: it registers the attempt's
// state with the Router, so that the owner's paste reaches it, and sends
// the sign-in message.
func (m *message) authorize(ctx context.Context, l codeflow.Link) (<-chan codeflow.Paste, error) {
	if m.b.Pastes == nil {
		return nil, errors.New("the code flow through Telegram needs a way for pasted addresses to arrive (sidecar serve reads the chat)")
	}
	pastes, cancel, err := m.b.Pastes.Open(ctx, l.State, func(err error) { m.b.replyPaste(ctx, err) })
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unregister = cancel
	m.link = &l
	msg := LinkMessage(m.req, l, m.b.now(), false)
	id, err := m.b.TG.SendMessage(ctx, m.b.Chat, msg)
	if errors.Is(err, telegram.ErrButtonURL) {
		// Telegram refuses URL buttons to a host without a dot (a
		// loopback provider): the link goes in the text.
		m.linkInText = true
		msg = LinkMessage(m.req, l, m.b.now(), true)
		id, err = m.b.TG.SendMessage(ctx, m.b.Chat, msg)
	}
	if err != nil {
		return nil, tgErr("sending the sign-in message", err)
	}
	m.id, m.last = id, msg.Text
	if m.s != nil {
		m.b.progress(Step{Session: m.s, Link: &l})
	}
	return pastes, nil
}

// paste hands a text the owner sent to the chat to the sign-in waiting for
// it (by its state), and deletes the message at once: it holds a
// one-time code. What did not count gets one reply.
func (c *Chat) paste(ctx context.Context, msgID int, text string, owner bool) {
	if msgID != 0 {
		if err := c.Bridge.TG.DeleteMessage(ctx, c.Bridge.Chat, msgID); err != nil {
			c.log().Warn("could not delete a pasted sign-in address", "err", err)
		}
	}
	switch {
	case !owner && c.Owner == 0:
		c.reply(ctx, "Only the owner can finish a sign-in, and no owner is set: set TELEGRAM_OWNER_ID to your Telegram user id. That address was not used, and it is deleted.")
		return
	case !owner:
		c.reply(ctx, "Only the owner can finish a sign-in. That address was not used, and it is deleted.")
		return
	}
	if c.Pastes == nil {
		c.reply(ctx, "No sign-in is waiting for an address. Send /auth to start one.")
		return
	}
	var once sync.Once
	c.Pastes.Deliver(codeflow.Paste{Text: text, Reply: func(err error) {
		once.Do(func() { c.Bridge.replyPaste(ctx, err) })
	}})
}

// replyPaste tells the chat why a paste did not count.
func (b *Bridge) replyPaste(ctx context.Context, err error) {
	msg := telegram.Message{Text: telegram.Escape("That address did not finish the sign-in: " + err.Error())}
	if _, err := b.TG.SendMessage(ctx, b.Chat, msg); err != nil {
		b.log().Warn("cannot reply", "err", err)
	}
}

// looksLikePaste reports whether a message is meant as a sign-in address:
// one that carries a state, or a code (which must not stay in the chat).
func looksLikePaste(text string) bool {
	l := strings.ToLower(text)
	return strings.Contains(l, "state=") || strings.Contains(l, "code=") || strings.Contains(l, "error=")
}
