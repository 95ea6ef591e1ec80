// Package cli is the command-line plumbing shared by sidecar and tgauth:
// flags, and reporting errors in one style ("sidecar: error: ...", "sidecar: hint: ...") with
// the shared exit codes.
package cli

import (
	"fmt"
)

// UsageError is a mistake on the command line.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }
