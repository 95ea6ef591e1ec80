package tokencache

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func entry(profile string) *Entry {
	return &Entry{
		Profile: profile, Provider: "oidc", AccessToken: "access-secret", RefreshToken: "refresh-secret",
		Expiry:        time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		ScopesGranted: []string{"openid", "email"}, Account: Account{Name: "Alice", Email: "a@example.com", Subject: "alice"},
	}
}

func key(t *testing.T) []byte {
	k, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypted], func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "devicegate")
			var k []byte
			if encrypted {
				k = key(t)
			}
			s, _ := Open(dir, k)
			if _, err := s.Load("default"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load of nothing = %v", err)
			}
			if err := s.Save(entry("default")); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load("default")
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken != "access-secret" || got.Account.Email != "a@example.com" || !got.Expiry.Equal(entry("").Expiry) {
				t.Fatalf("got %+v", got)
			}
			raw, _ := os.ReadFile(filepath.Join(dir, "default.token"))
			if encrypted == bytes.Contains(raw, []byte("refresh-secret")) {
				t.Fatalf("encrypted=%v but file shows the token: %v", encrypted, bytes.Contains(raw, []byte("refresh-secret")))
			}
			if s.IsEncryptedFile("default") != encrypted {
				t.Fatal("IsEncryptedFile")
			}
			for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "default.token"): 0o600} {
				fi, err := os.Stat(path)
				if err != nil || fi.Mode().Perm() != want {
					t.Errorf("%s mode = %v, want %v", path, fi.Mode().Perm(), want)
				}
			}
			if err := s.Delete("default"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load("default"); !errors.Is(err, ErrNotFound) {
				t.Fatal("still there after Delete")
			}
			if err := s.Delete("default"); err != nil {
				t.Fatal("second Delete:", err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	enc, _ := Open(dir, key(t))
	if err := enc.Save(entry("p")); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(filepath.Join(dir, "p.token"))
	plain, _ := Open(dir, nil)
	wrong, _ := Open(dir, key(t))

	tests := []struct {
		name  string
		store *Store
		data  []byte
		want  error
	}{
		{"wrong key", wrong, good, ErrDamaged},
		{"no key for encrypted", plain, good, ErrNeedKey},
		{"truncated ciphertext", enc, good[:len(good)-5], ErrDamaged},
		{"flipped bit", enc, flip(good, len(good)-1), ErrDamaged},
		{"too short", enc, good[:10], ErrDamaged},
		{"truncated json", plain, []byte(`{"version":1,"profile":"p","access_to`), ErrDamaged},
		{"garbage", plain, []byte("\x00\x01garbage"), ErrDamaged},
		{"empty", plain, nil, ErrDamaged},
		{"other version", plain, []byte(`{"version":9,"profile":"p"}`), ErrDamaged},
		{"other profile's file", plain, []byte(`{"version":1,"profile":"q"}`), ErrDamaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, "p.token"), tt.data, 0o600)
			_, err := tt.store.Load("p")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if bytes.Contains([]byte(err.Error()), []byte("secret")) {
				t.Fatalf("error leaks: %v", err)
			}
		})
	}
}

func TestEncryptedFileBoundToProfile(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, key(t))
	s.Save(entry("a"))
	b, _ := os.ReadFile(filepath.Join(dir, "a.token"))
	os.WriteFile(filepath.Join(dir, "b.token"), b, 0o600)
	if _, err := s.Load("b"); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a's file opened as b: %v", err)
	}
}

func TestPlaintextUpgradedOnWrite(t *testing.T) {
	dir := t.TempDir()
	plain, _ := Open(dir, nil)
	plain.Save(entry("p"))
	enc, _ := Open(dir, key(t))
	e, err := enc.Load("p")
	if err != nil {
		t.Fatal("a key must not lock out an existing plaintext cache:", err)
	}
	enc.Save(e)
	if !enc.IsEncryptedFile("p") {
		t.Fatal("not encrypted after a write with a key")
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestSaveLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, nil)
	for range 5 {
		if err := s.Save(entry("p")); err != nil {
			t.Fatal(err)
		}
	}
	names, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(names) != 0 {
		t.Fatalf("left behind: %v", names)
	}
}

