package approval

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Choice is a button the owner can tap on an approval message.
type Choice byte

// The three buttons. The byte is what goes into the callback data.
const (
	AllowOnce Choice = 'o'
	AllowHour Choice = 'h'
	Deny      Choice = 'd'
)

// Label is the button's text.
func (c Choice) Label() string {
	switch c {
	case AllowOnce:
		return "Allow once"
	case AllowHour:
		return "Allow for 1 hour"
	case Deny:
		return "Deny"
	}
	return "?"
}

// Choices in the order the buttons are shown.
var Choices = []Choice{AllowOnce, AllowHour, Deny}

// callbackPrefix marks our callback data; the version digit lets a later
// format coexist with buttons still on old messages.
const callbackPrefix = "ap1:"

// idLen is the length of a request id in hex digits (64 random bits).
const idLen = 16

// ErrCallback is returned by ParseCallback for data that is not one of
// our approval buttons (another bot's, an old format, or forged).
var ErrCallback = errors.New("approval: not an approval button")

// NewID returns a fresh request id: random, so that a tap on a message
// from before a restart never matches a request of the new serve.
func NewID() string {
	var b [idLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("approval: crypto/rand failed: " + err.Error()) // cannot happen on Linux
	}
	return hex.EncodeToString(b[:])
}

// CallbackData is the callback_data of the button c on request id's
// message. Telegram allows 1-64 bytes; ours is 22.
func CallbackData(id string, c Choice) string {
	return callbackPrefix + id + ":" + string(rune(c))
}

// ParseCallback reads what CallbackData wrote. Callback data comes from
// Telegram, so anything else, of any length, is ErrCallback.
func ParseCallback(data string) (id string, c Choice, err error) {
	rest, ok := strings.CutPrefix(data, callbackPrefix)
	if !ok || len(rest) != idLen+2 || rest[idLen] != ':' {
		return "", 0, fmt.Errorf("%w: %.70q", ErrCallback, data)
	}
	id = rest[:idLen]
	for i := 0; i < len(id); i++ {
		if !(id[i] >= '0' && id[i] <= '9' || id[i] >= 'a' && id[i] <= 'f') {
			return "", 0, fmt.Errorf("%w: %.70q", ErrCallback, data)
		}
	}
	switch c := Choice(rest[idLen+1]); c {
	case AllowOnce, AllowHour, Deny:
		return id, c, nil
	}
	return "", 0, fmt.Errorf("%w: %.70q", ErrCallback, data)
}
