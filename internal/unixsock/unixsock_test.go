package unixsock

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestListen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	l, err := Listen(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v; want mode 0600", fi, err)
	}
	// Someone answers: a second listener would split the requests.
	if _, err := Listen(path, 0o600); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen = %v, want ErrInUse", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the first listener lost its socket: %v", err)
	}
	c.Close()
	l.Close()

	// A socket nobody answers on (its process died) is replaced.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	l, err = Listen(path, 0o660)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	if fi, _ := os.Lstat(path); fi.Mode().Perm() != 0o660 {
		t.Fatalf("mode %v, want 0660", fi.Mode().Perm())
	}
	l.Close()

	// A file that is not a socket is left alone.
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("keep"), 0o600)
	if _, err := Listen(file, 0o600); err == nil {
		t.Fatal("Listen replaced a regular file")
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Fatalf("file now %q", b)
	}
}

// Serve hands each connection to handle and, when ctx ends, returns only
// after the handlers have (so a server answers what still waits), with the
// socket gone.
func TestServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := Listen(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 1)
	finished := false
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, func(ctx context.Context, c net.Conn) {
			defer c.Close()
			b := make([]byte, 5)
			n, _ := c.Read(b)
			got <- string(b[:n])
			<-ctx.Done()
			finished = true
		})
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	if s := <-got; s != "hello" {
		t.Fatalf("handler read %q", s)
	}
	cancel()
	if err := <-done; err != nil || !finished {
		t.Fatalf("Serve = %v, handler finished %v; want nil after the handler", err, finished)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file after Serve: %v", err)
	}
}
