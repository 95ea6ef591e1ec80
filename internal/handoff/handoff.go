// Package handoff carries the addresses the owner pastes into the chat
// from `sidecar serve`, the one process that reads the gatekeeper bot's
// updates, to a code-flow sign-in waiting in another process (tgauth, run
// by the agent's plugin).
//
// The waiting process connects to serve over a Unix socket on the data
// volume (SocketName), names the state of its sign-in and then reads the
// pastes that carry it, one JSON line each, until it hangs up.
//
// A pathname socket can be connect()ed even from inside a directory that
// Landlock hides (internal/peerkey), so the protocol authenticates both
// ends with serve's key in the data directory (KeyName, 0600) that a
// confined tool cannot read: the client
// proves it for its state (HMAC-SHA256 over "register" and the state),
// and serve proves it back (over "serve" and the state). A tool that
// learnt a state from the agent's output can therefore neither register
// it (and take the owner's paste, or keep tgauth from getting it) nor
// pose as serve (its socket lives in the data directory the tool cannot
// write) to hand tgauth an address of its own.
package handoff

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/peerkey"
	"github.com/devicegate/devicegate/internal/unixsock"
)

// Files in the data directory.
const (
	SocketName = "signin.sock"
	KeyName    = "signin.key"
)

// ErrNoServe means no `sidecar serve` is there to hand pastes over: no
// key, or nobody on the socket. The code flow through Telegram needs it,
// because only serve reads the chat.
var ErrNoServe = errors.New("no sidecar serve reads the chat here to hand the pasted address over")

// maxLine bounds a line of the protocol: a paste and its framing.
const maxLine = codeflow.MaxPaste + 1024

type hello struct {
	State string `json:"state"`
	Proof string `json:"proof"`
}

type message struct {
	Proof string `json:"proof,omitempty"` // serve's answer to hello
	Error string `json:"error,omitempty"`
	Text  string `json:"text,omitempty"` // a paste
}

func proof(key []byte, who, state string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(who + "\x00" + state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CreateKey makes serve's key in dataDir (peerkey.Write: fresh at every
// start, readable by this user only). serve calls it after Listen, so a
// second serve, refused the socket, leaves the first one's key alone.
func CreateKey(dataDir string) ([]byte, error) {
	key, err := peerkey.Write(dataDir, KeyName)
	if err != nil {
		return nil, fmt.Errorf("handoff: %w", err)
	}
	return key, nil
}

func readKey(dataDir string) ([]byte, error) {
	key, err := peerkey.Read(dataDir, KeyName)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, ErrNoServe
	case errors.Is(err, peerkey.ErrMalformed):
		return nil, errors.New("handoff: the key file is damaged; restart sidecar serve")
	case err != nil:
		return nil, fmt.Errorf("handoff: reading the key: %w", err)
	}
	return key, nil
}

// Listen creates serve's socket in dataDir, for this user only, replacing
// one left by a serve that died.
func Listen(dataDir string) (net.Listener, error) {
	path := filepath.Join(dataDir, SocketName)
	ln, err := unixsock.Listen(path, 0o600)
	if errors.Is(err, unixsock.ErrInUse) {
		return nil, fmt.Errorf("handoff: another sidecar serve is listening on %s", path)
	}
	if err != nil {
		return nil, fmt.Errorf("handoff: %w", err)
	}
	return ln, nil
}

// Server is serve's side: it registers each authenticated client's state
// with Router and forwards the pastes routed to it.
type Server struct {
	Router *codeflow.Router
	Key    []byte
	Log    *slog.Logger
}

// Serve answers clients on ln until ctx ends, then closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := unixsock.Serve(ctx, ln, s.handle); err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	return nil
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReaderSize(conn, 4096)
	line, err := readLine(r)
	var h hello
	if err == nil {
		err = json.Unmarshal(line, &h)
	}
	enc := json.NewEncoder(conn)
	if err != nil || h.State == "" || !hmac.Equal([]byte(h.Proof), []byte(proof(s.Key, "register", h.State))) {
		// Nothing about why: a caller without the key learns nothing.
		s.log().Warn("refused a sign-in handoff that did not prove the key")
		enc.Encode(message{Error: "refused"})
		return
	}
	conn.SetReadDeadline(time.Time{})
	// Registered before the proof goes out: once the client has it, its
	// sign-in is open, and a paste that comes at once must find it.
	pastes, cancel := s.Router.Register(h.State)
	defer cancel()
	if err := enc.Encode(message{Proof: proof(s.Key, "serve", h.State)}); err != nil {
		return
	}
	gone := make(chan struct{})
	go func() {
		// The client says nothing more; its hanging up ends the wait.
		r.WriteTo(discard{})
		close(gone)
	}()
	for {
		select {
		case <-gone:
			return
		case <-ctx.Done():
			return
		case p := <-pastes:
			if err := enc.Encode(message{Text: p.Text}); err != nil {
				return
			}
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, more, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, errors.New("handoff: line too long")
		}
		if !more {
			return line, nil
		}
	}
}

// Client is the waiting sign-in's side, in another process than serve.
type Client struct {
	DataDir string
}

// Open registers state with serve and returns the pastes that carry it,
// each with reply as its Reply, until cancel. ErrNoServe when serve is not
// there.
func (c Client) Open(ctx context.Context, state string, reply func(error)) (<-chan codeflow.Paste, func(), error) {
	key, err := readKey(c.DataDir)
	if err != nil {
		return nil, nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(c.DataDir, SocketName))
	if err != nil {
		return nil, nil, fmt.Errorf("%w (%v)", ErrNoServe, err)
	}
	enc := json.NewEncoder(conn)
	r := bufio.NewReaderSize(conn, 4096)
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var m message
	err = enc.Encode(hello{State: state, Proof: proof(key, "register", state)})
	if err == nil {
		var line []byte
		if line, err = readLine(r); err == nil {
			err = json.Unmarshal(line, &m)
		}
	}
	if err == nil && !hmac.Equal([]byte(m.Proof), []byte(proof(key, "serve", state))) {
		err = errors.New("the process on the socket is not this sidecar serve (it did not prove the key)")
	}
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("handoff: %w", err)
	}
	conn.SetDeadline(time.Time{})
	pastes := make(chan codeflow.Paste)
	done := make(chan struct{})
	go func() {
		defer close(pastes)
		for {
			line, err := readLine(r)
			if err != nil {
				return
			}
			var m message
			if json.Unmarshal(line, &m) != nil || m.Text == "" {
				continue
			}
			select {
			case pastes <- codeflow.Paste{Text: m.Text, Reply: reply}:
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return pastes, func() { once.Do(func() { close(done); conn.Close() }) }, nil
}
