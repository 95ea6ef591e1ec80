package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/approval"
	dgate "github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/telegram"
)

// GrantKeeper holds the "Allow for 1 hour" grants in force
// (approval.Server).
type GrantKeeper interface {
	Grants() []approval.Grant
	EndGrant(id string) (approval.Grant, bool, error)
}

// Grants answers /grants in the gatekeeper chat: the grants in force, each
// with a button that ends it. Only the owner's taps count; every tap is
// answered.
type Grants struct {
	TG     ApprovalMessenger
	Chat   int64
	Owner  int64
	Keeper GrantKeeper
	Log    *slog.Logger
	Now    func() time.Time
}

// grantPrefix marks the callback data of an "End" button:
// "gr1:" and the grant's 16 hex digits, 20 bytes of Telegram's 64.
const grantPrefix = "gr1:"

// Answers shown after a tap on an End button.
const (
	tapGrantEnded = "Ended: the next such request asks you again."
	tapGrantGone  = "This grant has already ended."
)

func (g *Grants) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Grants) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Show posts the grants in force.
func (g *Grants) Show(ctx context.Context) {
	if _, err := g.TG.SendMessage(ctx, g.Chat, GrantsMessage(g.Keeper.Grants(), g.now())); err != nil {
		g.log().Warn("cannot show the grants", "err", err)
	}
}

// IsGrantTap reports whether callback data is an End button's.
func IsGrantTap(data string) bool { return strings.HasPrefix(data, grantPrefix) }

// Tap ends the grant whose End button the owner tapped, and brings the
// list up to date.
func (g *Grants) Tap(ctx context.Context, u telegram.Update) {
	answer := func(text string) {
		if err := g.TG.AnswerCallback(ctx, u.CallbackID, text); err != nil {
			g.log().Warn("cannot answer a tap", "err", err)
		}
	}
	if g.Owner == 0 || u.FromID != g.Owner || u.ChatID != g.Chat {
		answer(tapNotOwner)
		g.log().Warn("ignored a tap from someone who is not the owner", "from", u.FromID, "chat", u.ChatID)
		return
	}
	id := strings.TrimPrefix(u.CallbackData, grantPrefix)
	_, ok, err := g.Keeper.EndGrant(id)
	switch {
	case err != nil:
		answer("Could not end it: see serve's log.")
		g.log().Error("cannot end a grant", "err", err)
		return
	case ok:
		answer(tapGrantEnded)
	default:
		answer(tapGrantGone)
	}
	if err := g.TG.EditMessage(ctx, g.Chat, u.MessageID, GrantsMessage(g.Keeper.Grants(), g.now())); err != nil {
		g.log().Warn("cannot update the grants message", "err", err)
	}
}

// maxGrantsShown bounds the list (and its buttons) in one message.
const maxGrantsShown = 30

// GrantsMessage lists the grants in force, each with its End button.
func GrantsMessage(grants []approval.Grant, now time.Time) telegram.Message {
	if len(grants) == 0 {
		return telegram.Message{Text: esc("No \"Allow for 1 hour\" is in force: every request the policy asks about is put to you.")}
	}
	var b strings.Builder
	b.WriteString("⏳ *\"Allow for 1 hour\" in force*\n\n")
	var buttons []telegram.Button
	for i, gr := range grants {
		if i == maxGrantsShown {
			fmt.Fprintf(&b, "%s\n", esc(fmt.Sprintf("… and %d more: end them with /logout, or wait for them to end.", len(grants)-i)))
			break
		}
		fmt.Fprintf(&b, "%d\\. Profile %s: %s\n   Rule %s, until %s \\(%s left\\)\n",
			i+1, code(gr.Profile), grantWhat(gr), code(telegram.Truncate(gr.Rule, 300)),
			esc(gr.Until.UTC().Format("15:04 UTC")), esc(left(gr.Until.Sub(now))))
		buttons = append(buttons, telegram.Button{Text: fmt.Sprintf("End %d", i+1), Data: grantPrefix + gr.ID, Row: i/4 + 1})
	}
	return telegram.Message{Text: strings.TrimRight(b.String(), "\n"), Buttons: buttons}
}

// grantWhat says what a grant covers, in MarkdownV2.
func grantWhat(g approval.Grant) string {
	switch dgate.Kind(g.Action) {
	case dgate.API:
		return "API calls " + code(telegram.Truncate(g.Method+" "+g.Host, 300))
	case dgate.Token:
		s := "the raw token"
		switch g.Variant {
		case dgate.VariantScoped:
			s = "tokens for scopes " + strings.Join(g.Scopes, " ")
		case dgate.VariantAWS:
			s = "AWS role credentials"
		}
		return esc(telegram.Truncate(s, 300))
	case dgate.Run:
		s := "running " + code(telegram.Truncate(g.Program, 100))
		if g.WithToken {
			s += esc(" with the raw token")
		}
		return s
	}
	return esc(telegram.Truncate(g.Action, 100))
}
