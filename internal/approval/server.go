package approval

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Owner puts a request to the person who decides: in serve, the gatekeeper
// chat (bridge.Gatekeeper).
type Owner interface {
	// Ask shows req to the owner and returns the button they tapped. When
	// ctx ends first it returns an error; context.Cause(ctx) is
	// ErrTimedOut (no answer in time), ErrWithdrawn (the command stopped
	// waiting), ErrGranted (a 1-hour grant made meanwhile covers it) or the
	// server's own end (serve stopping), so the message can say what
	// happened.
	Ask(ctx context.Context, req Request) (Choice, error)
}

// Causes of an Ask's context ending, for Owner implementations.
var (
	ErrTimedOut  = errors.New("approval: the owner did not answer in time")
	ErrWithdrawn = errors.New("approval: the command stopped waiting")
	// ErrGranted: while the question waited, the owner tapped "Allow for
	// 1 hour" on another question of the same profile and rule, which
	// covers this one too.
	ErrGranted = errors.New("approval: allowed by a grant for the same rule")
)

// Server answers Ask calls on a socket by asking the Owner, and remembers
// "Allow for 1 hour" grants (in memory only: a restarted serve asks again,
// which is the safe side).
type Server struct {
	Owner   Owner
	Timeout time.Duration // DefaultTimeout if 0
	Log     *slog.Logger  // nil: no logs

	now     func() time.Time // tests
	mu      sync.Mutex
	grants  map[string]time.Time
	granted chan struct{} // closed and replaced when a grant is made; made on first use
}

// grantedLocked returns the channel closed at the next new grant.
// Callers hold s.mu.
func (s *Server) grantedLocked() chan struct{} {
	if s.granted == nil {
		s.granted = make(chan struct{})
	}
	return s.granted
}

func (s *Server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Listen creates the socket at path, readable and writable by this user
// only. A socket left by a serve that died is replaced; a socket on which
// another serve answers is not (two listeners would split the requests).
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("approval: %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("approval: another sidecar serve is listening on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("approval: removing the stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("approval: %w", err)
	}
	return ln, nil
}

// Serve answers requests on ln until ctx ends. Then every request still
// waiting is answered ReasonServeStopped before Serve returns, and ln is
// closed (which removes the socket file).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			ln.Close()
			return fmt.Errorf("approval: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, conn)
		}()
	}
}

func (s *Server) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(io.LimitReader(conn, MaxRequestBytes+1), 4096)
	line, err := br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		var more []byte
		more, err = br.ReadSlice('\n')
		line = append(append([]byte(nil), line...), more...)
	}
	if err != nil {
		s.log().Warn("approval: unreadable request on the socket", "err", err)
		return
	}
	req, err := decodeRequest(line)
	if err != nil {
		s.log().Warn("approval: refused a request", "err", err)
		s.answer(conn, Decision{Reason: ReasonInvalid})
		return
	}
	conn.SetReadDeadline(time.Time{})

	// The command may stop waiting (Ctrl-C, its own timeout): then the
	// question in the chat is withdrawn instead of left open.
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		var b [1]byte
		if _, err := conn.Read(b[:]); err != nil {
			cancel(ErrWithdrawn)
		}
	}()
	d := s.decide(ctx, cctx, req)
	s.log().Info("approval", "profile", req.Profile, "action", req.Action, "rule", req.Rule, "allow", d.Allow, "reason", d.Reason)
	s.answer(conn, d)
}

func (s *Server) answer(conn net.Conn, d Decision) {
	b, _ := json.Marshal(wireAnswer{Decision: d})
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	conn.Write(append(b, '\n'))
}

// decodeRequest reads one request strictly: an unknown field means a
// client of another version or not ours, and is refused rather than
// shown to the owner in part.
func decodeRequest(line []byte) (Request, error) {
	if len(line) > MaxRequestBytes {
		return Request{}, fmt.Errorf("approval: request larger than %d bytes", MaxRequestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var w wireRequest
	if err := dec.Decode(&w); err != nil {
		return Request{}, fmt.Errorf("approval: malformed request: %w", err)
	}
	if err := w.Request.Validate(); err != nil {
		return Request{}, err
	}
	return w.Request, nil
}

// decide answers one request: from a grant, or by asking the owner.
// serving ends when serve stops; ctx also when the command hangs up.
func (s *Server) decide(serving, ctx context.Context, req Request) Decision {
	key := grantKey(req)
	now := s.clock()
	s.mu.Lock()
	until, ok := s.grants[key]
	granted := s.grantedLocked()
	s.mu.Unlock()
	// A sign-in or sign-out is asked every time: an hour's grant would let
	// the agent sign out and in again as often as it likes.
	once := req.Action == ActionSignIn || req.Action == ActionLogout
	if ok && now.Before(until) && !once {
		return Decision{Allow: true, Until: until, Reason: ReasonGrant}
	}
	if s.Owner == nil {
		return Decision{Reason: ReasonUnavailable}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimedOut)
	defer cancel()
	// A grant for the same rule made while this question waits answers it.
	actx, grant := context.WithCancelCause(tctx)
	defer grant(nil)
	go func() {
		for {
			select {
			case <-actx.Done():
				return
			case <-granted:
			}
			s.mu.Lock()
			u, ok := s.grants[key]
			granted = s.grantedLocked()
			s.mu.Unlock()
			if ok && s.clock().Before(u) {
				grant(ErrGranted)
				return
			}
		}
	}()
	c, err := s.Owner.Ask(actx, req)
	if err != nil {
		switch {
		case serving.Err() != nil:
			return Decision{Reason: ReasonServeStopped}
		case errors.Is(context.Cause(actx), ErrGranted):
			s.mu.Lock()
			u := s.grants[key]
			s.mu.Unlock()
			return Decision{Allow: true, Until: u, Reason: ReasonGrant}
		case errors.Is(context.Cause(actx), ErrTimedOut):
			return Decision{Reason: ReasonTimeout}
		case errors.Is(context.Cause(actx), ErrWithdrawn):
			return Decision{Reason: ReasonServeStopped} // nobody reads it
		}
		s.log().Error("approval: cannot ask the owner", "err", err)
		return Decision{Reason: ReasonUnavailable}
	}
	switch {
	case c == AllowOnce, c == AllowHour && once:
		return Decision{Allow: true, Reason: ReasonAllowOnce}
	case c == AllowHour:
		until := s.clock().Add(GrantDuration)
		s.mu.Lock()
		if s.grants == nil {
			s.grants = map[string]time.Time{}
		}
		for k, u := range s.grants { // forget expired grants
			if !now.Before(u) {
				delete(s.grants, k)
			}
		}
		s.grants[key] = until
		close(s.grantedLocked())
		s.granted = make(chan struct{})
		s.mu.Unlock()
		return Decision{Allow: true, Until: until, Reason: ReasonAllow1h}
	}
	return Decision{Reason: ReasonDeny}
}

// grantKey is the scope of an "Allow for 1 hour": the same profile, action
// and policy rule; without a rule, exactly the same request.
func grantKey(r Request) string {
	if r.Rule != "" {
		return strings.Join([]string{r.Profile, r.Action, "rule", r.Rule}, "\x00")
	}
	parts := []string{r.Profile, r.Action, "req", r.Method, r.Host, r.Path}
	return strings.Join(append(parts, r.Command...), "\x00")
}
