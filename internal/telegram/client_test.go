package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/syncbuf"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

const chatID = 42

// sleeps records the client's waits and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type env struct {
	tg     *telegramtest.Server
	c      *telegram.Client
	sleeps *sleeps
	logs   *syncbuf.Buffer
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	// A guard against hangs, not a timing assertion.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func config(tg *telegramtest.Server, s *sleeps, logs *syncbuf.Buffer) telegram.Config {
	return telegram.Config{
		Token:       tg.Token(),
		APIURL:      tg.URL(),
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxAttempts: 3,
		Sleep:       s.sleep,
	}
}

func setup(t *testing.T, mods ...func(*telegram.Config)) *env {
	t.Helper()
	e := &env{tg: telegramtest.New(t), sleeps: &sleeps{}, logs: &syncbuf.Buffer{}}
	e.tg.AddChat(chatID)
	cfg := config(e.tg, e.sleeps, e.logs)
	for _, m := range mods {
		m(&cfg)
	}
	c, err := telegram.New(testContext(t), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.c = c
	t.Cleanup(func() { assertNoToken(t, e.tg.Token(), "logs", e.logs.String()) })
	return e
}

// calls counts the requests to method.
func (e *env) calls(method string) int {
	n := 0
	for _, c := range e.tg.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

func (e *env) only(t *testing.T) telegramtest.Message {
	t.Helper()
	msgs := e.tg.Chat(chatID)
	if len(msgs) != 1 {
		t.Fatalf("chat has %d messages, want 1: %+v", len(msgs), msgs)
	}
	return msgs[0]
}

func TestNew(t *testing.T) {
	e := setup(t)
	if got := e.c.Username(); got != telegramtest.BotUsername {
		t.Errorf("Username = %q, want %q", got, telegramtest.BotUsername)
	}
	if n := e.calls("getMe"); n != 1 {
		t.Errorf("%d getMe calls, want 1", n)
	}
}

func TestNewRefusedToken(t *testing.T) {
	tg := telegramtest.New(t)
	tests := []struct {
		name, token string
		calls       int // requests that reach the server
	}{
		{"wrong token", "123456:AAwrongwrongwrong", 1},
		{"404 on getMe", "nocolon", 1},
		{"malformed", "123456:AA/../x", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tg.Calls())
			_, err := telegram.New(testContext(t), telegram.Config{Token: tt.token, APIURL: tg.URL(), Sleep: (&sleeps{}).sleep})
			if !errors.Is(err, telegram.ErrUnauthorized) {
				t.Fatalf("New = %v, want ErrUnauthorized", err)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Fatalf("error %q shows the token", err)
			}
			if n := len(tg.Calls()) - before; n != tt.calls {
				t.Fatalf("%d requests, want %d (no retry of a refused token)", n, tt.calls)
			}
		})
	}
}

func TestNewBadAPIURL(t *testing.T) {
	for _, u := range []string{"ftp://example.com", "example.com", "https://example.com/?x=1"} {
		if _, err := telegram.New(testContext(t), telegram.Config{Token: telegramtest.DefaultToken, APIURL: u}); err == nil {
			t.Errorf("New with APIURL %q: no error", u)
		}
	}
}

func TestSendMessage(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)
	text := "*Sign in* with `" + telegram.EscapeCode("WDJB-MJHT") + "` at " + telegram.Escape("https://example.com/device") + "\\."
	id, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: text, Buttons: []telegram.Button{{Text: "Open", URL: "https://example.com/device"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := e.only(t)
	if m.ID != id || m.Text != "Sign in with WDJB-MJHT at https://example.com/device." || m.ParseMode != "MarkdownV2" {
		t.Fatalf("message = %+v (id %d)", m, id)
	}
	if len(m.Buttons) != 1 || m.Buttons[0][0] != (telegramtest.Button{Text: "Open", URL: "https://example.com/device"}) {
		t.Fatalf("buttons = %+v", m.Buttons)
	}
	if p := e.tg.Calls()[1].Params; p["disable_web_page_preview"] != "true" {
		t.Errorf("link previews are on: %v", p)
	}

	// Whatever the text, escaped it arrives as it was.
	nasty := `C:\temp\x_1 *[a](b)* ~> #+-=|{}.! 🏟`
	if _, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: telegram.Escape(nasty)}); err != nil {
		t.Fatal(err)
	}
	if got := e.tg.Chat(chatID)[1].Text; got != nasty {
		t.Fatalf("escaped text arrived as %q, want %q", got, nasty)
	}
}

func TestSendMessageRefusals(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)

	_, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: "Sign in."})
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 400 || te.Method != "sendMessage" || !strings.Contains(te.Description, "can't parse entities") {
		t.Fatalf("unescaped dot: %v", err)
	}
	if errors.Is(err, telegram.ErrButtonURL) || errors.Is(err, telegram.ErrUnauthorized) {
		t.Fatalf("parse error matches a sentinel: %v", err)
	}

	_, err = e.c.SendMessage(ctx, 999, telegram.Message{Text: "hi"})
	if !errors.As(err, &te) || te.Code != 400 || te.Description != "Bad Request: chat not found" {
		t.Fatalf("unknown chat: %v", err)
	}

	e.tg.BlockChat(chatID, true)
	_, err = e.c.SendMessage(ctx, chatID, telegram.Message{Text: "hi"})
	if !errors.As(err, &te) || te.Code != 403 {
		t.Fatalf("blocked: %v", err)
	}
	// 400 and 403 are never retried.
	if n := e.calls("sendMessage"); n != 3 {
		t.Fatalf("%d sendMessage calls, want 3", n)
	}
	if got := e.sleeps.got(); len(got) != 0 {
		t.Fatalf("slept %v before giving up on a refusal", got)
	}
}

func TestButtonURLRefused(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)
	link := "http://localhost:8080/device"
	msg := telegram.Message{Text: "Sign in", Buttons: []telegram.Button{{Text: "Open", URL: link}}}

	_, err := e.c.SendMessage(ctx, chatID, msg)
	if !errors.Is(err, telegram.ErrButtonURL) {
		t.Fatalf("SendMessage = %v, want ErrButtonURL", err)
	}
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 400 || !strings.Contains(te.Description, link) {
		t.Fatalf("error = %#v", err)
	}
	// What the caller does then: the link goes in the text.
	id, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: "Sign in at " + telegram.Escape(link)})
	if err != nil {
		t.Fatal(err)
	}
	if m := e.only(t); m.ID != id || m.Text != "Sign in at "+link {
		t.Fatalf("fallback message = %+v", m)
	}
	// Edits report it the same way.
	if err := e.c.EditMessage(ctx, chatID, id, msg); !errors.Is(err, telegram.ErrButtonURL) {
		t.Fatalf("EditMessage = %v, want ErrButtonURL", err)
	}
	if err := e.c.EditReplyMarkup(ctx, chatID, id, msg.Buttons); !errors.Is(err, telegram.ErrButtonURL) {
		t.Fatalf("EditReplyMarkup = %v, want ErrButtonURL", err)
	}
}

func TestEditMessage(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)
	buttons := []telegram.Button{{Text: "Open", URL: "https://example.com/device"}}
	id, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: "Code: `A`", Buttons: buttons})
	if err != nil {
		t.Fatal(err)
	}

	if err := e.c.EditMessage(ctx, chatID, id, telegram.Message{Text: "Code: `B`", Buttons: buttons}); err != nil {
		t.Fatal(err)
	}
	if m := e.only(t); m.Text != "Code: B" || m.Edits != 1 || len(m.Buttons) != 1 {
		t.Fatalf("after edit: %+v", m)
	}

	// The same content again: Telegram says 400 "not modified", the client nil.
	if err := e.c.EditMessage(ctx, chatID, id, telegram.Message{Text: "Code: `B`", Buttons: buttons}); err != nil {
		t.Fatalf("identical edit = %v, want nil", err)
	}
	calls := e.tg.Calls()
	if last := calls[len(calls)-1]; last.Status != 400 || !strings.Contains(last.Description, "message is not modified") {
		t.Fatalf("last call = %+v, want Telegram's not-modified answer", last)
	}
	if m := e.only(t); m.Edits != 1 {
		t.Fatalf("edits = %d, want 1", m.Edits)
	}

	// Without buttons the edit removes them.
	if err := e.c.EditMessage(ctx, chatID, id, telegram.Message{Text: "Signed in\\."}); err != nil {
		t.Fatal(err)
	}
	if m := e.only(t); m.Text != "Signed in." || m.Buttons != nil || m.Edits != 2 || m.History[0].Text != "Code: A" {
		t.Fatalf("after second edit: %+v", m)
	}

	if err := e.c.EditMessage(ctx, chatID, id+1, telegram.Message{Text: "x"}); err == nil || !strings.Contains(err.Error(), "message to edit not found") {
		t.Fatalf("edit of a missing message = %v", err)
	}
}

