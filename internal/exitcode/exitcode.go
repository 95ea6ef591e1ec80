// Package exitcode holds the exit codes shared by sidecar and tgauth. Which
// error gets which code is decided in one table, in package cli.
//
// The table is part of the product's contract (README "Exit codes"): agents
// branch on these numbers, so they never change meaning.
package exitcode

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
	Refused        = 8 // refused by policy or by the owner: do not retry
	// Cancelled: a sign-in stopped by Ctrl-C, a stop signal or its client
	// going away; 128+SIGINT, as shells report an interrupted command.
	Cancelled = 130
)
