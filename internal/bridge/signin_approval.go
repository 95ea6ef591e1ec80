package bridge

import (
	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/telegram"
)

// Labels of the buttons on a question about a change of account.
const (
	ConfirmLabel = "Confirm the new account"
	KeepLabel    = "Keep the current account"
)

// describeSignIn says what a sign-in or sign-out the agent started does.
func describeSignIn(r *rich, req approval.Request) {
	cmd := func() {
		if len(req.Command) > 0 {
			r.text(" (")
			r.code(shellJoin(req.Command))
			r.text(")")
		}
	}
	switch {
	case req.Action == approval.ActionLogout:
		r.text("Wants to sign this profile out")
		cmd()
		r.text(": whoever signs in next chooses the account the agent then uses.\n")
	case req.NewAccount != "":
		r.text("Wants to sign in as: ")
		r.bold(req.NewAccount)
		cmd()
		r.text("\nThis is ")
		r.bold("another account")
		r.text(": from then on the agent would read and write its data, not the current account's. " +
			"Until you confirm, the profile keeps its current account; the new sign-in is held in memory only.\n")
	default:
		r.text("Wants to sign this profile in")
		cmd()
		r.text(": whoever enters the code chooses the account the agent then uses.\n")
	}
}

// signInButtons are the buttons of a question about signing in or out:
// never "Allow for 1 hour" (each sign-in is its own question), and
// Confirm / Keep for a change of account. nil for other questions.
func signInButtons(req approval.Request, id string) []telegram.Button {
	switch {
	case req.NewAccount != "":
		return []telegram.Button{
			{Text: ConfirmLabel, Data: approval.CallbackData(id, approval.AllowOnce), Row: 1},
			{Text: KeepLabel, Data: approval.CallbackData(id, approval.Deny), Row: 1},
		}
	case req.Action == approval.ActionSignIn || req.Action == approval.ActionLogout:
		return []telegram.Button{
			{Text: approval.AllowOnce.Label(), Data: approval.CallbackData(id, approval.AllowOnce), Row: 1},
			{Text: approval.Deny.Label(), Data: approval.CallbackData(id, approval.Deny), Row: 1},
		}
	}
	return nil
}

// switchOutcome is the outcome of a question about a change of account.
func switchOutcome(c approval.Choice) string {
	if c == approval.AllowOnce {
		return "✅ Confirmed: the profile now uses the new account."
	}
	return "⛔ Kept the current account; the new sign-in was dropped."
}
