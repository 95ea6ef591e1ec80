// Package approval carries an agent's request for the owner's consent from
// the command that wants it (`sidecar api`, `token`, `run`) to `sidecar
// serve`, which asks the owner in the gatekeeper chat, and carries the
// answer back.
//
// Only one process may poll a Telegram bot (a second getUpdates gets 409),
// so the waiting command cannot ask Telegram itself: it connects to serve
// over a Unix socket on the data volume (SocketPath), sends one Request as
// a JSON line and reads one Decision back. Everything that goes wrong on
// the way is a denial: no serve on the socket is ErrNoListener, and a serve
// that stops (or restarts) while a command waits answers "serve_stopped"
// or drops the connection, which Ask reports the same way. A waiting
// command never hangs on a serve that is gone.
package approval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"time"
)

// Actions a Request may name.
const (
	ActionAPI   = "api"   // sidecar api: Method, Host, Path, BodySize, Preview
	ActionToken = "token" // sidecar token: the raw token is printed
	ActionRun   = "run"   // sidecar run: Command gets the token
)

// Reasons a Decision carries. They are stable words: the audit log and the
// commands' messages use them.
const (
	ReasonAllowOnce    = "allow_once"    // the owner tapped Allow once
	ReasonAllow1h      = "allow_1h"      // the owner tapped Allow for 1 hour
	ReasonGrant        = "grant"         // an earlier Allow for 1 hour still covers this request
	ReasonDeny         = "deny"          // the owner tapped Deny
	ReasonTimeout      = "timeout"       // no answer within the server's timeout
	ReasonServeStopped = "serve_stopped" // serve stopped or restarted while the request waited
	ReasonUnavailable  = "unavailable"   // serve could not put the request to the owner (Telegram down)
	ReasonInvalid      = "invalid"       // serve refused the request as malformed
	ReasonNoListener   = "no_listener"   // nobody listens on the socket (set by callers on ErrNoListener)
)

// GrantDuration is how long "Allow for 1 hour" lasts.
const GrantDuration = time.Hour

// DefaultTimeout is how long serve waits for the owner before denying.
const DefaultTimeout = 2 * time.Minute

// Request is what the agent wants, as the owner will see it.
type Request struct {
	Profile string `json:"profile"`
	Account string `json:"account,omitempty"`
	Action  string `json:"action"` // ActionAPI, ActionToken or ActionRun

	// api
	Method   string `json:"method,omitempty"`
	Host     string `json:"host,omitempty"`
	Path     string `json:"path,omitempty"` // without the query
	BodySize int    `json:"body_size,omitempty"`
	Preview  string `json:"preview,omitempty"` // short, secrets masked by the caller

	// run: the program and its arguments
	Command []string `json:"command,omitempty"`

	// Rule is the policy rule that said ask: shown to the owner, and the
	// scope of an "Allow for 1 hour" grant (same Profile and Rule).
	Rule string `json:"rule,omitempty"`
}

// Decision is the answer.
type Decision struct {
	Allow bool `json:"allow"`
	// Until is zero for this call only; set, the same Profile and Rule are
	// allowed without asking until then.
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason"`
}

// Limits on what crosses the socket. The caller shortens its preview; the
// server refuses what is larger (a Request is small: a socket message of
// more is not one of ours).
const (
	MaxRequestBytes = 16 << 10
	MaxPreview      = 1024
	MaxCommandArgs  = 64
	maxField        = 2048
)

// ErrNoListener is returned by Ask when no serve with a gatekeeper
// listener answers on the socket: approvals are off, and an "ask" must be
// treated as a denial that says how to turn them on.
var ErrNoListener = errors.New("no sidecar serve with a gatekeeper bot is listening for approvals")

// SocketName is the file name of the socket in the data directory.
const SocketName = "approval.sock"

// SocketPath is where serve listens: on the data volume, because the root
// file system is read-only and the volume is shared by every `docker exec`
// in the sidecar container.
func SocketPath(dataDir string) string {
	return filepath.Join(dataDir, SocketName)
}

// Validate reports what is wrong with a request, naming the field.
func (r *Request) Validate() error {
	switch r.Action {
	case ActionAPI:
		if r.Method == "" || r.Host == "" {
			return errors.New("approval: an api request needs method and host")
		}
	case ActionToken:
	case ActionRun:
		if len(r.Command) == 0 {
			return errors.New("approval: a run request needs the command")
		}
	default:
		return fmt.Errorf("approval: unknown action %q (want api, token or run)", r.Action)
	}
	if r.Profile == "" {
		return errors.New("approval: the request names no profile")
	}
	if len(r.Preview) > MaxPreview {
		return fmt.Errorf("approval: preview is %d bytes (at most %d)", len(r.Preview), MaxPreview)
	}
	if len(r.Command) > MaxCommandArgs {
		return fmt.Errorf("approval: command has %d arguments (at most %d)", len(r.Command), MaxCommandArgs)
	}
	for name, v := range map[string]string{"profile": r.Profile, "account": r.Account, "method": r.Method, "host": r.Host, "path": r.Path, "rule": r.Rule} {
		if len(v) > maxField {
			return fmt.Errorf("approval: %s is %d bytes (at most %d)", name, len(v), maxField)
		}
	}
	if r.BodySize < 0 {
		return errors.New("approval: negative body size")
	}
	return nil
}

// wire is one message on the socket in either direction.
type wireRequest struct {
	Request Request `json:"request"`
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
	// A context that ends unblocks the read below.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	b, err := json.Marshal(wireRequest{Request: req})
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
	return a.Decision, nil
}
