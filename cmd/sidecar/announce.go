package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// announceTimeout bounds telling the chat; the sign-in or sign-out is done
// by then, and a command must not hang on Telegram.
const announceTimeout = 20 * time.Second

// announce tells the owner's chat, through the gatekeeper bot, about a
// sign-in or sign-out, whoever started it, when a bot is configured
// (TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID). Sending never conflicts with
// serve's polling. A failure is a warning: what was done is done.
func announce(ctx context.Context, s *session.Session, c bridge.Change, stderr io.Writer) {
	a, err := app.Load()
	if err != nil {
		return // the command itself loaded it; nothing new to say
	}
	if tok, _ := a.Config.Telegram.Token(); tok == "" || a.Config.Telegram.ChatID == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
	defer cancel()
	c.Provider, c.Profile, c.Host, c.By = s.Provider.Kind, s.Profile, a.Host(), s.Caller
	tg, chat, err := a.Telegram(ctx, slog.New(slog.DiscardHandler))
	if err == nil {
		_, err = tg.SendMessage(ctx, chat, bridge.ChangeMessage(c))
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: warning: could not announce it in Telegram: %v\n", prog.Name, err)
	}
}

// confirmSwitch is the session's ConfirmSwitch for a sign-in judged by g
// as a: a change of account is put to the owner (the agent's; the
// owner's own pass), and the replaced account is kept in *replaced for
// the announcement.
func confirmSwitch(g *gate.Gate, a gate.Action, replaced **tokencache.Account) func(context.Context, tokencache.Account, tokencache.Account) error {
	return func(ctx context.Context, from, to tokencache.Account) error {
		if err := g.ConfirmAccount(ctx, a, bridge.AccountLabel(from), bridge.AccountLabel(to)); err != nil {
			return err
		}
		*replaced = &from
		return nil
	}
}