func TestEditReplyMarkup(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)
	id, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	buttons := []telegram.Button{{Text: "A", URL: "https://a.example"}, {Text: "B", URL: "https://b.example"}}
	if err := e.c.EditReplyMarkup(ctx, chatID, id, buttons); err != nil {
		t.Fatal(err)
	}
	if m := e.only(t); len(m.Buttons) != 2 || m.Buttons[1][0].URL != "https://b.example" {
		t.Fatalf("buttons = %+v", m.Buttons)
	}
	if err := e.c.EditReplyMarkup(ctx, chatID, id, buttons); err != nil {
		t.Fatalf("same buttons = %v, want nil", err)
	}
	if err := e.c.EditReplyMarkup(ctx, chatID, id, nil); err != nil {
		t.Fatal(err)
	}
	if m := e.only(t); m.Buttons != nil || m.Edits != 2 || m.Text != "x" {
		t.Fatalf("after removing buttons: %+v", m)
	}
}

func pngImage(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	img.Set(2, 2, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSendPhotoAndDelete(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)
	img := pngImage(t)
	// The upload is retried after a dropped connection, with the whole image.
	e.tg.Inject("sendPhoto", telegramtest.DropConnection())
	id, err := e.c.SendPhoto(ctx, chatID, img, "Scan *me*")
	if err != nil {
		t.Fatal(err)
	}
	m := e.only(t)
	if m.ID != id || !bytes.Equal(m.Photo, img) || m.Text != "Scan me" {
		t.Fatalf("photo message = %+v", m)
	}
	if n := e.calls("sendPhoto"); n != 2 {
		t.Fatalf("%d sendPhoto calls, want 2", n)
	}

	if err := e.c.DeleteMessage(ctx, chatID, id); err != nil {
		t.Fatal(err)
	}
	if !e.only(t).Deleted {
		t.Fatal("not deleted")
	}
	err = e.c.DeleteMessage(ctx, chatID, id)
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 400 || te.Description != "Bad Request: message to delete not found" {
		t.Fatalf("second delete = %v", err)
	}

	if _, err := e.c.SendPhoto(ctx, chatID, []byte("not a picture"), ""); err == nil {
		t.Fatal("SendPhoto of garbage: no error")
	}
}

func TestRetryAfter429(t *testing.T) {
	e := setup(t)
	e.tg.Inject("sendMessage", telegramtest.TooManyRequests(1), telegramtest.TooManyRequests(2))
	if _, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := e.sleeps.got(); len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
		t.Fatalf("waits = %v, want [1s 2s] from retry_after", got)
	}
	if n := e.calls("sendMessage"); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
	e.only(t)
}

func TestRetryAfterTooLong(t *testing.T) {
	e := setup(t)
	e.tg.Inject("sendMessage", telegramtest.TooManyRequests(3600))
	_, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "hi"})
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 429 || te.RetryAfter != time.Hour {
		t.Fatalf("err = %v, want a 429 *Error with RetryAfter 1h", err)
	}
	if got := e.sleeps.got(); len(got) != 0 {
		t.Fatalf("slept %v through an hour-long flood wait", got)
	}
}

func TestRetry5xx(t *testing.T) {
	e := setup(t)
	e.tg.Inject("sendMessage", telegramtest.ServerError(500), telegramtest.Fault{Status: 502, Body: "<html>502 Bad Gateway</html>"})
	if _, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	got := e.sleeps.got()
	if len(got) != 2 {
		t.Fatalf("waits = %v, want 2", got)
	}
	// Exponential with jitter: the n-th wait is within [2^(n-1)/2 s, 2^(n-1) s].
	for i, d := range got {
		hi := time.Second << i
		if d < hi/2 || d > hi {
			t.Errorf("wait %d = %v, want within [%v, %v]", i+1, d, hi/2, hi)
		}
	}
	e.only(t)
}

