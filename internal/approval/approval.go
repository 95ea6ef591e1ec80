// Package approval carries an agent's request for the owner's consent from
// the command that wants it (`sidecar api`, `token`, `run`) to `sidecar
// serve`, which asks the owner in the gatekeeper chat, and carries the
// answer back.
//
// Only one process may poll a Telegram bot (a second getUpdates gets 409),
// so the waiting command cannot ask Telegram itself: it connects to serve
// over a Unix socket on the data volume (SocketPath), sends one Request as
// a JSON line, with serve's key (KeyName: only our own unconfined commands
// can read it), and reads one Decision back, bound to the Request. Everything that goes wrong on
// the way is a denial: no serve on the socket is ErrNoListener, and a serve
// that stops (or restarts) while a command waits answers "serve_stopped"
// or drops the connection, which Ask reports the same way. A waiting
// command never hangs on a serve that is gone.
package approval

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/gate"
)

// Actions a Request may name: gate's kinds.
const (
	ActionAPI   = string(gate.API)   // sidecar api, or a tool's request through the proxy
	ActionToken = string(gate.Token) // sidecar token: the raw token is printed
	ActionRun   = string(gate.Run)   // sidecar run
	// ActionSignIn and ActionLogout: signing the profile in (sidecar
	// login, tgauth over a sign-in, or a sign-in as another account:
	// Request.NewAccount) or out (sidecar logout). Never granted for an
	// hour: each one is asked.
	ActionSignIn = string(gate.SignIn)
	ActionLogout = string(gate.Logout)
)

// Reasons a Decision carries (gate.Reason*).
const (
	ReasonAllowOnce    = gate.ReasonAllowOnce
	ReasonAllow1h      = gate.ReasonAllow1h
	ReasonGrant        = gate.ReasonGrant
	ReasonDeny         = gate.ReasonDeny
	ReasonTimeout      = gate.ReasonTimeout
	ReasonServeStopped = gate.ReasonServeStopped
	ReasonUnavailable  = gate.ReasonUnavailable
	ReasonInvalid      = gate.ReasonInvalid
	ReasonNoListener   = gate.ReasonNoListener
)

// GrantDuration is how long "Allow for 1 hour" lasts.
const GrantDuration = time.Hour

// DefaultTimeout is how long serve waits for the owner before denying.
const DefaultTimeout = 2 * time.Minute

// Request is what the agent wants, as the owner will see it: the gate's
// Question (internal/gate), which describes it once.
type Request = gate.Question

// Decision is the answer.
type Decision = gate.Answer

// Limits on what crosses the socket. The caller shortens its preview; the
// server refuses what is larger (a Request is small: a socket message of
// more is not one of ours).
const (
	MaxRequestBytes = 64 << 10
	MaxPreview      = gate.MaxPreviewText
	MaxCommandArgs  = gate.MaxCommandArgs
)

// ErrNoListener is returned by Ask when no serve with a gatekeeper
// listener answers on the socket: approvals are off, and an "ask" must be
// treated as a denial that says how to turn them on.
var ErrNoListener = gate.ErrNoApprover

// SocketName is the file name of the socket in the data directory.
const SocketName = "approval.sock"

// SocketPath is where serve listens: on the data volume, because the root
// file system is read-only and the volume is shared by every `docker exec`
// in the sidecar container.
func SocketPath(dataDir string) string {
	return filepath.Join(dataDir, SocketName)
}

// wireRequest is what a command sends: serve's key (KeyName), proving
// that the sender is one of our own unconfined commands, and the question.
type wireRequest struct {
	Key     string  `json:"key"`
	Request Request `json:"request"`
	// Watch: not a question but a terminal (`sidecar approvals`) that
	// shows the questions and answers them (Console).
	Watch bool `json:"watch,omitempty"`
}

type wireAnswer struct {
	Decision Decision `json:"decision"`
}

// Ask sends req to serve over the socket and waits, until ctx ends, for
// the owner's answer. The result is a denial unless Decision.Allow:
//
//   - nobody listens (no socket, or a stale one): ErrNoListener;
//   - serve stops or restarts while the request waits: a Decision with
//     Reason ReasonServeStopped and a nil error;
//   - ctx ends first: ctx's error.
//
// The caller bounds the wait with ctx (serve's own timeout, DefaultTimeout
// unless configured, normally answers first).
func Ask(ctx context.Context, socket string, req Request) (Decision, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTSOCK) {
			return Decision{Reason: ReasonNoListener}, fmt.Errorf("%w (%s)", ErrNoListener, socket)
		}
		if ctx.Err() != nil {
			return Decision{}, ctx.Err()
		}
		return Decision{}, fmt.Errorf("approval: reaching sidecar serve: %w", err)
	}
	defer conn.Close()
	key, err := readKey(socket)
	if err != nil {
		return Decision{Reason: ReasonUnavailable}, err
	}
	// A context that ends unblocks the read below.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	b, err := json.Marshal(wireRequest{Key: hex.EncodeToString(key), Request: req})
	if err != nil {
		return Decision{}, fmt.Errorf("approval: %w", err)
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		if ctx.Err() != nil {
			return Decision{}, ctx.Err()
		}
		return Decision{Reason: ReasonServeStopped}, nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(conn, 4096), 4096).ReadBytes('\n')
	if ctx.Err() != nil {
		return Decision{}, ctx.Err()
	}
	if err != nil {
		// Serve went away mid-wait (killed, restarted, crashed): a clear
		// denial, never a retry that could ask the owner twice.
		return Decision{Reason: ReasonServeStopped}, nil
	}
	var a wireAnswer
	if err := json.Unmarshal(line, &a); err != nil || a.Decision.Reason == "" {
		return Decision{Reason: ReasonServeStopped}, fmt.Errorf("approval: sidecar serve sent an answer that is not one: %.80q", line)
	}
	if !a.Decision.Allow {
		a.Decision.Until = time.Time{}
	}
	// An Allow counts for the request asked about and for nothing else:
	// the answer names it by its binding.
	if a.Decision.Allow && a.Decision.Binding != req.Binding() {
		return Decision{Reason: ReasonInvalid}, errors.New("approval: sidecar serve's answer is for another request")
	}
	return a.Decision, nil
}

// Client asks through the socket at Socket: the gate's Asker.
type Client struct{ Socket string }

// Ask implements gate.Asker with [Ask].
func (c Client) Ask(ctx context.Context, q gate.Question) (gate.Answer, error) {
	return Ask(ctx, c.Socket, q)
}

// Watcher is a terminal's connection to serve (`sidecar approvals`).
type Watcher struct {
	conn net.Conn
	dec  *json.Decoder
	mu   sync.Mutex
}

// Watch connects to serve as a terminal that shows the questions and
// answers them. No serve is ErrNoListener; a key that cannot be read is
// ErrNoKey.
func Watch(ctx context.Context, socket string) (*Watcher, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOTSOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrNoListener, socket)
		}
		return nil, fmt.Errorf("approval: reaching sidecar serve: %w", err)
	}
	key, err := readKey(socket)
	if err != nil {
		conn.Close()
		return nil, err
	}
	b, _ := json.Marshal(wireRequest{Key: hex.EncodeToString(key), Watch: true})
	if _, err := conn.Write(append(b, '\n')); err != nil {
		conn.Close()
		return nil, fmt.Errorf("approval: reaching sidecar serve: %w", err)
	}
	return &Watcher{conn: conn, dec: json.NewDecoder(bufio.NewReader(conn))}, nil
}

// Next returns the next event; an error when serve hangs up.
func (w *Watcher) Next() (ConsoleEvent, error) {
	var ev ConsoleEvent
	if err := w.dec.Decode(&ev); err != nil {
		return ConsoleEvent{}, fmt.Errorf("approval: sidecar serve hung up: %w", err)
	}
	return ev, nil
}

// Answer answers the question id.
func (w *Watcher) Answer(id string, c Choice) error {
	b, _ := json.Marshal(ConsoleAnswer{ID: id, Choice: string(rune(c))})
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.conn.Write(append(b, '\n'))
	return err
}

// Close hangs up.
func (w *Watcher) Close() error { return w.conn.Close() }