func TestLeftoversOfACrashedWriteAreHarmless(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, nil)
	s.Save(entry("p"))
	// What kill -9 in the middle of a Save leaves: a partial temp file.
	stray := filepath.Join(dir, ".p.token.tmp-123")
	os.WriteFile(stray, []byte(`{"version":1,"pro`), 0o600)
	got, err := s.Load("p")
	if err != nil || got.AccessToken != "access-secret" {
		t.Fatalf("old cache not intact: %v", err)
	}
	e := entry("p")
	e.AccessToken = "new"
	if err := s.Save(e); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatal("leftover temp file not cleaned up")
	}
	if got, _ := s.Load("p"); got.AccessToken != "new" {
		t.Fatal("new entry not saved")
	}
}

func TestLockExcludes(t *testing.T) {
	s, _ := Open(t.TempDir(), nil)
	var in, maxIn atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := s.Lock(context.Background(), "p")
			if err != nil {
				t.Error(err)
				return
			}
			n := in.Add(1)
			for {
				m := maxIn.Load()
				if n <= m || maxIn.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			in.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if maxIn.Load() != 1 {
		t.Fatalf("%d holders at once", maxIn.Load())
	}
}

func TestLockHonoursContext(t *testing.T) {
	s, _ := Open(t.TempDir(), nil)
	unlock, _ := s.Lock(context.Background(), "p")
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, "p"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseKey(t *testing.T) {
	for _, bad := range []string{"", "short", "!!!!", NewKey() + "AAAA"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := ParseKey(" " + NewKey() + "\n"); err != nil {
		t.Error("surrounding space rejected:", err)
	}
}

func TestValid(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		e    Entry
		ttl  time.Duration
		want bool
	}{
		{"fresh", Entry{AccessToken: "a", Expiry: now.Add(time.Hour)}, time.Minute, true},
		{"within ttl", Entry{AccessToken: "a", Expiry: now.Add(30 * time.Second)}, time.Minute, false},
		{"expired", Entry{AccessToken: "a", Expiry: now.Add(-time.Second)}, 0, false},
		{"no expiry", Entry{AccessToken: "a"}, time.Hour, true},
		{"no token", Entry{Expiry: now.Add(time.Hour)}, 0, false},
		{"sign-in required", Entry{AccessToken: "a", Expiry: now.Add(time.Hour), SignInRequired: true}, 0, false},
	}
	for _, tt := range tests {
		if got := tt.e.Valid(now, tt.ttl); got != tt.want {
			t.Errorf("%s: Valid = %v", tt.name, got)
		}
	}
}

func FuzzDecode(f *testing.F) {
	k := make([]byte, KeySize)
	enc, _ := Open(f.TempDir(), k)
	plain, _ := Open(f.TempDir(), nil)
	good, _ := enc.Encode(entry("p"))
	pj, _ := plain.Encode(entry("p"))
	f.Add(good)
	f.Add(pj)
	f.Add([]byte("DGC1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range []*Store{enc, plain} {
			e, err := s.decode("p", b)
			if err == nil && e.Profile != "p" {
				t.Fatalf("decoded another profile's entry")
			}
			if err != nil && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrNeedKey) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		}
	})
}

func TestSameIdentity(t *testing.T) {
	alice := Account{Name: "Alice Example", Email: "alice@example.com", Subject: "alice"}
	tests := []struct {
		name string
		a, b Account
		want bool
	}{
		{"equal", alice, alice, true},
		{"email case", alice, Account{Name: "Alice", Email: "Alice@Example.com", Subject: "alice"}, true},
		{"renamed", alice, Account{Name: "Alice E.", Email: "alice@example.com", Subject: "alice"}, true},
		{"same subject, email unknown", alice, Account{Subject: "alice"}, true},
		{"same email, subject unknown", alice, Account{Email: "alice@example.com"}, true},
		{"another subject", alice, Account{Name: "Alice Example", Email: "alice@example.com", Subject: "mallory"}, false},
		{"another email", alice, Account{Name: "Alice Example", Email: "mallory@example.com", Subject: "alice"}, false},
		{"same name, nothing else", alice, Account{Name: "Alice Example"}, false},
		{"no longer says who", alice, Account{}, false},
		{"never said who", Account{}, Account{}, true},
		{"aws account", Account{Subject: "111111111111/ReadOnly"}, Account{Subject: "222222222222/ReadOnly"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.SameIdentity(tt.b); got != tt.want {
				t.Errorf("SameIdentity = %v, want %v", got, tt.want)
			}
			if got := tt.b.SameIdentity(tt.a); got != tt.want {
				t.Errorf("reversed: SameIdentity = %v, want %v", got, tt.want)
			}
		})
	}
}