func TestRetriesAreBounded(t *testing.T) {
	e := setup(t)
	e.tg.StartOutage(telegramtest.ServerError(503))
	_, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "hi"})
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 503 {
		t.Fatalf("err = %v, want a 503 *Error", err)
	}
	if n := e.calls("sendMessage"); n != 3 {
		t.Fatalf("%d attempts, want MaxAttempts = 3", n)
	}

	// A proxy's page is reported with its status.
	e.tg.StartOutage(telegramtest.Fault{Status: 502, Body: "<html>bad gateway</html>"})
	_, err = e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "hi"})
	if !errors.As(err, &te) || te.Code != 502 || errors.Is(err, telegram.ErrUnauthorized) {
		t.Fatalf("err = %v, want a 502 *Error", err)
	}
}

func TestNoRetryOn401(t *testing.T) {
	e := setup(t)
	e.tg.Inject("sendMessage", telegramtest.Fault{Status: 401, Description: "Unauthorized"})
	_, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "hi"})
	if !errors.Is(err, telegram.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if n := e.calls("sendMessage"); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

func TestDroppedConnection(t *testing.T) {
	e := setup(t)
	ctx := testContext(t)
	e.tg.Inject("sendMessage", telegramtest.DropConnection(), telegramtest.DropConnection())
	if _, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	e.only(t)
	if got := e.sleeps.got(); len(got) != 2 {
		t.Fatalf("waits = %v, want 2 backoffs", got)
	}

	e.tg.StartOutage(telegramtest.DropConnection())
	_, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: "hi"})
	if !errors.Is(err, telegram.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if n := e.calls("sendMessage"); n != 3+3 {
		t.Fatalf("%d calls, want 6", n)
	}
}

func TestServerGone(t *testing.T) {
	e := setup(t)
	e.tg.Close()
	_, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "hi"})
	if !errors.Is(err, telegram.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if got := e.sleeps.got(); len(got) != 2 {
		t.Fatalf("waits = %v, want 2 (3 attempts)", got)
	}
}

// The default sleep ends with the context.
func TestRetryWaitHonoursContext(t *testing.T) {
	e := setup(t, func(c *telegram.Config) { c.Sleep = nil })
	e.tg.Inject("sendMessage", telegramtest.TooManyRequests(60))
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		_, err := e.c.SendMessage(ctx, chatID, telegram.Message{Text: "hi"})
		done <- err
	}()
	err := e.tg.WaitFor(ctx, func(v telegramtest.View) bool {
		return len(v.Calls) > 0 && v.Calls[len(v.Calls)-1].Status == 429
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// The call's context reaches the request the library makes.
func TestContextCancelsRequest(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() {
		_, err := e.c.GetUpdates(ctx, 0, 50*time.Second)
		done <- err
	}()
	if err := e.tg.WaitFor(ctx, func(v telegramtest.View) bool { return v.Polling }); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	// Three faults, and one call may meet all of them: it needs a fourth try.
	e := setup(t, func(c *telegram.Config) { c.MaxAttempts = 4 })
	ctx := testContext(t)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	e.tg.Inject("sendMessage", telegramtest.DropConnection(), telegramtest.TooManyRequests(1), telegramtest.ServerError(500))
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx
			if i%5 == 4 {
				c = canceled // these fail alone, without disturbing the others
			}
			if _, err := e.c.SendMessage(c, chatID, telegram.Message{Text: "hi"}); err != nil {
				if c != canceled {
					t.Errorf("SendMessage: %v", err)
				}
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := len(e.tg.Chat(chatID)); got != 16 || failed.Load() != 4 {
		t.Fatalf("%d messages and %d failures, want 16 and 4", got, failed.Load())
	}
}

// Redirects are not followed: the next request would carry the token to
// wherever the redirect points.
func TestNoRedirects(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	_, err := telegram.New(testContext(t), telegram.Config{Token: telegramtest.DefaultToken, APIURL: redirector.URL, Sleep: (&sleeps{}).sleep})
	if err == nil {
		t.Fatal("New through a redirect: no error")
	}
	if hits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
	assertNoToken(t, telegramtest.DefaultToken, "error", err.Error())
}
