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

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/policy"
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

// Server answers Ask calls on a socket by asking the Owner, and keeps
// "Allow for 1 hour" grants (on GrantFile when set, so that a restart
// keeps them).
//
// It trusts no client: a request must carry Key (only our own unconfined
// commands can read it), and the question is decided again with the
// profile's own policy (Policy): serve's rule, not the client's, is shown
// and scopes a grant, and a question the policy would not ask about is
// refused. Every refusal, every question posted and every answer is
// written to Audit.
type Server struct {
	Owner   Owner
	Timeout time.Duration // DefaultTimeout if 0
	Log     *slog.Logger  // nil: no logs
	// Key is what every request must carry (WriteKey); without one the
	// server refuses every request.
	Key []byte
	// Policy returns a profile's policy and its API base URL (which
	// decides whether a URL is outside it); an error for a profile serve
	// does not know (its questions are refused).
	Policy func(ctx context.Context, profile string) (pol *policy.Policy, api string, err error)
	// Audit, if set, gets a line for every refusal, question, tap,
	// timeout and grant.
	Audit Recorder
	// GrantFile, if set, keeps the grants across restarts.
	GrantFile GrantFile
	// Console, if set, serves terminals running `sidecar approvals` on
	// the socket; it should be among the Owner's owners.
	Console *Console

	now    func() time.Time // tests
	once   sync.Once
	grants grants
}

// Recorder appends to the audit log (audit.Log).
type Recorder interface {
	Append(audit.Event) error
}

// init loads the grants once.
func (s *Server) init() {
	s.once.Do(func() {
		s.grants.file = s.GrantFile
		if err := s.grants.load(s.clock()); err != nil {
			// Unreadable grants are no grants: the owner is asked again.
			s.log().Warn("approval: grants from before the restart are lost", "err", err)
		}
	})
}

// Grants returns the grants in force, soonest to end first.
func (s *Server) Grants() []Grant {
	s.init()
	return s.grants.list(s.clock())
}

// EndGrant ends the grant with id before its time, on the owner's word;
// ok is false when no such grant is in force.
func (s *Server) EndGrant(id string) (Grant, bool, error) {
	s.init()
	g, ok, err := s.grants.end(id, s.clock())
	if ok {
		s.audit(Request{Profile: g.Profile, Action: g.Action, Method: g.Method, Host: g.Host}, audit.CallerOwner, "grant_ended", "rule: "+g.Rule)
	}
	return g, ok, err
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
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return // a probe that sent nothing (Listen checking for a serve)
		}
		s.log().Warn("approval: unreadable request on the socket", "err", err)
		s.audit(Request{}, audit.CallerAgent, ReasonInvalid, "refused: an unreadable request on approval.sock; nothing was posted")
		return
	}
	if w, err := decodeRequest(line); err == nil && w.Watch && s.Console != nil {
		if !keyMatches(s.Key, w.Key) {
			s.audit(Request{}, audit.CallerAgent, ReasonInvalid, "refused: a terminal watch without sidecar serve's key")
			return
		}
		conn.SetReadDeadline(time.Time{})
		s.log().Info("approval: a terminal watches (sidecar approvals)")
		s.Console.watch(ctx, conn, br)
		return
	}
	req, err := s.admit(ctx, line)
	if err != nil {
		s.log().Warn("approval: refused a request", "err", err)
		s.audit(req, audit.CallerAgent, ReasonInvalid, "refused: "+err.Error()+"; nothing was posted")
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
	d := s.decide(cctx, req)
	if ctx.Err() != nil && !d.Allow {
		d = Decision{Reason: ReasonServeStopped}
	}
	d.Binding = req.Binding()
	s.log().Info("approval", "profile", req.Profile, "action", req.Action, "rule", req.Rule, "allow", d.Allow, "reason", d.Reason)
	s.answer(conn, d)
}

