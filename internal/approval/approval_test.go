package approval

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/policy"
)

// owner is a scripted Owner: each Ask is reported on asked and answered
// from answers (or waits for ctx when answers has nothing). With byRule
// set, each question is answered from the channel of its rule instead.
type owner struct {
	asked   chan Request
	answers chan Choice
	byRule  map[string]chan Choice
	mu      sync.Mutex
	causes  []error
}

func newOwner() *owner {
	return &owner{asked: make(chan Request, 10), answers: make(chan Choice, 10)}
}

func (o *owner) Ask(ctx context.Context, req Request) (Choice, error) {
	o.asked <- req
	answers := o.answers
	if o.byRule != nil {
		answers = o.byRule[req.Rule]
	}
	select {
	case c := <-answers:
		return c, nil
	case <-ctx.Done():
		o.mu.Lock()
		o.causes = append(o.causes, context.Cause(ctx))
		o.mu.Unlock()
		return 0, ctx.Err()
	}
}

func (o *owner) cause(t *testing.T) error {
	t.Helper()
	for range 200 {
		o.mu.Lock()
		n := len(o.causes)
		o.mu.Unlock()
		if n > 0 {
			return o.causes[n-1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the owner's Ask never ended")
	return nil
}

// testPolicy is the policy of every profile of the test servers: it asks
// about what the tests ask about.
const testPolicy = "ask POST /v1.0/me/*; ask DELETE /v1.0/**; allow GET /v1.0/me; deny PUT /**; ask token; ask run"

func testPolicies(t testing.TB) func(context.Context, string) (*policy.Policy, string, error) {
	t.Helper()
	pol, err := policy.Parse(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return func(_ context.Context, profile string) (*policy.Policy, string, error) {
		if profile == "work" || profile == "home" || profile == "default" {
			return pol, "https://graph.microsoft.com", nil
		}
		return nil, "", errors.New("unknown profile")
	}
}

// memAudit is an audit log in memory.
type memAudit struct {
	mu  sync.Mutex
	evs []audit.Event
}

func (m *memAudit) Append(e audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, e)
	return nil
}

func (m *memAudit) events() []audit.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]audit.Event(nil), m.evs...)
}

// start runs a Server on a fresh socket, with a key and, unless set, the
// test policy and an audit log in memory; it returns the socket's path and
// a stop.
func start(t *testing.T, s *Server) (string, context.CancelFunc) {
	t.Helper()
	dir := t.TempDir()
	sock := SocketPath(dir)
	key, err := WriteKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Key = key
	if s.Policy == nil {
		s.Policy = testPolicies(t)
	}
	if s.Audit == nil {
		s.Audit = &memAudit{}
	}
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(stop) })
	return sock, func() { once.Do(stop) }
}

func apiReq(rule string) Request {
	return Request{Profile: "work", Account: "ada@example.com", Action: ActionAPI, Method: "POST", Host: "graph.microsoft.com", Path: "/v1.0/me/sendMail", BodySize: 120, Preview: `{"subject":"hi"}`, Rule: rule}
}

func ask(t *testing.T, sock string, req Request) (chan Decision, chan error) {
	dc, ec := make(chan Decision, 1), make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d, err := Ask(ctx, sock, req)
		dc <- d
		ec <- err
	}()
	return dc, ec
}

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		choice Choice
		want   Decision
		until  bool
	}{
		{"allow once", AllowOnce, Decision{Allow: true, Reason: ReasonAllowOnce}, false},
		{"allow for an hour", AllowHour, Decision{Allow: true, Reason: ReasonAllow1h}, true},
		{"deny", Deny, Decision{Reason: ReasonDeny}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOwner()
			sock, _ := start(t, &Server{Owner: o})
			dc, ec := ask(t, sock, apiReq("POST /v1.0/me/*"))
			got := <-o.asked
			if got.Path != "/v1.0/me/sendMail" || got.Preview != `{"subject":"hi"}` || got.Account != "ada@example.com" || got.Rule != "ask POST /v1.0/me/*" {
				t.Errorf("the owner was asked %+v", got)
			}
			o.answers <- tc.choice
			d, err := <-dc, <-ec
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != tc.want.Allow || d.Reason != tc.want.Reason || d.Until.IsZero() == tc.until {
				t.Errorf("decision %+v, want %+v (until set: %v)", d, tc.want, tc.until)
			}
		})
	}
}

