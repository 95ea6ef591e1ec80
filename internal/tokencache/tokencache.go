// Package tokencache stores one sign-in per profile on disk: atomically,
// optionally encrypted, and behind a cross-process lock.
//
// Layout: $XDG_DATA_HOME/devicegate/ (mode 0700) holds <profile>.token
// (mode 0600) and <profile>.lock. A write goes to a temporary file in the
// same directory, is fsynced, then renamed over the old file, and the
// directory is fsynced: a crash at any instant leaves the old cache or the
// new one, never a mix.
//
// Encryption is AES-256-GCM from the standard library rather than age:
// the key is a random 32-byte secret (not a passphrase), so age's scrypt
// or X25519 recipients would add a dependency and, for scrypt, deliberate
// slowness on the hot path (`sidecar token` runs in a few milliseconds).
// GCM authenticates as well as encrypts, and the profile name is bound as
// associated data, so a file copied over another profile's fails to open.
package tokencache

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/devicegate/devicegate/internal/clock"
)

// Version is the current cache format version.
const Version = 1

// KeySize is the size of a cache key in bytes (AES-256).
const KeySize = 32

// magic starts an encrypted cache file; a plaintext one starts with '{'.
var magic = []byte("DGC1")

// Outcomes callers branch on.
var (
	// ErrNotFound means the profile has no cache: nobody signed in yet.
	ErrNotFound = errors.New("not signed in")
	// ErrDamaged means the file cannot be read back: truncated, edited, or
	// (when encrypted) opened with the wrong key.
	ErrDamaged = errors.New("the token cache cannot be read")
	// ErrNeedKey means the cache is encrypted and no key was given.
	ErrNeedKey = errors.New("the token cache is encrypted and no key is set")
)

// Account is who signed in: the label of a sign-in, from the id_token or
// the provider's user endpoint (provider.Identity), kept in the cache.
type Account struct {
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Subject string `json:"subject,omitempty"`
}

// Complete reports whether the account names a person well enough to show.
func (a Account) Complete() bool { return a.Subject != "" && a.Name != "" && a.Email != "" }

// Merge fills the empty fields of a from o.
func (a Account) Merge(o Account) Account {
	if a.Name == "" {
		a.Name = o.Name
	}
	if a.Email == "" {
		a.Email = o.Email
	}
	if a.Subject == "" {
		a.Subject = o.Subject
	}
	return a
}

// SameIdentity reports whether a and o name the same person: the same
// subject (for AWS: account and role) and the same email where both are
// known. Accounts with neither in common are the same only when they are
// equal: a sign-in that no longer says who it is counts as another
// identity, so a change of account never passes for lack of a name.
func (a Account) SameIdentity(o Account) bool {
	if a.Subject != "" && o.Subject != "" && a.Subject != o.Subject {
		return false
	}
	if a.Email != "" && o.Email != "" && !strings.EqualFold(a.Email, o.Email) {
		return false
	}
	if a.Subject != "" && o.Subject != "" || a.Email != "" && o.Email != "" {
		return true
	}
	return a == o
}

// String names the account for people: "Name (email)", or whichever of
// name, email and subject is known.
func (a Account) String() string {
	switch {
	case a.Name != "" && a.Email != "" && a.Name != a.Email:
		return a.Name + " (" + a.Email + ")"
	case a.Name != "":
		return a.Name
	case a.Email != "":
		return a.Email
	case a.Subject != "":
		return a.Subject
	}
	return "an unnamed account"
}

