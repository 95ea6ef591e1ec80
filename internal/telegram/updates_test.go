package telegram_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// listen runs Listen in the background.
func listen(ctx context.Context, c *telegram.Client, fn func(telegram.Update)) <-chan error {
	done := make(chan error, 1)
	go func() { done <- c.Listen(ctx, fn) }()
	return done
}

func TestListenDeliversAndConfirms(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	first := e.tg.PushUpdate(chatID, 7, "hello")
	e.tg.PushUpdate(chatID, 7, "/auth")
	e.tg.PushUpdate(chatID, 7, "later")

	var got []telegram.Update
	err := <-listen(ctx, e.c, func(u telegram.Update) {
		got = append(got, u)
		if u.Text == "/auth" {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Listen = %v, want context.Canceled", err)
	}
	want := []telegram.Update{
		{UpdateID: first, ChatID: chatID, FromID: 7, FromUsername: "user7", Text: "hello", MessageID: 1},
		{UpdateID: first + 1, ChatID: chatID, FromID: 7, FromUsername: "user7", Text: "/auth", MessageID: 2},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("updates = %+v, want %+v", got, want)
	}
	// The two handled updates were confirmed on the way out; "later" waits
	// for the next poller.
	if n := e.tg.Snapshot().PendingUpdates; n != 1 {
		t.Fatalf("%d updates pending, want 1", n)
	}
	ctx2, cancel2 := context.WithCancel(testContext(t))
	defer cancel2()
	var again []string
	err = <-listen(ctx2, e.c, func(u telegram.Update) {
		again = append(again, u.Text)
		cancel2()
	})
	if !errors.Is(err, context.Canceled) || len(again) != 1 || again[0] != "later" {
		t.Fatalf("second Listen = %v, got %v; want only \"later\"", err, again)
	}
}

func TestListenWaitsForMessages(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	got := make(chan telegram.Update, 1)
	done := listen(ctx, e.c, func(u telegram.Update) { got <- u })
	if err := e.tg.WaitFor(ctx, func(v telegramtest.View) bool { return v.Polling }); err != nil {
		t.Fatal(err)
	}
	e.tg.PushUpdate(chatID, chatID, "/auth")
	if u := <-got; u.Text != "/auth" || u.ChatID != chatID {
		t.Fatalf("update = %+v", u)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Listen = %v", err)
	}
	if n := e.tg.Snapshot().PendingUpdates; n != 0 {
		t.Fatalf("%d updates pending after Listen, want 0", n)
	}
}

func TestListenConflict(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)
	done := listen(ctx, e.c, func(telegram.Update) {})
	if err := e.tg.WaitFor(ctx, func(v telegramtest.View) bool { return v.Polling }); err != nil {
		t.Fatal(err)
	}
	e.tg.CompetingPoll()
	err := <-done
	if !errors.Is(err, telegram.ErrConflict) {
		t.Fatalf("Listen = %v, want ErrConflict", err)
	}
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 409 || te.Method != "getUpdates" {
		t.Fatalf("error = %#v", err)
	}

	// With a webhook set, Telegram answers 409 too.
	e.tg.SetWebhook(true)
	if err := <-listen(ctx, e.c, func(telegram.Update) {}); !errors.Is(err, telegram.ErrConflict) {
		t.Fatalf("Listen with a webhook = %v, want ErrConflict", err)
	}
}

func TestListenUnauthorized(t *testing.T) {
	e := setup(t)
	e.tg.Inject("getUpdates", telegramtest.Fault{Status: 401, Description: "Unauthorized"})
	err := <-listen(testContext(t), e.c, func(telegram.Update) {})
	if !errors.Is(err, telegram.ErrUnauthorized) {
		t.Fatalf("Listen = %v, want ErrUnauthorized", err)
	}
	if n := e.calls("getUpdates"); n != 1 {
		t.Fatalf("%d getUpdates calls, want 1", n)
	}
}

func TestListenSurvivesOutages(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	// MaxAttempts is 3: two rounds of failures exhaust GetUpdates twice.
	e.tg.Inject("getUpdates",
		telegramtest.ServerError(502), telegramtest.ServerError(502), telegramtest.ServerError(502),
		telegramtest.DropConnection(), telegramtest.DropConnection(), telegramtest.DropConnection(),
		telegramtest.TooManyRequests(1))
	e.tg.PushUpdate(chatID, chatID, "/auth")
	var got []string
	err := <-listen(ctx, e.c, func(u telegram.Update) {
		got = append(got, u.Text)
		cancel()
	})
	if !errors.Is(err, context.Canceled) || len(got) != 1 || got[0] != "/auth" {
		t.Fatalf("Listen = %v, got %v", err, got)
	}
	pauses := 0
	for _, d := range e.sleeps.got() {
		if d == 30*time.Second {
			pauses++
		}
	}
	if pauses != 2 {
		t.Fatalf("waits = %v, want two 30 s pauses between exhausted polls", e.sleeps.got())
	}
}

// A tap on an inline button arrives as an update with the callback's id
// and data, in the chat of the message it is on; AnswerCallback answers it
// once (Telegram refuses a second answer).
func TestListenDeliversTaps(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	id, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: "Allow?", Buttons: []telegram.Button{
		{Text: "Allow once", Data: "ap1:0123456789abcdef:o", Row: 1},
		{Text: "Deny", Data: "ap1:0123456789abcdef:d", Row: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := e.tg.Snapshot().Last(chatID); len(m.Buttons) != 1 || len(m.Buttons[0]) != 2 {
		t.Fatalf("buttons = %+v, want one row of two", m.Buttons)
	}
	qid, _, err := e.tg.TapButton(chatID, 7, "Deny")
	if err != nil {
		t.Fatal(err)
	}
	var got telegram.Update
	<-listen(ctx, e.c, func(u telegram.Update) { got = u; cancel() })
	if got.CallbackID != qid || got.CallbackData != "ap1:0123456789abcdef:d" || got.ChatID != chatID || got.FromID != 7 || got.MessageID != id || got.Text != "" {
		t.Fatalf("update = %+v", got)
	}
	if err := e.c.AnswerCallback(testContext(t), qid, "Only the owner decides."); err != nil {
		t.Fatal(err)
	}
	if err := e.c.AnswerCallback(testContext(t), qid, ""); err == nil {
		t.Error("a second answer to the same tap succeeded")
	}
	if cb := e.tg.Callbacks(); len(cb) != 1 || !cb[0].Answered || cb[0].Text != "Only the owner decides." {
		t.Errorf("callbacks = %+v", cb)
	}
}
