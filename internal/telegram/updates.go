package telegram

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Update is a message someone sent to the bot, or a tap on one of the
// bot's inline buttons (CallbackID set). For other updates only UpdateID
// is set.
type Update struct {
	UpdateID     int
	ChatID       int64
	FromID       int64
	FromUsername string // without the @; may be empty
	Text         string
	MessageID    int // the message; for a tap, the message the button is on

	// A tap: every one must be answered (AnswerCallback), or the button
	// keeps spinning in the person's app.
	CallbackID   string
	CallbackData string
}

// PollTimeout is how long Listen's long polls wait for an update.
const PollTimeout = 25 * time.Second

// confirmTimeout bounds the request that confirms the last updates when
// Listen stops.
const confirmTimeout = 5 * time.Second

// GetUpdates long-polls for updates with update_id >= offset, waiting up to
// timeout (whole seconds) when there are none; asking with offset confirms
// every earlier update, which Telegram then forgets. It asks for messages
// and taps on inline buttons. A second process polling the same bot makes
// it fail with ErrConflict.
func (c *Client) GetUpdates(ctx context.Context, offset int, timeout time.Duration) ([]Update, error) {
	return c.getUpdates(ctx, tgbotapi.UpdateConfig{Offset: offset, Limit: 100, Timeout: int(timeout / time.Second), AllowedUpdates: allowedUpdates}, c.attempts)
}

var allowedUpdates = []string{"message", "callback_query"}

func (c *Client) getUpdates(ctx context.Context, cfg tgbotapi.UpdateConfig, attempts int) ([]Update, error) {
	var raw []tgbotapi.Update
	timeout := time.Duration(cfg.Timeout)*time.Second + callTimeout
	err := c.do(ctx, "getUpdates", timeout, attempts, func(hc tgbotapi.HTTPClient) error {
		var err error
		raw, err = c.bot(hc).GetUpdates(cfg)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Update, len(raw))
	for i, u := range raw {
		out[i].UpdateID = u.UpdateID
		if m := u.Message; m != nil {
			out[i].MessageID, out[i].Text = m.MessageID, m.Text
			if m.Chat != nil {
				out[i].ChatID = m.Chat.ID
			}
			if m.From != nil {
				out[i].FromID, out[i].FromUsername = m.From.ID, m.From.UserName
			}
		}
		if q := u.CallbackQuery; q != nil && q.From != nil {
			out[i].CallbackID, out[i].CallbackData = q.ID, q.Data
			out[i].FromID, out[i].FromUsername = q.From.ID, q.From.UserName
			if m := q.Message; m != nil && m.Chat != nil {
				out[i].ChatID, out[i].MessageID = m.Chat.ID, m.MessageID
			}
		}
	}
	return out, nil
}

// AnswerCallback answers the tap id, showing text (at most 200
// characters; may be empty) as a short notice in the person's app.
func (c *Client) AnswerCallback(ctx context.Context, id, text string) error {
	return c.request(ctx, "answerCallbackQuery", tgbotapi.NewCallback(id, text))
}

// Listen long-polls for messages and taps and calls fn with each, in order, until
// ctx ends. fn runs on Listen's goroutine; polling waits for it. To stop
// after a message, cancel ctx from fn: the rest of that batch is left for
// the next poller.
//
// When ctx ends Listen confirms the updates it handed to fn, so that the
// next poller does not get them again, and returns ctx's error. It returns
// at once on ErrConflict (another process polls this bot), ErrUnauthorized
// and other refusals; it keeps polling through outages (ErrUnreachable,
// 5xx, 429), waiting between tries.
func (c *Client) Listen(ctx context.Context, fn func(Update)) error {
	offset, confirmed := 0, 0
	for {
		ups, err := c.GetUpdates(ctx, offset, PollTimeout)
		switch {
		case ctx.Err() != nil:
			c.confirm(ctx, offset, confirmed)
			return ctx.Err()
		case err != nil && temporary(err):
			wait := backoffCap
			if e := (*Error)(nil); errors.As(err, &e) && e.RetryAfter > wait {
				wait = e.RetryAfter
			}
			c.log.LogAttrs(ctx, slog.LevelWarn, "telegram: polling failed; trying again",
				slog.Duration("wait", wait), slog.String("error", err.Error()))
			if err := c.sleep(ctx, wait); err != nil {
				c.confirm(ctx, offset, confirmed)
				return err
			}
			continue
		case err != nil:
			return err
		}
		confirmed = offset
		for _, u := range ups {
			if u.UpdateID < offset {
				continue
			}
			offset = u.UpdateID + 1
			if u.ChatID != 0 || u.CallbackID != "" {
				fn(u)
			}
			if ctx.Err() != nil {
				c.confirm(ctx, offset, confirmed)
				return ctx.Err()
			}
		}
	}
}

// temporary reports errors that the next poll may not have.
func temporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == http.StatusTooManyRequests || e.Code >= 500
	}
	return errors.Is(err, ErrUnreachable)
}

// confirm tells Telegram that the updates before offset are handled, once,
// after ctx ended. Best effort: if it fails, the next poller gets them again.
func (c *Client) confirm(ctx context.Context, offset, confirmed int) {
	if offset <= confirmed {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	// limit 1, timeout 0: return at once; an update it returns stays unconfirmed.
	if _, err := c.getUpdates(cctx, tgbotapi.UpdateConfig{Offset: offset, Limit: 1}, 1); err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "telegram: could not confirm handled updates", slog.String("error", err.Error()))
	}
}