// Entry is one profile's sign-in: the token, and what x/oauth2's Token
// drops (granted scopes, identity, refresh-token age).
type Entry struct {
	Version      int       `json:"version"`
	Profile      string    `json:"profile"`
	Provider     string    `json:"provider"`
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// ScopesGranted are the scopes the provider says it granted
	// (RFC 6749 §5.1: absent means the requested ones).
	ScopesGranted   []string  `json:"scopes_granted,omitempty"`
	ScopesRequested []string  `json:"scopes_requested,omitempty"`
	Account         Account   `json:"account"`
	SignedInAt      time.Time `json:"signed_in_at,omitzero"`
	RefreshedAt     time.Time `json:"refreshed_at,omitzero"`
	// RefreshIssuedAt is when the current refresh token was issued; with
	// rotation, every refresh issues a new one.
	RefreshIssuedAt  time.Time `json:"refresh_issued_at,omitzero"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
	// SignInRequired is set when the provider refused the refresh token
	// (invalid_grant): only a new sign-in helps. Reason says why.
	SignInRequired bool   `json:"signin_required,omitempty"`
	Reason         string `json:"reason,omitempty"`
	// NotifiedAt is when `sidecar serve` last told the person that a
	// sign-in is required, so it tells them once, not every minute.
	NotifiedAt time.Time `json:"notified_at,omitzero"`
	// OneOff marks a one-off grant: the refresh token was dropped on
	// purpose at sign-in, so access ends when the access token expires.
	OneOff bool `json:"one_off,omitempty"`
	// Flow is how the person signed in: "code" for the authorization code
	// flow (OAUTH_FLOW=code); empty for the device flow, the default, so
	// that caches written before the code flow read the same.
	Flow string `json:"flow,omitempty"`
	// Scoped holds access tokens for other scope sets (narrower scopes,
	// other resources), by ScopeKey. RefreshToken serves them all.
	Scoped map[string]*ScopedToken `json:"scoped,omitempty"`
	// AWS is the IAM Identity Center state of an aws profile.
	AWS *AWS `json:"aws,omitempty"`
}

// Valid reports whether the access token is usable for at least ttl more.
// A token without an expiry is taken as valid (GitHub OAuth app tokens do
// not expire).
func (e *Entry) Valid(now time.Time, ttl time.Duration) bool {
	if e == nil || e.AccessToken == "" || e.SignInRequired {
		return false
	}
	return e.Expiry.IsZero() || e.Expiry.After(now.Add(ttl))
}

// Store is the cache directory.
type Store struct {
	dir  string
	aead cipher.AEAD // nil: plaintext
}

// ParseKey decodes a key as printed by NewKey (standard or URL-safe base64
// of 32 bytes).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("want %d random bytes in base64 (44 characters)", KeySize)
}

// NewKey returns a fresh random key, base64-encoded.
func NewKey() string {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.StdEncoding.EncodeToString(k)
}

// Open returns the store in dir, creating dir (0700) if needed. key is nil
// for a plaintext cache.
func Open(dir string, key []byte) (*Store, error) {
	s := &Store{dir: dir}
	if key != nil {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("cache key: %w", err)
		}
		if s.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Dir is the cache directory.
func (s *Store) Dir() string { return s.dir }

// Encrypted reports whether the store encrypts what it writes.
func (s *Store) Encrypted() bool { return s.aead != nil }

func (s *Store) path(profile string) string { return filepath.Join(s.dir, profile+".token") }

func (s *Store) mkdir() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("creating the cache directory: %w", err)
	}
	return nil
}

// Load reads a profile's entry. It returns ErrNotFound, or an error
// wrapping ErrDamaged or ErrNeedKey.
func (s *Store) Load(profile string) (*Entry, error) {
	b, err := os.ReadFile(s.path(profile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading the token cache: %w", err)
	}
	return s.decode(profile, b)
}

// IsEncryptedFile reports whether the profile's file on disk is encrypted.
func (s *Store) IsEncryptedFile(profile string) bool {
	b, err := os.ReadFile(s.path(profile))
	return err == nil && bytes.HasPrefix(b, magic)
}

func (s *Store) decode(profile string, b []byte) (*Entry, error) {
	if bytes.HasPrefix(b, magic) {
		if s.aead == nil {
			return nil, ErrNeedKey
		}
		rest := b[len(magic):]
		ns := s.aead.NonceSize()
		if len(rest) < ns+s.aead.Overhead() {
			return nil, fmt.Errorf("%w: the file is truncated", ErrDamaged)
		}
		plain, err := s.aead.Open(nil, rest[:ns], rest[ns:], aad(profile))
		if err != nil {
			return nil, fmt.Errorf("%w: wrong SIDECAR_CACHE_KEY, or the file was damaged", ErrDamaged)
		}
		b = plain
	}
	// A plaintext file is still read when a key is set: it is upgraded to
	// an encrypted one on the next write.
	e := new(Entry)
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	if e.Version != Version {
		return nil, fmt.Errorf("%w: unsupported format version %d", ErrDamaged, e.Version)
	}
	if e.Profile != profile {
		return nil, fmt.Errorf("%w: the file belongs to profile %q", ErrDamaged, e.Profile)
	}
	return e, nil
}

func aad(profile string) []byte { return []byte("devicegate token cache v1; profile=" + profile) }

// Encode returns the bytes Save writes for e.
func (s *Store) Encode(e *Entry) ([]byte, error) {
	e.Version = Version
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if s.aead == nil {
		return append(b, '\n'), nil
	}
	out := make([]byte, len(magic)+s.aead.NonceSize(), len(magic)+s.aead.NonceSize()+len(b)+s.aead.Overhead())
	copy(out, magic)
	if _, err := rand.Read(out[len(magic):]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[len(magic):], b, aad(e.Profile)), nil
}

// Save writes e atomically: temp file, fsync, rename, fsync of the dir.
// Callers hold the profile's Lock.
//
// A store without a key never replaces an encrypted cache with a plaintext
// one (ErrNeedKey): a command started without the key (`sidecar run --
// sidecar login` gets none of our variables) must not undo the owner's
// choice to encrypt.
func (s *Store) Save(e *Entry) error {
	if err := s.Writable(e.Profile); err != nil {
		return err
	}
	if err := s.mkdir(); err != nil {
		return err
	}
	b, err := s.Encode(e)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.dir, "."+e.Profile+".token.tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("writing the token cache: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(e.Profile))
	}
	if err != nil {
		return fmt.Errorf("writing the token cache: %w", err)
	}
	// A process killed mid-write leaves its temporary file behind (never a
	// broken cache). Writers hold the profile's lock, so any other
	// temporary file of this profile is such a leftover.
	if old, _ := filepath.Glob(filepath.Join(s.dir, "."+e.Profile+".token.tmp-*")); len(old) > 0 {
		for _, o := range old {
			os.Remove(o)
		}
	}
	return syncDir(s.dir)
}

