package approval

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/devicegate/devicegate/internal/peerkey"
)

// KeyName is the file, beside the socket in the data directory, that holds
// the key of the serve now running (internal/peerkey says why there is a
// key). Every request on the socket carries it, and serve answers nothing,
// posts nothing, to a connection that does not (a forged question).
const KeyName = "approval.key"

// ErrNoKey is returned by Ask when the key of the serve that listens cannot
// be read: the caller is confined (a tool under `sidecar run`) or the
// data directory is not ours. Nothing was sent.
var ErrNoKey = errors.New("approval: cannot read sidecar serve's key")

// WriteKey makes a fresh key and writes it to dir/KeyName (peerkey.Write).
// serve calls it after it listens.
func WriteKey(dir string) ([]byte, error) {
	key, err := peerkey.Write(dir, KeyName)
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	return key, nil
}

// readKey reads the key beside socket.
func readKey(socket string) ([]byte, error) {
	key, err := peerkey.Read(filepath.Dir(socket), KeyName)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	return key, nil
}

// keyMatches compares in constant time: how much of a guess is right must
// not show in how long the refusal takes.
func keyMatches(want []byte, got string) bool {
	k, err := hex.DecodeString(got)
	if err != nil || len(want) != peerkey.Size {
		return false
	}
	return subtle.ConstantTimeCompare(want, k) == 1
}