// admit reads a request and decides whether serve will put it to the
// owner: it must carry the key, be well formed, name a profile serve
// knows, and be one the profile's policy asks about. The request it
// returns carries serve's own rule.
func (s *Server) admit(ctx context.Context, line []byte) (Request, error) {
	w, err := decodeRequest(line)
	if err != nil {
		return Request{}, err
	}
	// The key first: nothing of an unauthenticated request is trusted,
	// though what it claimed goes to the audit line.
	if !keyMatches(s.Key, w.Key) {
		return claimed(w.Request), errors.New("approval: a request without sidecar serve's key (not one of sidecar's own commands)")
	}
	req := w.Request
	if err := req.Validate(); err != nil {
		return claimed(req), err
	}
	if s.Policy == nil {
		return claimed(req), errors.New("approval: no policy to decide by")
	}
	pol, api, err := s.Policy(ctx, req.Profile)
	if err != nil {
		return claimed(req), fmt.Errorf("approval: cannot decide for profile %q: %w", req.Profile, err)
	}
	if req.Action == ActionSignIn && req.NewAccount != "" {
		// A sign-in as another account is always put to the owner, by
		// no policy rule (gate.ConfirmAccount).
		req.Rule = gate.RuleAccountChange
		return req, nil
	}
	v := pol.Decide(req.PolicyRequest(api))
	if v.Decision != policy.Ask {
		return claimed(req), fmt.Errorf("approval: the policy does not ask about this (it says %s, rule %q)", v.Decision, v.Rule)
	}
	req.Rule = v.Rule
	return req, nil
}

// claimed is what an audit line may keep of a refused request: what it
// claimed to be, bounded.
func claimed(r Request) Request {
	c := func(s string) string { return strings.ToValidUTF8(clipTo(s, 200), "?") }
	out := Request{Profile: c(r.Profile), Action: c(r.Action), Method: c(r.Method), Host: c(r.Host), Path: c(r.Path), Via: c(r.Via)}
	if len(r.Command) > 0 {
		out.Command = []string{c(r.Command[0])}
	}
	return out
}

