package telegram

import (
	"context"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Message is the content of a text message.
type Message struct {
	// Text is MarkdownV2: build it with Escape, EscapeCode and EscapeURL.
	// Telegram allows 1–4096 characters after entity parsing (MaxTextLen);
	// keep variable parts short with Truncate.
	Text string
	// Buttons are inline URL buttons, one per row. Telegram refuses some
	// URLs (ErrButtonURL): then send the link in Text instead.
	Buttons []Button
}

// Button is an inline keyboard button that opens URL, or, with Data
// instead, sends the bot a tap (a callback query) carrying Data: at most
// 64 bytes.
type Button struct {
	Text string
	URL  string
	Data string
	// Row groups buttons: consecutive buttons with the same non-zero Row
	// share a row; otherwise each button has a row of its own.
	Row int
}

func keyboard(buttons []Button) *tgbotapi.InlineKeyboardMarkup {
	rows := make([][]tgbotapi.InlineKeyboardButton, 0, len(buttons)) // [] not null: an empty keyboard removes it
	for i, b := range buttons {
		kb := tgbotapi.NewInlineKeyboardButtonURL(b.Text, b.URL)
		if b.Data != "" {
			kb = tgbotapi.NewInlineKeyboardButtonData(b.Text, b.Data)
		}
		if i > 0 && b.Row != 0 && b.Row == buttons[i-1].Row {
			rows[len(rows)-1] = append(rows[len(rows)-1], kb)
			continue
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(kb))
	}
	return &tgbotapi.InlineKeyboardMarkup{InlineKeyboard: rows}
}

// SendMessage sends m to chatID with link previews off and returns the new
// message's id.
//
// After a network failure the message is sent again; if the first attempt
// had in fact arrived, the person sees it twice (the Bot API has no
// idempotency key).
func (c *Client) SendMessage(ctx context.Context, chatID int64, m Message) (int, error) {
	cfg := tgbotapi.NewMessage(chatID, m.Text)
	cfg.ParseMode = tgbotapi.ModeMarkdownV2
	cfg.DisableWebPagePreview = true
	if len(m.Buttons) > 0 {
		cfg.ReplyMarkup = keyboard(m.Buttons)
	}
	return c.send(ctx, "sendMessage", cfg)
}

// EditMessage replaces the text and buttons of message id in chatID (no
// buttons removes them). Editing to the same content is not an error.
func (c *Client) EditMessage(ctx context.Context, chatID int64, id int, m Message) error {
	cfg := tgbotapi.NewEditMessageText(chatID, id, m.Text)
	cfg.ParseMode = tgbotapi.ModeMarkdownV2
	cfg.DisableWebPagePreview = true
	if len(m.Buttons) > 0 {
		cfg.ReplyMarkup = keyboard(m.Buttons)
	}
	return c.edit(ctx, "editMessageText", cfg)
}

// EditReplyMarkup replaces only the buttons of message id in chatID; no
// buttons removes them. Setting the same buttons is not an error.
func (c *Client) EditReplyMarkup(ctx context.Context, chatID int64, id int, buttons []Button) error {
	cfg := tgbotapi.NewEditMessageReplyMarkup(chatID, id, *keyboard(buttons))
	return c.edit(ctx, "editMessageReplyMarkup", cfg)
}

// send sends cfg and returns the new message's id.
func (c *Client) send(ctx context.Context, method string, cfg tgbotapi.Chattable) (int, error) {
	var sent tgbotapi.Message
	err := c.do(ctx, method, callTimeout, c.attempts, func(hc tgbotapi.HTTPClient) error {
		var err error
		sent, err = c.bot(hc).Send(cfg)
		return err
	})
	if err != nil {
		return 0, err
	}
	return sent.MessageID, nil
}

func (c *Client) edit(ctx context.Context, method string, cfg tgbotapi.Chattable) error {
	err := c.request(ctx, method, cfg)
	if notModified(err) {
		return nil
	}
	return err
}

// request sends cfg and ignores the result (Send would fail to decode a
// bare true).
func (c *Client) request(ctx context.Context, method string, cfg tgbotapi.Chattable) error {
	return c.do(ctx, method, callTimeout, c.attempts, func(hc tgbotapi.HTTPClient) error {
		_, err := c.bot(hc).Request(cfg)
		return err
	})
}

// SendPhoto uploads a PNG image to chatID with a MarkdownV2 caption (at most
// MaxCaptionLen characters after parsing; may be empty) and returns the new
// message's id.
func (c *Client) SendPhoto(ctx context.Context, chatID int64, png []byte, caption string) (int, error) {
	cfg := tgbotapi.NewPhoto(chatID, tgbotapi.FileBytes{Name: "image.png", Bytes: png})
	cfg.Caption = caption
	if caption != "" {
		cfg.ParseMode = tgbotapi.ModeMarkdownV2
	}
	return c.send(ctx, "sendPhoto", cfg)
}

// DeleteMessage deletes message id in chatID. Telegram only deletes
// messages younger than 48 hours; for an older or already deleted one it
// answers 400 "message to delete not found" (an *Error).
func (c *Client) DeleteMessage(ctx context.Context, chatID int64, id int) error {
	return c.request(ctx, "deleteMessage", tgbotapi.NewDeleteMessage(chatID, id))
}
