package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

func assertNoToken(t *testing.T, token, what, s string) {
	t.Helper()
	if strings.Contains(s, token) {
		t.Errorf("%s shows the bot token: %s", what, s)
	}
	if i := strings.Index(token, ":"); i > 0 && strings.Contains(s, token[i:]) {
		t.Errorf("%s shows the secret half of the bot token: %s", what, s)
	}
}

// assertErrNoToken checks every way err can be printed or unwrapped.
func assertErrNoToken(t *testing.T, token string, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var walk func(error, int)
	walk = func(err error, depth int) {
		if err == nil || depth > 20 {
			return
		}
		assertNoToken(t, token, fmt.Sprintf("error %T", err), fmt.Sprintf("%v | %+v | %#v | %s | %q", err, err, err, err, err))
		var ue *url.Error
		if errors.As(err, &ue) {
			assertNoToken(t, token, "url.Error.URL", ue.URL)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e, depth+1)
			}
		}
	}
	walk(err, 0)
}

func TestTokenNeverInErrors(t *testing.T) {
	token := telegramtest.DefaultToken
	tests := []struct {
		name string
		// run makes the client fail; it returns the error.
		run  func(t *testing.T, e *env) error
		want error
	}{
		{"dropped connections", func(t *testing.T, e *env) error {
			e.tg.StartOutage(telegramtest.DropConnection())
			_, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "x"})
			return err
		}, telegram.ErrUnreachable},
		{"upload on dropped connections", func(t *testing.T, e *env) error {
			e.tg.StartOutage(telegramtest.DropConnection())
			_, err := e.c.SendPhoto(testContext(t), chatID, pngImage(t), "x")
			return err
		}, telegram.ErrUnreachable},
		{"server gone", func(t *testing.T, e *env) error {
			e.tg.Close()
			return e.c.DeleteMessage(testContext(t), chatID, 1)
		}, telegram.ErrUnreachable},
		{"canceled long poll", func(t *testing.T, e *env) error {
			ctx, cancel := context.WithCancel(testContext(t))
			done := make(chan error, 1)
			go func() { _, err := e.c.GetUpdates(ctx, 0, time.Minute); done <- err }()
			if err := e.tg.WaitFor(ctx, func(v telegramtest.View) bool { return v.Polling }); err != nil {
				t.Fatal(err)
			}
			cancel()
			return <-done
		}, context.Canceled},
		{"proxy page", func(t *testing.T, e *env) error {
			e.tg.StartOutage(telegramtest.Fault{Status: 502, Body: "<html>" + token + "</html>"})
			return e.c.EditMessage(testContext(t), chatID, 1, telegram.Message{Text: "x"})
		}, nil},
		{"description echoing the token", func(t *testing.T, e *env) error {
			e.tg.Inject("sendMessage", telegramtest.Fault{Status: 400, Description: "Bad Request: bot" + token + " is odd"})
			_, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "x"})
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			err := tt.run(t, e)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			assertErrNoToken(t, token, err)
			assertNoToken(t, token, "logs", e.logs.String())
		})
	}
}

// The request URL is in network errors; it is there, with the token
// replaced.
func TestNetworkErrorShowsRedactedURL(t *testing.T) {
	e := setup(t)
	e.tg.StartOutage(telegramtest.DropConnection())
	_, err := e.c.SendMessage(testContext(t), chatID, telegram.Message{Text: "x"})
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("err = %#v, want a *url.Error inside", err)
	}
	if want := "/bot<redacted>/sendMessage"; !strings.HasSuffix(ue.URL, want) || !strings.Contains(err.Error(), want) {
		t.Fatalf("URL %q, error %q; want them to end in %q", ue.URL, err, want)
	}
	if !strings.Contains(e.logs.String(), "bot<redacted>") {
		t.Fatalf("retries were not logged with the redacted URL:\n%s", e.logs)
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	e := setup(t)
	token := e.tg.Token()
	cfg := telegram.Config{Token: token, APIURL: e.tg.URL()}
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s %q %d %x", cfg, cfg, cfg, cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s %d", e.c, e.c, e.c, e.c, e.c),
	} {
		assertNoToken(t, token, "formatted value", s)
	}
	if s := fmt.Sprintf("%v", cfg); !strings.Contains(s, "<redacted>") || !strings.Contains(s, e.tg.URL()) {
		t.Errorf("Config prints as %s; want the URL and <redacted>", s)
	}
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var b bytes.Buffer
		slog.New(h(&b)).Info("start", "config", cfg, "client", e.c, "ptr", &cfg)
		assertNoToken(t, token, "log line", b.String())
	}
}
