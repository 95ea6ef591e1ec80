// Package cli is the command-line plumbing shared by sidecar and tgauth:
// flags, and reporting errors in one style ("sidecar: error: ...", "sidecar: hint: ...") with
// the shared exit codes.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// UsageError is a mistake on the command line.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }
func (e *UsageError) ExitCode() int { return exitcode.Usage }

// Usagef returns a *UsageError.
func Usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

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
