// Package exitcode holds the exit codes shared by sidecar and tgauth, and
// maps the errors the other packages return onto them.
//
// The table is part of the product's contract (README "Exit codes"): agents
// branch on these numbers, so they never change meaning.
package exitcode

import "errors"

// The shared exit codes.
const (
	OK             = 0 // success
	Failure        = 1 // unexpected failure (and `sidecar api` on a non-2xx answer)
	Usage          = 2 // usage or configuration error
	Declined       = 3 // the person declined the sign-in
	SignInRequired = 4 // no usable token: a new sign-in is needed
	TimedOut       = 5 // the code expired after all restarts
	Provider       = 6 // provider unreachable or provider error (e.g. invalid_client)
	Telegram       = 7 // Telegram unreachable or it rejected the bot token
)

// Error carries an exit code alongside an error. Packages wrap their
// sentinel outcomes in it (or implement Coder) so that main can turn any
// error into the right exit code with errors.As.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Coder is implemented by errors that know their exit code.
type Coder interface{ ExitCode() int }

// ExitCode implements Coder.
func (e *Error) ExitCode() int { return e.Code }

// With wraps err so that Of(err) reports code. A nil err stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Of returns the exit code for err: 0 for nil, the code of the first error
// in the chain that implements Coder, and Failure otherwise.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return Failure
}