func TestGrantForAnHour(t *testing.T) {
	o := newOwner()
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s := &Server{Owner: o, now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	sock, _ := start(t, s)
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	dc, _ := ask(t, sock, apiReq("POST /v1.0/me/*"))
	<-o.asked
	o.answers <- AllowHour
	if d := <-dc; !d.Allow || !d.Until.Equal(now.Add(time.Hour)) {
		t.Fatalf("first decision %+v", d)
	}

	// Within the hour: the same rule is allowed without asking; another
	// rule, another profile and another action are asked.
	advance(59 * time.Minute)
	dc, ec := ask(t, sock, apiReq("POST /v1.0/me/*"))
	if d, err := <-dc, <-ec; err != nil || !d.Allow || d.Reason != ReasonGrant {
		t.Fatalf("second decision %+v, %v; want a grant", d, err)
	}
	select {
	case r := <-o.asked:
		t.Fatalf("the owner was asked again within the hour: %+v", r)
	default:
	}
	// The client claims the rule of the grant: serve decides by its own.
	other := apiReq("ask POST /v1.0/me/*")
	other.Method = "DELETE"
	otherProfile := apiReq("POST /v1.0/me/*")
	otherProfile.Profile = "home"
	token := Request{Profile: "work", Action: ActionToken, Rule: "POST /v1.0/me/*"}
	for _, r := range []Request{other, otherProfile, token} {
		dc, _ := ask(t, sock, r)
		<-o.asked
		o.answers <- Deny
		if d := <-dc; d.Allow {
			t.Errorf("%+v was allowed by another request's grant", r)
		}
	}

	// After the hour: asked again.
	advance(time.Minute)
	dc, _ = ask(t, sock, apiReq("POST /v1.0/me/*"))
	select {
	case <-o.asked:
	case <-time.After(10 * time.Second):
		t.Fatal("an expired grant still allowed the request")
	}
	o.answers <- Deny
	if d := <-dc; d.Allow || d.Reason != ReasonDeny {
		t.Errorf("after the hour: %+v", d)
	}
}

func TestTimeoutDenies(t *testing.T) {
	o := newOwner()
	sock, _ := start(t, &Server{Owner: o, Timeout: 50 * time.Millisecond})
	dc, ec := ask(t, sock, apiReq(""))
	<-o.asked
	if d, err := <-dc, <-ec; err != nil || d.Allow || d.Reason != ReasonTimeout {
		t.Fatalf("decision %+v, %v; want a timeout denial", d, err)
	}
	if c := o.cause(t); !errors.Is(c, ErrTimedOut) {
		t.Errorf("the owner's Ask ended with cause %v, want ErrTimedOut", c)
	}
}

func TestServeStoppingDenies(t *testing.T) {
	o := newOwner()
	sock, stop := start(t, &Server{Owner: o})
	dc, ec := ask(t, sock, apiReq(""))
	<-o.asked
	stop()
	if d, err := <-dc, <-ec; err != nil || d.Allow || d.Reason != ReasonServeStopped {
		t.Fatalf("decision %+v, %v; want serve_stopped", d, err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket is left behind after Serve: %v", err)
	}
	// And a new request finds nobody.
	if _, err := Ask(context.Background(), sock, apiReq("")); !errors.Is(err, ErrNoListener) {
		t.Errorf("after stop: %v, want ErrNoListener", err)
	}
}

// A serve that dies without a word (SIGKILL, OOM) drops the connection:
// the command gets a denial, not a hang.
func TestServeKilledDenies(t *testing.T) {
	dir := t.TempDir()
	sock := SocketPath(dir)
	if _, err := WriteKey(dir); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 4096)
		c.Read(buf)
		c.Close()
	}()
	d, err := Ask(context.Background(), sock, apiReq(""))
	if err != nil || d.Allow || d.Reason != ReasonServeStopped {
		t.Fatalf("decision %+v, %v; want serve_stopped", d, err)
	}
}

func TestNoListener(t *testing.T) {
	dir := t.TempDir()
	// No socket at all.
	if _, err := Ask(context.Background(), SocketPath(dir), apiReq("")); !errors.Is(err, ErrNoListener) {
		t.Errorf("no socket: %v, want ErrNoListener", err)
	}
	// A stale socket of a serve that died.
	sock := SocketPath(dir)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Ask(context.Background(), sock, apiReq("")); !errors.Is(err, ErrNoListener) {
		t.Errorf("stale socket: %v, want ErrNoListener", err)
	}
	// Listen replaces the stale socket.
	ln, err = Listen(sock)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()
}

func TestListen(t *testing.T) {
	sock := SocketPath(t.TempDir())
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("socket mode %v, want 0600", perm)
	}
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "another sidecar serve") {
		t.Errorf("second Listen: %v, want a refusal", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Listen(file); err == nil {
		t.Error("Listen replaced a regular file")
	}
}

func TestWithdrawn(t *testing.T) {
	o := newOwner()
	sock, _ := start(t, &Server{Owner: o})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Ask(ctx, sock, apiReq(""))
		done <- err
	}()
	<-o.asked
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Ask: %v, want context.Canceled", err)
	}
	if c := o.cause(t); !errors.Is(c, ErrWithdrawn) {
		t.Errorf("the owner's Ask ended with cause %v, want ErrWithdrawn", c)
	}
}

