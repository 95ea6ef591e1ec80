// Package app turns the configuration into working parts: the HTTP client
// for providers, each profile's provider and session, and the Telegram
// bot, on top of what internal/local opens (the configuration, the token
// cache, each profile's policy and audit log). It is the one place that
// assembles them,
// so that `sidecar`, `tgauth`, `sidecar serve` and the benchmark all open a
// profile the same way and a new setting is wired in once.
//
// Nothing here talks to a provider: opening a session is local, so the hot
// path (printing a cached token) never waits on the network.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/local"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
)

// App is a loaded configuration, the token cache it names and the HTTP
// client for providers.
type App struct {
	*local.Setup
	// HTTP is the client for provider requests, shared by every session.
	HTTP *http.Client
}

// Load reads and validates the configuration from the environment,
// including what each profile's provider demands, and opens the cache.
func Load() (*App, error) {
	l, err := local.Load()
	if err != nil {
		return nil, err
	}
	return withHTTP(l), nil
}

// New opens the token cache of an already validated configuration.
func New(c *config.Config) (*App, error) {
	l, err := local.New(c)
	if err != nil {
		return nil, err
	}
	return withHTTP(l), nil
}

func withHTTP(l *local.Setup) *App {
	return &App{Setup: l, HTTP: HTTPClient(l.Config.Sidecar.HTTPTimeout.D())}
}

// Open is Load followed by (*App).Open: the session of one profile.
func Open(profile string) (*session.Session, error) {
	a, err := Load()
	if err != nil {
		return nil, err
	}
	return a.Open(profile)
}

// Open returns the session of the named profile ("" for the default one).
func (a *App) Open(profile string) (*session.Session, error) {
	lp, err := a.Setup.Open(profile)
	if err != nil {
		return nil, err
	}
	pr, err := provider.New(lp.Profile, a.HTTP)
	if err != nil {
		return nil, err
	}
	return &session.Session{
		Profile:  lp.Name,
		Provider: pr,
		Store:    a.Store,
		HTTP:     a.HTTP,
		Restarts: int(a.Config.Sidecar.LoginRestarts),
		Policy:   lp.Policy,
		Audit:    lp.Audit,
		Caller:   lp.Caller,
	}, nil
}

// Sessions opens every configured profile, in the order declared.
func (a *App) Sessions() ([]*session.Session, error) {
	var list []*session.Session
	for _, name := range a.Config.Order {
		s, err := a.Open(name)
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}

// HTTPClient returns the client for provider requests: every request has a
// deadline, so a response that never finishes cannot hang a command.
func HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: timeout,
			MaxIdleConns:          10,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
	}
}

// Telegram connects to the bot configured by TELEGRAM_*. A missing or
// malformed token, or a missing chat, is a *config.Error; a refused token
// or an unreachable Bot API is a *telegram.OpError.
func (a *App) Telegram(ctx context.Context, log *slog.Logger) (*telegram.Client, int64, error) {
	c := a.Config
	token, err := c.Telegram.Token()
	if err != nil {
		return nil, 0, err
	}
	if token == "" {
		return nil, 0, &config.Error{Var: "TELEGRAM_BOT_TOKEN", Msg: "is required (or TELEGRAM_BOT_TOKEN_FILE)"}
	}
	if c.Telegram.ChatID == 0 {
		return nil, 0, &config.Error{Var: "TELEGRAM_CHAT_ID", Msg: "is required: the id of the chat to send sign-in codes to"}
	}
	tg, err := telegram.New(ctx, telegram.Config{Token: token, APIURL: c.Telegram.ApiURL, Logger: log})
	switch {
	case errors.Is(err, telegram.ErrMalformedToken):
		return nil, 0, &config.Error{Var: tokenVar(c), Msg: "is malformed: want digits, a colon, then letters"}
	case errors.Is(err, telegram.ErrUnauthorized):
		return nil, 0, &telegram.OpError{Err: fmt.Errorf("%s: %w", tokenVar(c), err)}
	case err != nil:
		return nil, 0, &telegram.OpError{Err: err}
	}
	return tg, int64(c.Telegram.ChatID), nil
}

func tokenVar(c *config.Config) string {
	if c.Telegram.BotTokenFile != "" {
		return "TELEGRAM_BOT_TOKEN_FILE"
	}
	return "TELEGRAM_BOT_TOKEN"
}

// Host names the requester in Telegram messages: SIDECAR_HOSTNAME, else
// the host name (a container's id, unless compose sets hostname).
func (a *App) Host() string {
	if a.Config.Sidecar.Hostname != "" {
		return a.Config.Sidecar.Hostname
	}
	h, _ := os.Hostname()
	return h
}
