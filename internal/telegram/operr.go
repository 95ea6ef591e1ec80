package telegram

// ErrMalformedToken: the bot token is not of the form @BotFather hands out
// (digits, a colon, letters). That is a configuration mistake, found
// before any request is made. It is also an ErrUnauthorized: Telegram
// would refuse it.
var ErrMalformedToken error = malformedToken{}

type malformedToken struct{}

func (malformedToken) Error() string { return "bot token malformed" }
func (malformedToken) Unwrap() error { return ErrUnauthorized }

// OpError is a failure on the Telegram side of something a caller was
// doing (sending the sign-in message, connecting to the bot), so that the
// command line can tell it from the provider's failures.
type OpError struct {
	Op  string // what was being done; may be empty when Err says it
	Err error
}

func (e *OpError) Error() string {
	if e.Op == "" {
		return e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }
