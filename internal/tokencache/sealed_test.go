package tokencache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealed(t *testing.T) {
	dir := t.TempDir()
	key := []byte(strings.Repeat("k", KeySize))
	enc, _ := Open(dir, key)
	plain, _ := Open(dir, nil)
	if _, err := enc.ReadSealed("grants"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if err := enc.WriteSealed("grants", []byte("secret rule")); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "grants"))
	if strings.Contains(string(raw), "secret rule") {
		t.Fatal("written in plaintext with a key")
	}
	if b, err := enc.ReadSealed("grants"); err != nil || string(b) != "secret rule" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if _, err := plain.ReadSealed("grants"); !errors.Is(err, ErrNeedKey) {
		t.Errorf("without the key: %v, want ErrNeedKey", err)
	}
	other, _ := Open(dir, []byte(strings.Repeat("x", KeySize)))
	if _, err := other.ReadSealed("grants"); !errors.Is(err, ErrDamaged) {
		t.Errorf("another key: %v, want ErrDamaged", err)
	}
	os.WriteFile(filepath.Join(dir, "moved"), raw, 0o600)
	if _, err := enc.ReadSealed("moved"); !errors.Is(err, ErrDamaged) {
		t.Errorf("under another name: %v, want ErrDamaged", err)
	}
	os.WriteFile(filepath.Join(dir, "plain"), []byte("forged"), 0o600)
	if _, err := enc.ReadSealed("plain"); !errors.Is(err, ErrDamaged) {
		t.Errorf("a plaintext file where the owner encrypts: %v, want ErrDamaged", err)
	}
	for _, bad := range []string{"", "../x", ".hidden", "a/b"} {
		if err := enc.WriteSealed(bad, nil); err == nil {
			t.Errorf("WriteSealed(%q) accepted", bad)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %q", tmp)
	}
}
