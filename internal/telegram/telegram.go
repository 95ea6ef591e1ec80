// Package telegram is a small client for the Telegram Bot API: it sends and
// edits MarkdownV2 messages with inline URL buttons, sends photos, deletes
// messages and reads updates, over go-telegram-bot-api v5.
//
// What it adds to the library:
//
//   - a context on every call (the library has none), and no redirects;
//   - retries: 429 after parameters.retry_after, 5xx and network failures
//     with capped exponential backoff, a bounded number of attempts; never
//     400, 401 or 403;
//   - one error type, *Error, and sentinels to branch on: ErrUnauthorized,
//     ErrConflict, ErrButtonURL, ErrUnreachable; an edit that changes nothing
//     is not an error;
//   - the bot token never appears in an error, a log line or a formatted
//     Client or Config: it is part of every request URL, so network errors
//     are rewritten with "<redacted>" in its place;
//   - a getUpdates loop (Listen) that stops on 401 and 409 instead of
//     retrying forever like the library's GetUpdatesChan;
//   - escapers for MarkdownV2 (Escape, EscapeCode, EscapeURL).
//
// Tests use the fake server in package telegramtest.
//
// Its size is the Bot API's failure modes: retry_after, 5xx answers and
// dropped connections (attempt.go), the errors people must act on
// (errors.go, operr.go), and the MarkdownV2 escaping every message needs.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/devicegate/devicegate/internal/clock"
)

// DefaultAPIURL is the Bot API's base URL.
const DefaultAPIURL = "https://api.telegram.org"

const (
	defaultAttempts = 5
	// callTimeout bounds one HTTP attempt (a long poll gets its poll timeout
	// on top).
	callTimeout = 30 * time.Second
	// Backoff for 5xx and network failures: 1 s, 2 s, 4 s ... up to 30 s,
	// each with jitter so that restarted processes don't retry in step.
	backoffBase = time.Second
	backoffCap  = 30 * time.Second
	// maxRetryAfter: a longer flood wait is returned to the caller (with
	// Error.RetryAfter) rather than slept through.
	maxRetryAfter = 2 * time.Minute
	// maxResponse bounds the bytes read from one answer.
	maxResponse = 8 << 20
)

// Config configures New.
type Config struct {
	// Token is the bot token from @BotFather. Required. It never appears in
	// errors, logs, or when Config is printed.
	Token string `json:"-"`
	// APIURL is the Bot API's base URL; DefaultAPIURL when empty. A
	// self-hosted Bot API server or a test fake goes here.
	APIURL string
	// HTTPClient makes the requests; a client with connect and TLS timeouts
	// when nil. Its Timeout, if set, must exceed the long poll of Listen
	// (25 s). Redirects are never followed: the token is in the URL.
	HTTPClient *http.Client
	// Logger, if set, receives a warning for every retry. Never the token.
	Logger *slog.Logger
	// MaxAttempts bounds the tries of one call, the first included, for 429,
	// 5xx and network failures. Default 5.
	MaxAttempts int
	// Sleep waits d or until ctx ends, returning ctx's error then. It is a
	// test hook: nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Format prints the Config with the token redacted, for every verb.
func (c Config) Format(f fmt.State, verb rune) {
	if c.Token != "" {
		c.Token = redacted
	}
	type plain Config // without this method
	fmt.Fprintf(f, fmt.FormatString(f, verb), plain(c))
}

// LogValue logs the Config with the token redacted.
func (c Config) LogValue() slog.Value {
	tok := ""
	if c.Token != "" {
		tok = redacted
	}
	return slog.GroupValue(slog.String("token", tok), slog.String("api_url", c.APIURL), slog.Int("max_attempts", c.MaxAttempts))
}

// Client is a Telegram Bot API client. It is safe for concurrent use.
type Client struct {
	api      tgbotapi.BotAPI // the template each attempt copies, with its own HTTP client
	hc       *http.Client
	red      redactor
	log      *slog.Logger
	attempts int
	sleep    func(context.Context, time.Duration) error
	username string
}

// New checks the token with getMe (retrying like every call) and returns a
// client. A refused token is ErrUnauthorized.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := checkToken(cfg.Token); err != nil {
		return nil, err
	}
	base := strings.TrimRight(cfg.APIURL, "/")
	if base == "" {
		base = DefaultAPIURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("telegram: invalid API URL %q: want http(s)://host[/path]", cfg.APIURL)
	}
	c := &Client{
		hc:       noRedirects(cfg.HTTPClient),
		red:      newRedactor(cfg.Token),
		log:      cfg.Logger,
		attempts: cfg.MaxAttempts,
		sleep:    cfg.Sleep,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.attempts <= 0 {
		c.attempts = defaultAttempts
	}
	if c.sleep == nil {
		c.sleep = clock.Sleep
	}
	// The endpoint is a format string for the token and the method.
	endpoint := strings.ReplaceAll(base, "%", "%%") + "/bot%s/%s"
	var bot *tgbotapi.BotAPI
	err := c.do(ctx, "getMe", callTimeout, c.attempts, func(hc tgbotapi.HTTPClient) error {
		var err error
		bot, err = tgbotapi.NewBotAPIWithClient(cfg.Token, endpoint, hc) // calls getMe
		return err
	})
	if err != nil {
		return nil, err
	}
	bot.Client = nil // each attempt sets its own
	bot.Debug = false
	c.api = *bot
	c.username = bot.Self.UserName
	return c, nil
}

