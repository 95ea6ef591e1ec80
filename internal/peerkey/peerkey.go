// Package peerkey makes and reads the key by which `sidecar serve` and our
// own unconfined commands know each other on serve's Unix sockets in the
// data directory (the approval socket, the sign-in handoff).
//
// Why a key: a tool started by `sidecar run` runs as our user, and
// Landlock (internal/confine) hides the data directory from it but cannot
// stop it from connect()ing to a socket there (up to Landlock ABI 6 no
// file system right covers connect); a peer credential check sees the
// same uid. So serve makes a fresh random key at every start (a key file
// copied away earlier is worth nothing) and writes it where only our own
// unconfined commands can read it. The key is worthless to whoever can
// read the data directory: they can read the token cache too. How a
// protocol proves the key (sending it, or an HMAC over its own message) is
// the protocol's.
package peerkey

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Size is a key's length in bytes (256 random bits).
const Size = 32

// ErrMalformed means the key file holds no key (damaged, or not ours).
var ErrMalformed = errors.New("the key file holds no key")

// Write makes a fresh key and writes it to dir/name, readable by this user
// only, atomically: a command never reads half a key. serve calls it after
// it listens, so that a second serve, refused the socket, leaves the first
// one's key alone.
func Write(dir, name string) ([]byte, error) {
	key := make([]byte, Size)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("writing the key: %w", err)
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
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return nil, fmt.Errorf("writing the key: %w", err)
	}
	return key, nil
}

// Read reads the key Write wrote to dir/name: the file's error as
// os.ReadFile returns it (fs.ErrNotExist when no serve made one), or
// ErrMalformed.
func Read(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	key, err := hex.DecodeString(string(b))
	if err != nil || len(key) != Size {
		return nil, fmt.Errorf("%s: %w", name, ErrMalformed)
	}
	return key, nil
}