func TestInvalidRequests(t *testing.T) {
	o := newOwner()
	sock, _ := start(t, &Server{Owner: o})
	long := strings.Repeat("x", MaxPreview+1)
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"no action", Request{Profile: "work"}},
		{"unknown action", Request{Profile: "work", Action: "sudo"}},
		{"no profile", Request{Action: ActionToken}},
		{"api without method", Request{Profile: "work", Action: ActionAPI, Host: "h"}},
		{"run without command", Request{Profile: "work", Action: ActionRun}},
		{"preview too long", Request{Profile: "work", Action: ActionAPI, Method: "POST", Host: "h", Preview: long}},
		{"too many args", Request{Profile: "work", Action: ActionRun, Command: make([]string, MaxCommandArgs+1)}},
		{"negative body", Request{Profile: "work", Action: ActionAPI, Method: "POST", Host: "h", BodySize: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Ask(context.Background(), sock, tc.req)
			if err != nil || d.Allow || d.Reason != ReasonInvalid {
				t.Errorf("decision %+v, %v; want invalid", d, err)
			}
		})
	}
	select {
	case r := <-o.asked:
		t.Errorf("the owner was asked about an invalid request: %+v", r)
	default:
	}
}

func TestUnknownFieldRefused(t *testing.T) {
	if _, err := decodeRequest([]byte(`{"request":{"profile":"p","action":"token","allow":true}}` + "\n")); err == nil {
		t.Error("a request with an unknown field was accepted")
	}
	if _, err := decodeRequest([]byte(`{"request":{"profile":"p","action":"token"}}` + "\n")); err != nil {
		t.Errorf("a good request was refused: %v", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"request":{"profile":"p","action":"token"}}`))
	f.Add([]byte(`{"request":{"profile":"p","action":"run","command":["gh","api"]}}`))
	f.Add([]byte(`{"request":{"profile":"p","action":"api","method":"POST","host":"h","body_size":3}}`))
	s := &Server{Key: make([]byte, keySize), Policy: testPolicies(f)}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := decodeRequest(b)
		if err != nil {
			return
		}
		w.Key = hex.EncodeToString(s.Key)
		line, _ := json.Marshal(w)
		r, err := s.admit(context.Background(), line)
		if err != nil {
			return
		}
		if r.Validate() != nil {
			t.Fatalf("decodeRequest accepted an invalid request %+v", r)
		}
		if len(r.Preview) > MaxPreview || len(r.Command) > MaxCommandArgs {
			t.Fatalf("limits not enforced: %+v", r)
		}
	})
}

// Two questions of the same rule wait; the owner taps "Allow for 1 hour"
// on one: the other is allowed by that grant without a tap of its own, and
// its question ends with ErrGranted. A question of another rule waits on.
func TestGrantAnswersWaitingQuestion(t *testing.T) {
	const rule, otherRule = "ask POST /v1.0/me/*", "ask DELETE /v1.0/**"
	o := &owner{asked: make(chan Request, 10), byRule: map[string]chan Choice{rule: make(chan Choice, 1), otherRule: make(chan Choice, 1)}}
	sock, _ := start(t, &Server{Owner: o})
	first, _ := ask(t, sock, apiReq(rule))
	<-o.asked
	second, _ := ask(t, sock, apiReq(rule))
	<-o.asked
	del := apiReq(rule) // the client's rule is not serve's
	del.Method = "DELETE"
	other, _ := ask(t, sock, del)
	<-o.asked
	o.byRule[rule] <- AllowHour // taken by one of the two
	d1, d2 := <-first, <-second
	if !d1.Allow || !d2.Allow || d1.Reason == d2.Reason || (d1.Reason != ReasonGrant && d2.Reason != ReasonGrant) {
		t.Fatalf("decisions %+v and %+v: want one allow_1h and one grant", d1, d2)
	}
	o.mu.Lock()
	causes := append([]error(nil), o.causes...)
	o.mu.Unlock()
	if len(causes) != 1 || !errors.Is(causes[0], ErrGranted) {
		t.Errorf("the covered question ended with %v, want ErrGranted", causes)
	}
	select {
	case d := <-other:
		t.Fatalf("another rule's question was answered by the grant: %+v", d)
	case <-time.After(200 * time.Millisecond):
	}
	o.byRule[otherRule] <- Deny
	if d := <-other; d.Allow {
		t.Fatalf("other rule: %+v", d)
	}
}

// A sign-in or sign-out is never granted for an hour: a tap on "Allow for
// 1 hour" (on an old message, or forged callback data) allows that one,
// and the next is asked again.
func TestSignInIsNeverGrantedForAnHour(t *testing.T) {
	for _, action := range []string{ActionSignIn, ActionLogout} {
		t.Run(action, func(t *testing.T) {
			o := newOwner()
			sock, _ := start(t, &Server{Owner: o})
			req := Request{Profile: "work", Account: "ada@example.com", Action: action, Command: []string{"sidecar", action}, Rule: "ask " + action}
			for i := range 2 {
				dc, ec := ask(t, sock, req)
				select {
				case <-o.asked:
				case <-time.After(10 * time.Second):
					t.Fatalf("request %d was not asked", i)
				}
				o.answers <- AllowHour
				if d, err := <-dc, <-ec; err != nil || !d.Allow || d.Reason != ReasonAllowOnce || !d.Until.IsZero() {
					t.Fatalf("request %d: %+v, %v; want allowed once", i, d, err)
				}
			}
		})
	}
}