func clipTo(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// audit writes serve's line about req.
func (s *Server) audit(req Request, caller, decision, detail string) {
	if s.Audit == nil {
		return
	}
	ev := audit.Event{
		Time: s.clock(), Profile: req.Profile, Caller: caller, Action: audit.ActionApproval, Decision: decision,
		Method: req.Method, Host: req.Host, Path: req.Path, Via: req.Via, Detail: detail,
	}
	if ev.Profile == "" {
		ev.Profile = "-"
	}
	if p := req.Program(); p != "" && req.Action == ActionRun {
		ev.Command = p
	}
	if req.Action != "" {
		ev.Detail = "for " + req.Action + "; " + detail
	}
	if err := s.Audit.Append(ev); err != nil {
		s.log().Error("approval: cannot write the audit log", "err", err)
	}
}

func (s *Server) answer(conn net.Conn, d Decision) {
	b, _ := json.Marshal(wireAnswer{Decision: d})
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	conn.Write(append(b, '\n'))
}

// decodeRequest reads one request strictly: an unknown field means a
// client of another version or not ours, and is refused rather than
// shown to the owner in part.
func decodeRequest(line []byte) (wireRequest, error) {
	if len(line) > MaxRequestBytes {
		return wireRequest{}, fmt.Errorf("approval: request larger than %d bytes", MaxRequestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var w wireRequest
	if err := dec.Decode(&w); err != nil {
		return wireRequest{}, fmt.Errorf("approval: malformed request: %w", err)
	}
	return w, nil
}

// decide answers one request: from a grant, or by asking the owner.
// ctx ends when serve stops or the command hangs up.
func (s *Server) decide(ctx context.Context, req Request) Decision {
	s.init()
	now := s.clock()
	s.grants.mu.Lock()
	changed := s.grants.changedLocked()
	s.grants.mu.Unlock()
	// A sign-in or sign-out is asked every time: an hour's grant would let
	// the agent sign out and in again as often as it likes.
	once := req.Action == ActionSignIn || req.Action == ActionLogout
	if g, ok := s.grants.covering(req, now); ok && !once {
		s.audit(req, audit.CallerAgent, ReasonGrant, "allowed by the owner's Allow for 1 hour; rule: "+req.Rule)
		return Decision{Allow: true, Until: g.Until, Reason: ReasonGrant}
	}
	if s.Owner == nil {
		s.audit(req, audit.CallerAgent, ReasonUnavailable, "nobody to ask; rule: "+req.Rule)
		return Decision{Reason: ReasonUnavailable}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimedOut)
	defer cancel()
	// A grant of the same scope made while this question waits answers it.
	actx, grant := context.WithCancelCause(tctx)
	defer grant(nil)
	go func() {
		for {
			select {
			case <-actx.Done():
				return
			case <-changed:
			}
			s.grants.mu.Lock()
			changed = s.grants.changedLocked()
			s.grants.mu.Unlock()
			if _, ok := s.grants.covering(req, s.clock()); ok {
				grant(ErrGranted)
				return
			}
		}
	}()
	s.audit(req, audit.CallerAgent, "ask", "asked the owner; rule: "+req.Rule)
	c, err := s.Owner.Ask(actx, req)
	if err != nil {
		cause := context.Cause(actx)
		switch {
		case errors.Is(cause, ErrGranted):
			if g, ok := s.grants.covering(req, s.clock()); ok {
				s.audit(req, audit.CallerAgent, ReasonGrant, "allowed by the owner's Allow for 1 hour meanwhile; rule: "+req.Rule)
				return Decision{Allow: true, Until: g.Until, Reason: ReasonGrant}
			}
		case errors.Is(cause, ErrTimedOut):
			s.audit(req, audit.CallerAgent, ReasonTimeout, "no answer in time: denied; rule: "+req.Rule)
			return Decision{Reason: ReasonTimeout}
		case errors.Is(cause, ErrWithdrawn):
			s.audit(req, audit.CallerAgent, "withdrawn", "the command stopped waiting; rule: "+req.Rule)
			return Decision{Reason: ReasonServeStopped} // nobody reads it
		case ctx.Err() != nil:
			s.audit(req, audit.CallerAgent, ReasonServeStopped, "serve stopped before an answer; rule: "+req.Rule)
			return Decision{Reason: ReasonServeStopped}
		}
		if errors.Is(err, ErrNoListener) {
			s.audit(req, audit.CallerAgent, ReasonNoListener, "nobody to ask: no gatekeeper bot and no sidecar approvals; rule: "+req.Rule)
			return Decision{Reason: ReasonNoListener}
		}
		s.log().Error("approval: cannot ask the owner", "err", err)
		s.audit(req, audit.CallerAgent, ReasonUnavailable, "cannot ask the owner: "+err.Error()+"; rule: "+req.Rule)
		return Decision{Reason: ReasonUnavailable}
	}
	switch {
	case c == AllowOnce, c == AllowHour && once:
		s.audit(req, audit.CallerOwner, ReasonAllowOnce, "the owner chose Allow once; rule: "+req.Rule)
		return Decision{Allow: true, Reason: ReasonAllowOnce}
	case c == AllowHour:
		g := GrantFor(req, s.clock().Add(GrantDuration))
		if err := s.grants.add(g, s.clock()); err != nil {
			// The owner said yes to this request: it goes through, but
			// the hour is not kept, so the next one asks again.
			s.log().Error("approval: the grant is not kept", "err", err)
			s.audit(req, audit.CallerOwner, ReasonAllowOnce, "the owner chose Allow for 1 hour, but the grant could not be kept: allowed once; rule: "+req.Rule)
			return Decision{Allow: true, Reason: ReasonAllowOnce}
		}
		s.audit(req, audit.CallerOwner, ReasonAllow1h, "the owner chose Allow for 1 hour, until "+g.Until.UTC().Format(time.RFC3339)+"; rule: "+req.Rule)
		return Decision{Allow: true, Until: g.Until, Reason: ReasonAllow1h}
	}
	s.audit(req, audit.CallerOwner, ReasonDeny, "the owner chose Deny; rule: "+req.Rule)
	return Decision{Reason: ReasonDeny}
}
