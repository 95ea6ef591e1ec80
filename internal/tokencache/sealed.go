package tokencache

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealed files are other state kept beside the cache (serve's approval
// grants) and protected like it: encrypted with the cache key when there
// is one, the file's name bound as associated data (a file renamed to
// another's name does not open), and written atomically.

func sealedAAD(name string) []byte { return []byte("devicegate sealed file v1; name=" + name) }

// WriteSealed writes b to the file name in the cache directory: temp
// file, fsync, rename, fsync of the directory. Without a key it is
// refused where the cache is encrypted (ErrNeedKey), as Save is.
func (s *Store) WriteSealed(name string, b []byte) error {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("tokencache: %q is not a file name", name)
	}
	if s.aead == nil {
		if err := s.Writable(name); err != nil {
			return err
		}
	}
	if err := s.mkdir(); err != nil {
		return err
	}
	out := append([]byte(nil), b...)
	if s.aead != nil {
		out = make([]byte, len(magic)+s.aead.NonceSize(), len(magic)+s.aead.NonceSize()+len(b)+s.aead.Overhead())
		copy(out, magic)
		if _, err := rand.Read(out[len(magic):]); err != nil {
			return err
		}
		out = s.aead.Seal(out, out[len(magic):], b, sealedAAD(name))
	}
	f, err := os.CreateTemp(s.dir, "."+name+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err = f.Write(out); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return syncDir(s.dir)
}

// ReadSealed reads what WriteSealed wrote. A missing file is an error
// wrapping fs.ErrNotExist; an encrypted one without the key, ErrNeedKey;
// one that does not open with the key and its name, ErrDamaged.
func (s *Store) ReadSealed(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if !bytes.HasPrefix(b, magic) {
		if s.aead != nil {
			// The owner encrypts: a plaintext file is not one we wrote
			// since, and is not trusted.
			return nil, fmt.Errorf("%w: %s is not encrypted", ErrDamaged, name)
		}
		return b, nil
	}
	if s.aead == nil {
		return nil, ErrNeedKey
	}
	rest := b[len(magic):]
	ns := s.aead.NonceSize()
	if len(rest) < ns+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: %s is truncated", ErrDamaged, name)
	}
	plain, err := s.aead.Open(nil, rest[:ns], rest[ns:], sealedAAD(name))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: wrong SIDECAR_CACHE_KEY, or the file was damaged", ErrDamaged, name)
	}
	return plain, nil
}
