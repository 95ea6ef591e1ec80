package approval

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KeyName is the file, beside the socket in the data directory, that holds
// the key of the serve now running.
//
// Why a key: a tool started by `sidecar run` runs as our user, and
// Landlock (internal/confine) hides the data directory from it but cannot
// stop it from connect()ing to the socket there (up to Landlock ABI 6 no
// file system right covers connect). A peer credential check sees the same
// uid. So serve makes a fresh random key at every start and writes it
// where only our own unconfined commands can read it; every request on the
// socket carries it, and serve answers nothing, posts nothing, to a
// connection that does not (a forged question). The key is worthless to
// whoever can read the data directory: they can read the token cache too.
const KeyName = "approval.key"

// keySize is the key's length in bytes (256 random bits).
const keySize = 32

// ErrNoKey is returned by Ask when the key of the serve that listens cannot
// be read: the caller is confined (a tool under `sidecar run`) or the
// data directory is not ours. Nothing was sent.
var ErrNoKey = errors.New("approval: cannot read sidecar serve's key")

// WriteKey makes a fresh key and writes it to dir/KeyName, readable by this
// user only, atomically: a command never reads half a key. serve calls it
// before it listens.
func WriteKey(dir string) ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+KeyName+".tmp-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("approval: writing the key: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, KeyName))
	}
	if err != nil {
		return nil, fmt.Errorf("approval: writing the key: %w", err)
	}
	return key, nil
}

// readKey reads the key beside socket.
func readKey(socket string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(socket), KeyName))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	key, err := hex.DecodeString(string(trimNewline(b)))
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("%w: %s is not one", ErrNoKey, KeyName)
	}
	return key, nil
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// keyMatches compares in constant time: how much of a guess is right must
// not show in how long the refusal takes.
func keyMatches(want []byte, got string) bool {
	k, err := hex.DecodeString(got)
	if err != nil || len(want) != keySize {
		return false
	}
	return subtle.ConstantTimeCompare(want, k) == 1
}
