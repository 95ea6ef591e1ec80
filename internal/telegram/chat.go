package telegram

import (
	"context"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// ChatInfo is what getChat says about a chat.
type ChatInfo struct {
	ID       int64
	Type     string // "private", "group", "supergroup" or "channel"
	Title    string // groups and channels
	Username string
}

// GetChat asks Telegram about chatID without sending anything: a chat the
// bot cannot reach (a person who never wrote to it) is 400 "chat not
// found", an *Error.
func (c *Client) GetChat(ctx context.Context, chatID int64) (ChatInfo, error) {
	var ch tgbotapi.Chat
	err := c.do(ctx, "getChat", callTimeout, c.attempts, func(hc tgbotapi.HTTPClient) error {
		var err error
		ch, err = c.bot(hc).GetChat(tgbotapi.ChatInfoConfig{ChatConfig: tgbotapi.ChatConfig{ChatID: chatID}})
		return err
	})
	if err != nil {
		return ChatInfo{}, err
	}
	return ChatInfo{ID: ch.ID, Type: ch.Type, Title: ch.Title, Username: ch.UserName}, nil
}
