package approval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// send writes one raw line on the socket and returns serve's answer line.
func send(t *testing.T, sock string, line string) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	ans, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(ans)
}

// Serve posts nothing for a request it does not trust or that its own
// policy would not ask about, and audits each refusal.
func TestRefusedRequests(t *testing.T) {
	o := newOwner()
	log := &memAudit{}
	s := &Server{Owner: o, Audit: log, Timeout: 5 * time.Second} // a question asked by mistake fails fast
	sock, _ := start(t, s)
	good, _ := json.Marshal(apiReq("anything"))
	key := strings.Repeat("ab", keySize)
	for _, tc := range []struct {
		name, line, detail string
	}{
		{"no key", `{"request":` + string(good) + `}`, "without sidecar serve's key"},
		{"a wrong key", `{"key":"` + key + `","request":` + string(good) + `}`, "without sidecar serve's key"},
		{"a key of another length", `{"key":"abcd","request":` + string(good) + `}`, "without sidecar serve's key"},
		{"not JSON", `GET / HTTP/1.1`, "malformed request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(log.events())
			if got := send(t, sock, tc.line); got != `{"decision":{"allow":false,"reason":"invalid"}}` {
				t.Errorf("answer %s", got)
			}
			evs := log.events()
			if len(evs) != n+1 || evs[n].Action != audit.ActionApproval || evs[n].Decision != ReasonInvalid ||
				!strings.Contains(evs[n].Detail, tc.detail) || !strings.Contains(evs[n].Detail, "nothing was posted") {
				t.Errorf("audit lines %+v", evs[n:])
			}
		})
	}
	// Authenticated, but not a question serve's policy asks.
	for _, tc := range []struct {
		name   string
		req    Request
		detail string
	}{
		{"the policy allows it", Request{Profile: "work", Action: ActionAPI, Method: "GET", Host: "graph.microsoft.com", Path: "/v1.0/me", Rule: "ask GET /**"}, "it says allow"},
		{"the policy denies it", Request{Profile: "work", Action: ActionAPI, Method: "PUT", Host: "graph.microsoft.com", Path: "/x", Rule: "ask PUT /x"}, "it says deny"},
		{"a read allowed by default", Request{Profile: "work", Action: ActionAPI, Method: "GET", Host: "graph.microsoft.com", Path: "/user"}, "allow read (default)"},
		{"an unknown profile", Request{Profile: "nope", Action: ActionToken}, `cannot decide for profile "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(log.events())
			d, err := Ask(context.Background(), sock, tc.req)
			if err != nil || d.Allow || d.Reason != ReasonInvalid {
				t.Errorf("decision %+v, %v; want invalid", d, err)
			}
			evs := log.events()
			if len(evs) != n+1 || evs[n].Decision != ReasonInvalid || !strings.Contains(evs[n].Detail, tc.detail) {
				t.Errorf("audit lines %+v", evs[n:])
			}
		})
	}
	select {
	case r := <-o.asked:
		t.Errorf("the owner was asked: %+v", r)
	default:
	}
}

// A command that cannot read the key (a confined tool) sends nothing.
func TestAskWithoutKey(t *testing.T) {
	o := newOwner()
	sock, _ := start(t, &Server{Owner: o})
	if err := os.Remove(filepath.Join(filepath.Dir(sock), KeyName)); err != nil {
		t.Fatal(err)
	}
	d, err := Ask(context.Background(), sock, apiReq(""))
	if !errors.Is(err, ErrNoKey) || d.Allow {
		t.Fatalf("decision %+v, %v; want ErrNoKey", d, err)
	}
}

// The client takes an Allow only for the request it asked about.
func TestAnswerBound(t *testing.T) {
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
	own, other := apiReq(""), apiReq("")
	other.Method = "DELETE"
	for _, tc := range []struct {
		name    string
		binding string
		allow   bool
	}{
		{"its own request", own.Binding(), true},
		{"another request", other.Binding(), false},
		{"none", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				bufio.NewReader(c).ReadString('\n')
				b, _ := json.Marshal(wireAnswer{Decision: Decision{Allow: true, Reason: ReasonAllowOnce, Binding: tc.binding}})
				c.Write(append(b, '\n'))
			}()
			d, err := Ask(context.Background(), sock, apiReq(""))
			if d.Allow != tc.allow || (err == nil) != tc.allow {
				t.Errorf("decision %+v, %v; want allow %v", d, err, tc.allow)
			}
		})
	}
}

// The scope of an Allow for 1 hour: what it covers and what it does not.
func TestGrantScope(t *testing.T) {
	base := Request{Profile: "work", Action: ActionAPI, Method: "GET", Host: "api.github.com", Path: "/user", Rule: "ask GET /**"}
	tok := Request{Profile: "work", Action: ActionToken, Variant: "scoped", Scopes: []string{"b", "a"}, Rule: "ask token"}
	run := Request{Profile: "work", Action: ActionRun, Command: []string{"gh", "api", "/user"}, Rule: "ask run gh"}
	with := func(r Request, f func(*Request)) Request {
		r.Scopes, r.Command = append([]string(nil), r.Scopes...), append([]string(nil), r.Command...)
		f(&r)
		return r
	}
	for _, tc := range []struct {
		name    string
		a, b    Request
		covered bool
	}{
		{"the same call", base, base, true},
		{"another path under the same rule", base, with(base, func(r *Request) { r.Path = "/user/repos"; r.Query = "page=2" }), true},
		{"another body", base, with(base, func(r *Request) { r.BodyDigest = "x"; r.BodySize = 9 }), true},
		{"the host's case", base, with(base, func(r *Request) { r.Host = "API.github.com" }), true},
		{"DELETE", base, with(base, func(r *Request) { r.Method = "DELETE" }), false},
		{"another host", base, with(base, func(r *Request) { r.Host = "uploads.github.com" }), false},
		{"another rule", base, with(base, func(r *Request) { r.Rule = "ask * /**" }), false},
		{"another profile", base, with(base, func(r *Request) { r.Profile = "home" }), false},
		{"token: the same scopes in another order", tok, with(tok, func(r *Request) { r.Scopes = []string{"a", "b"} }), true},
		{"token: aws credentials", tok, with(tok, func(r *Request) { r.Variant = "aws-credentials"; r.Scopes = nil }), false},
		{"token: another scope", tok, with(tok, func(r *Request) { r.Scopes = []string{"a", "b", "c"} }), false},
		{"token: the access token", tok, with(tok, func(r *Request) { r.Variant = ""; r.Scopes = nil }), false},
		{"an api call under a token grant", tok, base, false},
		{"run: other arguments", run, with(run, func(r *Request) { r.Command = []string{"gh", "pr", "list"} }), true},
		{"run: another program", run, with(run, func(r *Request) { r.Command = []string{"curl"} }), false},
		{"run: with the raw token", run, with(run, func(r *Request) { r.WithToken = true }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ga, gb := GrantFor(tc.a, time.Time{}), GrantFor(tc.b, time.Time{})
			if (ga.key() == gb.key()) != tc.covered || (ga.ID == gb.ID) != tc.covered {
				t.Errorf("grant %+v covers %+v: %v, want %v", ga, gb, ga.key() == gb.key(), tc.covered)
			}
		})
	}
}

// Grants are kept on the volume, encrypted with the cache key and bound to
// their file name; a restarted serve keeps them; the owner can end one.
func TestGrantsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := tokencache.Open(dir, []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	o := newOwner()
	sock, stop := start(t, &Server{Owner: o, GrantFile: st, now: func() time.Time { return now }})
	dc, _ := ask(t, sock, apiReq(""))
	<-o.asked
	o.answers <- AllowHour
	if d := <-dc; d.Reason != ReasonAllow1h {
		t.Fatalf("decision %+v", d)
	}
	stop()
	raw, err := os.ReadFile(filepath.Join(dir, GrantsName))
	if err != nil || strings.Contains(string(raw), "sendMail") || strings.Contains(string(raw), "work") {
		t.Fatalf("the grants file is not encrypted (%v): %q", err, raw)
	}
	// Moved to another name, it does not open.
	os.WriteFile(filepath.Join(dir, "other"), raw, 0o600)
	if _, err := st.ReadSealed("other"); !errors.Is(err, tokencache.ErrDamaged) {
		t.Errorf("a grants file under another name: %v, want ErrDamaged", err)
	}

	s2 := &Server{Owner: o, GrantFile: st, now: func() time.Time { return now.Add(30 * time.Minute) }}
	sock, _ = start(t, s2)
	if d, err := Ask(context.Background(), sock, apiReq("")); err != nil || d.Reason != ReasonGrant {
		t.Fatalf("after the restart: %+v, %v; want the grant", d, err)
	}
	gs := s2.Grants()
	if len(gs) != 1 || gs[0].Method != "POST" || gs[0].Rule != "ask POST /v1.0/me/*" || !gs[0].Until.Equal(now.Add(time.Hour)) {
		t.Fatalf("grants %+v", gs)
	}
	if _, ok, err := s2.EndGrant(gs[0].ID); !ok || err != nil {
		t.Fatalf("EndGrant: %v %v", ok, err)
	}
	dc, _ = ask(t, sock, apiReq(""))
	<-o.asked // asked again
	o.answers <- Deny
	<-dc
	s3 := &Server{GrantFile: st}
	if gs := s3.Grants(); len(gs) != 0 {
		t.Errorf("an ended grant came back after a restart: %+v", gs)
	}
}

// Serve's audit lines: the question posted, then the tap (by the owner),
// or the timeout.
func TestServeAudits(t *testing.T) {
	o := newOwner()
	log := &memAudit{}
	sock, _ := start(t, &Server{Owner: o, Audit: log, Timeout: 50 * time.Millisecond})
	dc, _ := ask(t, sock, apiReq(""))
	<-o.asked
	o.answers <- AllowOnce
	<-dc
	dc, _ = ask(t, sock, apiReq(""))
	<-o.asked
	<-dc
	var got []string
	for _, e := range log.events() {
		got = append(got, e.Caller+" "+e.Decision+" "+e.Method+" "+e.Path)
	}
	want := []string{
		"agent ask POST /v1.0/me/sendMail", "owner allow_once POST /v1.0/me/sendMail",
		"agent ask POST /v1.0/me/sendMail", "agent timeout POST /v1.0/me/sendMail",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A sign-in as another account is always put to the owner, whatever the
// policy says of sign-ins, under serve's own rule; and never for an hour.
func TestAccountChangeAlwaysAsked(t *testing.T) {
	o := newOwner()
	pol, err := policy.Parse("allow signin")
	if err != nil {
		t.Fatal(err)
	}
	sock, _ := start(t, &Server{Owner: o, Policy: func(context.Context, string) (*policy.Policy, string, error) { return pol, "", nil }})
	req := Request{Profile: "work", Action: ActionSignIn, Account: "alice", NewAccount: "mallory", Command: []string{"tgauth"}, Rule: "allow signin"}
	for range 2 {
		dc, _ := ask(t, sock, req)
		q := <-o.asked
		if q.Rule != gate.RuleAccountChange {
			t.Errorf("asked under rule %q", q.Rule)
		}
		o.answers <- AllowHour
		if d := <-dc; !d.Allow || d.Reason != ReasonAllowOnce {
			t.Fatalf("decision %+v: an account change is allowed once at most", d)
		}
	}
	// A plain sign-in the policy allows is not a question.
	plain := req
	plain.NewAccount = ""
	if d, err := Ask(context.Background(), sock, plain); err != nil || d.Reason != ReasonInvalid {
		t.Errorf("a sign-in the policy allows: %+v %v", d, err)
	}
}
