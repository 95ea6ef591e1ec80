package peerkey

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A key is written for this user only, reads back as written, and each
// Write makes a new one (a key file copied away earlier is worth nothing).
func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	k1, err := Write(dir, "x.key")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "x.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", fi, err)
	}
	got, err := Read(dir, "x.key")
	if err != nil || !bytes.Equal(got, k1) || len(got) != Size {
		t.Fatalf("Read = %x, %v; want %x", got, err, k1)
	}
	k2, err := Write(dir, "x.key")
	if err != nil || bytes.Equal(k1, k2) {
		t.Fatalf("second Write = %x, %v: want a new key", k2, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}

func TestReadRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content *string
		want    error
	}{
		{"missing", nil, fs.ErrNotExist},
		{"empty", ptr(""), ErrMalformed},
		{"not hex", ptr("zz\n"), ErrMalformed},
		{"short", ptr("abcd\n"), ErrMalformed},
		{"base64", ptr("q83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80\n"), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.content != nil {
				if err := os.WriteFile(filepath.Join(dir, "k"), []byte(*tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if k, err := Read(dir, "k"); !errors.Is(err, tc.want) || k != nil {
				t.Fatalf("Read = %x, %v; want %v", k, err, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }
