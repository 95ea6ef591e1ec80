// Package cli is the command-line plumbing shared by sidecar and tgauth:
// loading the configuration, opening a profile's session, and reporting
// errors in one style ("sidecar: error: ...", "sidecar: hint: ...") with
// the shared exit codes.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// UsageError is a mistake on the command line.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }
func (e *UsageError) ExitCode() int { return exitcode.Usage }

// Usagef returns a *UsageError.
func Usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// LoadConfig loads the configuration; its errors carry exit code 2.
func LoadConfig() (*config.Config, error) {
	c, err := config.Load()
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	return c, nil
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

// Store opens the token cache described by the configuration.
func Store(c *config.Config) (*tokencache.Store, error) {
	raw, err := c.Sidecar.CacheKeyValue()
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	var key []byte
	if raw != "" {
		if key, err = tokencache.ParseKey(raw); err != nil {
			name := "SIDECAR_CACHE_KEY"
			if c.Sidecar.CacheKeyFile != "" {
				name += "_FILE"
			}
			return nil, exitcode.With(exitcode.Usage, &config.Error{Var: name, Msg: err.Error()})
		}
	}
	return tokencache.Open(c.DataDir, key)
}

// Session opens the named profile ("" for the default one).
func Session(c *config.Config, store *tokencache.Store, profile string) (*session.Session, error) {
	p, err := c.Profile(profile)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	hc := HTTPClient(c.Sidecar.HTTPTimeout.D())
	pr, err := provider.New(p, hc)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	return &session.Session{
		Profile:  p.Name,
		Provider: pr,
		Store:    store,
		HTTP:     hc,
		Restarts: int(c.Sidecar.LoginRestarts),
	}, nil
}

// Report prints err in the house style and returns its exit code.
func Report(stderr io.Writer, prog string, err error) int {
	if err == nil {
		return exitcode.OK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitcode.OK
	}
	code := exitcode.Of(err)
	fmt.Fprintf(stderr, "%s: error: %s\n", prog, oneLine(err.Error()))
	for _, h := range Hints(err) {
		fmt.Fprintf(stderr, "%s: hint: %s\n", prog, h)
	}
	return code
}

// Hints tells the person what to do next about err.
func Hints(err error) []string {
	var (
		ue *UsageError
		ce *config.Error
	)
	switch {
	case errors.Is(err, session.ErrSignInRequired):
		return []string{"send /auth to your Telegram bot, or run `tgauth` (or `sidecar login` in a terminal) to sign in again"}
	case errors.Is(err, tokencache.ErrNeedKey):
		return nil
	case errors.As(err, &ce):
		return []string{"see .env.example for every variable and its format"}
	case errors.As(err, &ue):
		return []string{"run `sidecar help` for usage"}
	}
	switch exitcode.Of(err) {
	case exitcode.Declined:
		return []string{"send /auth again when you want to allow it"}
	case exitcode.TimedOut:
		return []string{"send /auth (or run `tgauth`) to get a new code, and enter it before it expires"}
	}
	return nil
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
}