// Username is the bot's @username (without the @), from getMe.
func (c *Client) Username() string { return c.username }

// Format prints the client without its token.
func (c *Client) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "telegram.Client{bot: @%s}", c.username)
}

// LogValue logs the client without its token.
func (c *Client) LogValue() slog.Value { return slog.StringValue("@" + c.username) }

// checkToken rejects what can't be a token without echoing it.
func checkToken(token string) error {
	if token == "" {
		return fmt.Errorf("telegram: %w: it is empty", ErrUnauthorized)
	}
	for _, r := range token {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == ':' || r == '_' || r == '-') {
			return fmt.Errorf("telegram: %w: want digits, a colon, then letters", ErrMalformedToken)
		}
	}
	return nil
}

// noRedirects returns a copy of hc (or a default client) that never follows
// redirects: the next request would carry the token to another place.
func noRedirects(hc *http.Client) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = 10 * time.Second
		c.Transport = t
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// bot returns a copy of the library's client that sends through hc.
func (c *Client) bot(hc tgbotapi.HTTPClient) *tgbotapi.BotAPI {
	b := c.api
	b.Client = hc
	return &b
}

// do runs call up to attempts times, each attempt with its own HTTP client
// bound to a context (so concurrent calls share nothing mutable), retrying
// 429, 5xx and network failures.
func (c *Client) do(ctx context.Context, method string, timeout time.Duration, attempts int, call func(tgbotapi.HTTPClient) error) error {
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		a := &attempt{ctx: actx, hc: c.hc, red: c.red}
		err := call(a)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("telegram: %s: %w", method, ctx.Err())
		}
		wait, retry, err := c.classify(method, a, err, n)
		if !retry || n >= attempts {
			if a.netErr != nil {
				return fmt.Errorf("telegram: %s: %w after %d attempts: %w", method, ErrUnreachable, n, err)
			}
			return err
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "telegram: retrying",
			slog.String("method", method), slog.Int("attempt", n), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("telegram: %s: %w", method, err)
		}
	}
}

// classify turns what the library returned into the error to report, and
// says whether and when to try again.
func (c *Client) classify(method string, a *attempt, err error, n int) (wait time.Duration, retry bool, _ error) {
	var te *tgbotapi.Error
	switch {
	case errors.As(err, &te):
		e := &Error{Method: method, Code: te.Code, Description: te.Message, RetryAfter: time.Duration(te.RetryAfter) * time.Second, api: true}
		if e.Code == 0 { // uploads don't fill it in
			e.Code = a.status
		}
		switch {
		case e.Code == http.StatusTooManyRequests && e.RetryAfter > maxRetryAfter:
			return 0, false, c.red.error(e)
		case e.Code == http.StatusTooManyRequests && e.RetryAfter > 0:
			return e.RetryAfter, true, c.red.error(e)
		case e.Code == http.StatusTooManyRequests || e.Code >= 500:
			return backoff(n), true, c.red.error(e)
		}
		return 0, false, c.red.error(e)
	case a.netErr != nil:
		return backoff(n), true, a.netErr // already redacted
	case a.status != 0 && a.status != http.StatusOK:
		// Not a Bot API answer: a proxy's error page, say.
		e := &Error{Method: method, Code: a.status, Description: http.StatusText(a.status) + " (not a Bot API answer)"}
		return backoff(n), e.Code == http.StatusTooManyRequests || e.Code >= 500, e
	}
	return 0, false, fmt.Errorf("telegram: %s: unexpected answer: %w", method, c.red.error(err))
}

// backoff is the wait before attempt n+1: exponential, capped, jittered.
func backoff(n int) time.Duration {
	d := backoffCap
	if n < 6 {
		d = min(backoffBase<<(n-1), backoffCap)
	}
	return d/2 + rand.N(d/2+1)
}
