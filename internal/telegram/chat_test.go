package telegram_test

import (
	"context"
	"errors"
	"testing"

	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// GetChat reaches a chat without sending to it; an unknown chat is
// Telegram's 400 "chat not found".
func TestGetChat(t *testing.T) {
	api := telegramtest.New(t)
	api.AddChat(42)
	ctx := context.Background()
	c, err := telegram.New(ctx, telegram.Config{Token: api.Token(), APIURL: api.URL()})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.GetChat(ctx, 42)
	if err != nil || info.ID != 42 || info.Type != "private" {
		t.Fatalf("GetChat(42) = %+v, %v", info, err)
	}
	_, err = c.GetChat(ctx, 43)
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 400 || te.Description != "Bad Request: chat not found" {
		t.Fatalf("GetChat(43): %v", err)
	}
	if msgs := api.Chat(42); len(msgs) != 0 {
		t.Fatalf("getChat sent %d messages", len(msgs))
	}
}
