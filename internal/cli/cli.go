// Package cli is what sidecar and tgauth share as command lines: flags,
// the --json events an agent reads, and the one table (exit.go) that turns
// the errors of the domain packages into an exit code and "hint:" lines.
// It exists so that both programs present failures the same way while the
// packages that fail only say what happened.
package cli

import (
	"fmt"
)

// UsageError is a mistake on the command line.
type UsageError struct {
	Msg string
	// Cmd is the subcommand whose usage applies ("" for the program's):
	// the hint then names `sidecar help CMD`.
	Cmd string
	// Nearest is the command the person probably meant, if any.
	Nearest string
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }
