package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/telegram"
)

// Telegram connects to the bot configured by TELEGRAM_*. A missing token or
// chat is a configuration error (2); a refused token or an unreachable
// Bot API is a Telegram failure (7).
func Telegram(ctx context.Context, c *config.Config, log *slog.Logger) (*telegram.Client, int64, error) {
	token, err := c.Telegram.Token()
	if err != nil {
		return nil, 0, exitcode.With(exitcode.Usage, err)
	}
	if token == "" {
		return nil, 0, exitcode.With(exitcode.Usage, &config.Error{Var: "TELEGRAM_BOT_TOKEN", Msg: "is required: the token @BotFather gave you (or set TELEGRAM_BOT_TOKEN_FILE)"})
	}
	if c.Telegram.ChatID == 0 {
		return nil, 0, exitcode.With(exitcode.Usage, &config.Error{Var: "TELEGRAM_CHAT_ID", Msg: "is required: the id of the chat to send sign-in codes to"})
	}
	tg, err := telegram.New(ctx, telegram.Config{Token: token, APIURL: c.Telegram.ApiURL, Logger: log})
	if errors.Is(err, telegram.ErrUnauthorized) {
		return nil, 0, exitcode.With(exitcode.Telegram, fmt.Errorf("TELEGRAM_BOT_TOKEN: %w; check it with @BotFather", err))
	}
	if err != nil {
		return nil, 0, exitcode.With(exitcode.Telegram, err)
	}
	return tg, int64(c.Telegram.ChatID), nil
}

// Host names the requester in Telegram messages: SIDECAR_HOSTNAME, else
// the host name (a container's id, unless compose sets hostname).
func Host(c *config.Config) string {
	if c.Sidecar.Hostname != "" {
		return c.Sidecar.Hostname
	}
	h, _ := os.Hostname()
	return h
}