// Writable returns ErrNeedKey when the store has no key and the profile's
// cache, or any other cache in the directory, is encrypted: writing would
// put a token in plaintext where the owner keeps them encrypted. Sign-ins
// check it first, so that no code is shown for a sign-in that cannot be
// kept.
func (s *Store) Writable(profile string) error {
	if s.aead != nil {
		return nil
	}
	names, _ := filepath.Glob(filepath.Join(s.dir, "*.token"))
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		head := make([]byte, len(magic))
		n, _ := io.ReadFull(f, head)
		f.Close()
		if bytes.Equal(head[:n], magic) {
			return fmt.Errorf("%w: refusing to write %s in plaintext next to encrypted caches", ErrNeedKey, filepath.Base(s.path(profile)))
		}
	}
	return nil
}

// Delete removes a profile's cache. A missing cache is not an error.
func (s *Store) Delete(profile string) error {
	err := os.Remove(s.path(profile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting the token cache: %w", err)
	}
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the cache directory: %w", err)
	}
	return nil
}

// Lock takes the profile's cross-process lock (flock(2) on
// <profile>.lock), waiting until it is free or ctx is done. The kernel
// drops the lock if the holder dies, so a crash never wedges it.
func (s *Store) Lock(ctx context.Context, profile string) (unlock func(), err error) {
	if err := s.mkdir(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(s.dir, profile+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the cache lock: %w", err)
	}
	wait := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() {
				_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking the token cache: %w", err)
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			f.Close()
			return nil, fmt.Errorf("waiting for the token cache lock: %w", err)
		}
		wait = min(wait*2, 20*time.Millisecond)
	}
}
