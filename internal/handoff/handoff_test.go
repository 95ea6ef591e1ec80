package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/codeflow"
)

const addr = "http://127.0.0.1:49152/callback?code=c-1&state="

// startServe is serve's side in dir; it stops with the test.
func startServe(t *testing.T, dir string) (*codeflow.Router, context.CancelFunc) {
	t.Helper()
	key, err := CreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, KeyName)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &codeflow.Router{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { (&Server{Router: r, Key: key}).Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r, cancel
}

func next(t *testing.T, ch <-chan codeflow.Paste) (codeflow.Paste, bool) {
	t.Helper()
	select {
	case p, ok := <-ch:
		return p, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no paste arrived")
		return codeflow.Paste{}, false
	}
}

// A paste for the registered state reaches the client with the client's
// reply; one for another state does not, and is answered at serve.
func TestHandoff(t *testing.T) {
	dir := t.TempDir()
	router, stop := startServe(t, dir)
	var replied []string
	pastes, cancel, err := Client{DataDir: dir}.Open(context.Background(), "s1", func(err error) { replied = append(replied, err.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	var atServe []error
	router.Deliver(codeflow.Paste{Text: addr + "other", Reply: func(err error) { atServe = append(atServe, err) }})
	router.Deliver(codeflow.Paste{Text: "here: " + addr + "s1"})
	p, ok := next(t, pastes)
	if !ok || p.Text != "here: "+addr+"s1" || p.Reply == nil {
		t.Fatalf("paste %+v, %v", p, ok)
	}
	p.Reply(errors.New("wrong"))
	if len(replied) != 1 || len(atServe) != 1 {
		t.Fatalf("replies: client %v, serve %v", replied, atServe)
	}
	// serve stops: the client's pastes end, so the sign-in does not hang.
	stop()
	if _, ok := next(t, pastes); ok {
		t.Fatal("pastes still open after serve stopped")
	}
}

// Without the key nobody registers a state: a confined tool that knows
// the state from the agent's output cannot take the owner's paste.
func TestHandoffRefusesWithoutTheKey(t *testing.T) {
	dir := t.TempDir()
	router, _ := startServe(t, dir)
	conn, err := net.Dial("unix", filepath.Join(dir, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	json.NewEncoder(conn).Encode(hello{State: "s1", Proof: proof([]byte("not the key"), "register", "s1")})
	var m message
	if err := json.NewDecoder(conn).Decode(&m); err != nil || m.Error == "" || m.Proof != "" {
		t.Fatalf("answer %+v, %v: want a refusal", m, err)
	}
	var reason string
	router.Deliver(codeflow.Paste{Text: addr + "s1", Reply: func(err error) {
		var pe *codeflow.PasteError
		errors.As(err, &pe)
		reason = pe.Reason
	}})
	if reason != codeflow.ReasonState {
		t.Fatalf("the state was registered by a caller without the key (reply %q)", reason)
	}
}

// A process on the socket that cannot prove the key is not serve: the
// client refuses to take pastes from it.
func TestHandoffRefusesAFakeServe(t *testing.T) {
	dir := t.TempDir()
	if _, err := CreateKey(dir); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		var h hello
		json.NewDecoder(conn).Decode(&h)
		json.NewEncoder(conn).Encode(message{Proof: "forged"})
		json.NewEncoder(conn).Encode(message{Text: addr + h.State})
	}()
	_, _, err = Client{DataDir: dir}.Open(context.Background(), "s1", nil)
	if err == nil || !strings.Contains(err.Error(), "did not prove the key") {
		t.Fatalf("Open = %v, want a refusal of the fake serve", err)
	}
}

func TestHandoffNoServe(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := (Client{DataDir: dir}).Open(context.Background(), "s1", nil); !errors.Is(err, ErrNoServe) {
		t.Fatalf("no key: %v", err)
	}
	CreateKey(dir)
	if _, _, err := (Client{DataDir: dir}).Open(context.Background(), "s1", nil); !errors.Is(err, ErrNoServe) {
		t.Fatalf("no socket: %v", err)
	}
}
