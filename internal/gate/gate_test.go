package gate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/policy"
)

// log keeps the audit lines in memory.
type log struct{ lines []audit.Event }

func (l *log) Record(e audit.Event) error { l.lines = append(l.lines, e); return nil }

func (l *log) words() string {
	var w []string
	for _, e := range l.lines {
		w = append(w, e.Action+":"+e.Decision)
	}
	return strings.Join(w, " ")
}

// owner answers every question with answer, or err, and keeps them.
type owner struct {
	answer Answer
	err    error
	asked  []Question
}

func (o *owner) Ask(_ context.Context, q Question) (Answer, error) {
	o.asked = append(o.asked, q)
	return o.answer, o.err
}

func mustPolicy(t testing.TB, s string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheck: one Check decides for every kind of action, writes the
// approval and refusal lines itself, and leaves the action's own line to
// the Pass.
func TestCheck(t *testing.T) {
	allowOnce := Answer{Allow: true, Reason: ReasonAllowOnce}
	deny := Answer{Reason: ReasonDeny}
	tests := []struct {
		name     string
		caller   string
		api      string // the API base; api.github.com when empty
		policy   string
		action   Action
		answer   Answer
		askErr   error
		noAsker  bool
		wantErr  string // the refusal's reason; "" for a pass
		decision string // the pass's decision
		asked    bool
		lines    string // audit lines Check wrote
	}{
		{name: "owner is never asked", caller: audit.CallerOwner, action: Action{Kind: API, Method: "DELETE", URL: "https://api.github.com/repos/o/r"},
			decision: "owner"},
		{name: "agent read allowed by default", caller: audit.CallerAgent, action: Action{Kind: API, Method: "GET", URL: "https://api.github.com/user"},
			decision: "allow"},
		{name: "agent write asks, owner allows once", caller: audit.CallerAgent, action: Action{Kind: API, Method: "POST", URL: "https://api.github.com/repos/o/r/issues", Body: []byte(`{}`)},
			answer: allowOnce, decision: ReasonAllowOnce, asked: true, lines: "approval:allow_once"},
		{name: "agent write asks, owner denies", caller: audit.CallerAgent, action: Action{Kind: API, Method: "DELETE", URL: "https://api.github.com/repos/o/r"},
			answer: deny, wantErr: ReasonDeny, asked: true, lines: "approval:deny api:deny"},
		{name: "policy denies without asking", caller: audit.CallerAgent, policy: "deny DELETE /**", action: Action{Kind: API, Method: "DELETE", URL: "https://api.github.com/repos/o/r"},
			wantErr: "policy", lines: "api:deny"},
		{name: "token asks by default", caller: audit.CallerAgent, action: Action{Kind: Token, Variant: VariantAccess},
			answer: allowOnce, decision: ReasonAllowOnce, asked: true, lines: "approval:allow_once"},
		{name: "run asks by default", caller: audit.CallerAgent, action: Action{Kind: Run, Argv: []string{"gh", "api", "/user"}},
			answer: deny, wantErr: ReasonDeny, asked: true, lines: "approval:deny run:deny"},
		{name: "allow run gh", caller: audit.CallerAgent, policy: "allow run gh", action: Action{Kind: Run, Argv: []string{"gh", "api", "/user"}},
			decision: "allow"},
		// A run handing the tool the raw token (with-token, or aws) is a
		// token export: an explicit token rule stricter than the run rule
		// wins.
		{name: "deny token refuses an aws run", caller: audit.CallerAgent, policy: "deny token", action: Action{Kind: Run, Argv: []string{"aws", "s3", "ls"}, WithToken: true},
			wantErr: "policy", lines: "run:deny"},
		{name: "deny token leaves a placeholder run alone", caller: audit.CallerAgent, policy: "deny token; allow run gh", action: Action{Kind: Run, Argv: []string{"gh"}},
			decision: "allow"},
		{name: "no approver is a denial that says so", caller: audit.CallerAgent, action: Action{Kind: Token}, noAsker: true,
			wantErr: ReasonNoListener, lines: "approval:no_listener token:deny"},
		{name: "serve gone", caller: audit.CallerAgent, action: Action{Kind: Token}, askErr: fmt.Errorf("x: %w", ErrNoApprover),
			wantErr: ReasonNoListener, asked: true, lines: "approval:no_listener token:deny"},
		{name: "not a URL", caller: audit.CallerAgent, action: Action{Kind: API, Method: "GET", URL: "/user"},
			wantErr: "bad", lines: "api:deny"},
		// Attack: an approved POST that the server runs as DELETE.
		{name: "method override refused", caller: audit.CallerAgent, policy: "allow POST /**",
			action:  Action{Kind: API, Method: "POST", URL: "https://api.github.com/repos/o/r", Header: map[string][]string{"x-http-method-override": {"DELETE"}}},
			wantErr: "bad", lines: "api:deny"},
		// Attack: a body on a read, which the default allows unseen.
		{name: "GET with a body refused", caller: audit.CallerAgent, action: Action{Kind: API, Method: "GET", URL: "https://api.github.com/user", Body: []byte(`{"private":false}`)},
			wantErr: "bad", lines: "api:deny"},
		{name: "owner may send what the agent may not", caller: audit.CallerOwner, action: Action{Kind: API, Method: "GET", URL: "https://api.github.com/user", Body: []byte(`x`)},
			decision: "owner"},
		// Attack: the base path. deny /v1.0/users/** is not bypassed by
		// /beta/users: outside the base, the default asks.
		{name: "beta is outside the base", caller: audit.CallerAgent, api: "https://graph.microsoft.com/v1.0", policy: "deny * /v1.0/users/**",
			action: Action{Kind: API, Method: "GET", URL: "https://graph.microsoft.com/beta/users/x"},
			answer: deny, wantErr: ReasonDeny, asked: true, lines: "approval:deny api:deny"},
		{name: "inside the base path", caller: audit.CallerAgent, api: "https://graph.microsoft.com/v1.0",
			action: Action{Kind: API, Method: "GET", URL: "https://graph.microsoft.com/v1.0/me"}, decision: "allow"},
		{name: "base path is a whole segment", caller: audit.CallerAgent, api: "https://graph.microsoft.com/v1.0",
			action: Action{Kind: API, Method: "GET", URL: "https://graph.microsoft.com/v1.0x/me"},
			answer: deny, wantErr: ReasonDeny, asked: true, lines: "approval:deny api:deny"},
		{name: "another host asks", caller: audit.CallerAgent, action: Action{Kind: API, Method: "GET", URL: "https://uploads.github.com/x"},
			answer: allowOnce, decision: ReasonAllowOnce, asked: true, lines: "approval:allow_once"},
		{name: "signin asks by default", caller: audit.CallerAgent, action: Action{Kind: SignIn, Argv: []string{"sidecar", "login", "--json"}},
			answer: deny, wantErr: ReasonDeny, asked: true, lines: "approval:deny signin:deny"},
		{name: "logout asks by default", caller: audit.CallerAgent, action: Action{Kind: Logout, Argv: []string{"sidecar", "logout", "--force"}},
			noAsker: true, wantErr: ReasonNoListener, lines: "approval:no_listener logout:deny"},
		{name: "allow signin", caller: audit.CallerAgent, policy: "allow signin", action: Action{Kind: SignIn},
			decision: "allow"},
		{name: "deny logout", caller: audit.CallerAgent, policy: "allow signin; deny logout", action: Action{Kind: Logout},
			wantErr: "policy", lines: "logout:deny"},
		{name: "the owner signs out unasked", caller: audit.CallerOwner, action: Action{Kind: Logout},
			decision: "owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &log{}
			o := &owner{answer: tt.answer, err: tt.askErr}
			if tt.api == "" {
				tt.api = "https://api.github.com"
			}
			g := &Gate{Profile: "default", API: tt.api, Caller: tt.caller, Policy: mustPolicy(t, tt.policy), Log: l, Asker: o,
				Account: func() string { return "octo@example.com" }}
			if tt.noAsker {
				g.Asker = nil
			}
			pass, err := g.Check(context.Background(), tt.action)
			switch {
			case tt.wantErr == "bad":
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("Check = %v, want a bad request", err)
				}
			case tt.wantErr != "":
				var r *policy.Refused
				if !errors.As(err, &r) || r.Reason != tt.wantErr || !errors.Is(err, policy.ErrRefused) {
					t.Fatalf("Check = %v, want a refusal for %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if pass.Event.Decision != tt.decision || pass.Event.Action != string(tt.action.Kind) {
					t.Errorf("pass %+v, want decision %q", pass.Event, tt.decision)
				}
			}
			if got := len(o.asked) > 0; got != tt.asked {
				t.Errorf("asked %v, want %v", got, tt.asked)
			}
			for _, q := range o.asked {
				if q.Profile != "default" || q.Account != "octo@example.com" || q.Rule == "" || q.Validate() != nil {
					t.Errorf("question %+v (%v)", q, q.Validate())
				}
			}
			if got := l.words(); got != tt.lines {
				t.Errorf("audit lines %q, want %q", got, tt.lines)
			}
		})
	}
}

// TestQuestionShowsWhatRuns: the owner sees everything that decides what
// happens (issue: a POST approved with a method-override header, a body
// hidden behind padding, a token request that looks like any other).
func TestQuestionShowsWhatRuns(t *testing.T) {
	body := `{"name":"precious","description":"` + strings.Repeat("x", 2000) + `","private":false,"token":"s3cr3t"}`
	a := Action{Kind: API, Profile: "gh", Method: "POST", URL: "https://api.github.com/user/repos?visibility=public&per_page=1",
		Header: map[string][]string{"X-Custom": {"yes"}, "Accept": {"application/json"}, "X-Api-Key": {"k"}}, Body: []byte(body)}
	q := a.Question("ask POST /user/repos")
	if q.Query != "visibility=public&per_page=1" || q.Path != "/user/repos" || q.Host != "api.github.com" {
		t.Errorf("URL shown as %q %q %q", q.Host, q.Path, q.Query)
	}
	if strings.Join(q.Headers, "|") != "X-Api-Key: [masked]|X-Custom: yes" {
		t.Errorf("headers %q", q.Headers)
	}
	if q.BodySize != len(body) || len(q.BodyDigest) != 64 || !strings.Contains(q.Preview, fmt.Sprintf("%d more bytes not shown", len(body)-MaxPreview)) {
		t.Errorf("body %d %q, preview tail %q", q.BodySize, q.BodyDigest, q.Preview[len(q.Preview)-40:])
	}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	scoped := Action{Kind: Token, Variant: VariantScoped, Scopes: []string{"repo", "admin:org"}}
	aws := Action{Kind: Token, Variant: VariantAWS}
	if sq, aq := scoped.Question("ask token"), aws.Question("ask token"); strings.Join(sq.Scopes, " ") != "repo admin:org" || aq.Variant != VariantAWS || sq.Variant == aq.Variant {
		t.Errorf("token questions alike: %+v %+v", sq, aq)
	}
	run := Action{Kind: Run, Argv: []string{"gh", "api", "-X", "DELETE", "/repos/o/r", "--jq", strings.Repeat("y", 300)}}
	if rq := run.Question("ask run gh"); len(rq.Command) != 7 || rq.Command[3] != "DELETE" || len(rq.Command[6]) != 300 {
		t.Errorf("run command shown as %q", rq.Command)
	}
}

func TestMaskSecrets(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"title":"Hello","password":"hunter2"}`, `{"title":"Hello","password":"[masked]"}`},
		{`{"client_secret": "abc", "ApiKey":"x\"y"}`, `{"client_secret": "[masked]", "ApiKey":"[masked]"}`},
		{`access_token=ghp_0123456789abcdefghijABCDEFGHIJklmnop&x=1`, `access_token=[masked]&x=1`},
		{`see https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b?c=d`, `see https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b?c=d`},
		{`{"homepage":"https://evil.example/x"}`, `{"homepage":"https://evil.example/x"}`},
		{`Bearer abcdefghijklmnop`, `[masked]`},
		{`key AKIAabcdefghijklmnopqrstuvwxyz0123456789`, `key [masked]`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskSecrets(tt.in); got != tt.want {
			t.Errorf("MaskSecrets(%.50q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPreview(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"\x00\x01binary", "(8 bytes, not text)"},
		{strings.Repeat("é", 600), strings.Repeat("é", 512) + "\n… 176 more bytes not shown"},
	}
	for _, tt := range tests {
		if got := Preview([]byte(tt.in)); got != tt.want {
			t.Errorf("Preview(%.40q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEventKeepsNoSecret(t *testing.T) {
	a := Action{Kind: API, Via: "run gh", Method: "GET", URL: "https://api.github.com/search?q=secret-value", Body: []byte("body-value")}
	ev := a.Event()
	if ev.Path != "/search" || ev.Host != "api.github.com" || ev.Via != "run gh" || strings.Contains(fmt.Sprint(ev), "secret-value") || strings.Contains(fmt.Sprint(ev), "body-value") {
		t.Errorf("event %+v", ev)
	}
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"gh", "pr", "list", "-R", "o/r"}, "gh pr"},
		{[]string{"gh", "--repo", "o/r"}, "gh"},
		{[]string{"curl"}, "curl"},
		{[]string{"aws", strings.Repeat("x", 40)}, "aws"},
	} {
		if got := (&Action{Kind: Run, Argv: tt.argv}).Event().Command; got != tt.want {
			t.Errorf("run %q: command %q, want %q", tt.argv, got, tt.want)
		}
	}
}

func TestClipArgs(t *testing.T) {
	long := make([]string, 100)
	for i := range long {
		long[i] = strings.Repeat("a", 600)
	}
	got := clipArgs(long)
	if len(got) != MaxCommandArgs || got[len(got)-1] != "… 37 more arguments" || !strings.HasSuffix(got[0], "(600 bytes)") {
		t.Errorf("clipArgs: %d args, last %q, first %q", len(got), got[len(got)-1], got[0][500:])
	}
	if q := (Question{Profile: "p", Action: string(Run), Command: got}); q.Validate() != nil {
		t.Errorf("a clipped command is not a valid question: %v", q.Validate())
	}
}

// FuzzMaskSecrets: masking never panics, never grows a URL-free input by
// more than the mask words, and never leaves a long key.
func FuzzMaskSecrets(f *testing.F) {
	for _, s := range []string{`{"token":"x"}`, "https://a.b/c", "ghp_" + strings.Repeat("a", 36), "a=b&secret=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := MaskSecrets(s)
		if !strings.Contains(s, "://") && secretValue().MatchString(strings.ReplaceAll(out, "[masked]", " ")) {
			t.Fatalf("MaskSecrets(%q) = %q leaves a secret-looking value", s, out)
		}
	})
}

// BenchmarkCheck is what the gate adds to an allowed agent API call:
// parsing the profile's rules (every command does), the decision, and the
// audit line in memory. The budget for policy and audit together is 2 ms.
func BenchmarkCheck(b *testing.B) {
	const rules = "deny write /v1.0/me/sendMail; deny * /v1.0/users/**; ask POST,PATCH,DELETE /v1.0/me/events/**; allow token; deny run"
	l := &log{}
	b.ReportAllocs()
	for b.Loop() {
		g := &Gate{Profile: "default", API: "https://graph.microsoft.com/v1.0", Caller: audit.CallerAgent, Policy: mustPolicy(b, rules), Log: l}
		p, err := g.Check(context.Background(), Action{Kind: API, Method: "GET", URL: "https://graph.microsoft.com/v1.0/me/messages/AAMkAGI2TG93AAA="})
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Record()
		l.lines = l.lines[:0]
	}
}

// TestConfirmAccount: a sign-in as another account is put to the owner
// with both accounts, whatever the policy says; the owner's own sign-ins
// are not asked; every refusal is audited and is a *policy.Refused.
func TestConfirmAccount(t *testing.T) {
	signin := Action{Kind: SignIn, Argv: []string{"sidecar", "login", "--json"}}
	tests := []struct {
		name    string
		caller  string
		answer  Answer
		askErr  error
		noAsker bool
		wantErr string
		asked   bool
		lines   string
	}{
		{name: "owner", caller: audit.CallerOwner},
		{name: "agent, owner confirms", caller: audit.CallerAgent, answer: Answer{Allow: true, Reason: ReasonAllowOnce},
			asked: true, lines: "approval:allow_once"},
		{name: "agent, owner keeps the old account", caller: audit.CallerAgent, answer: Answer{Reason: ReasonDeny},
			wantErr: ReasonDeny, asked: true, lines: "approval:deny signin:deny"},
		{name: "agent, nobody listens", caller: audit.CallerAgent, noAsker: true,
			wantErr: ReasonNoListener, lines: "approval:no_listener signin:deny"},
		{name: "agent, no answer", caller: audit.CallerAgent, answer: Answer{Reason: ReasonTimeout},
			wantErr: ReasonTimeout, asked: true, lines: "approval:timeout signin:deny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &log{}
			o := &owner{answer: tt.answer, err: tt.askErr}
			// allow signin: the account change is asked all the same.
			g := &Gate{Profile: "work", Caller: tt.caller, Policy: mustPolicy(t, "allow signin"), Log: l, Asker: o}
			if tt.noAsker {
				g.Asker = nil
			}
			err := g.ConfirmAccount(context.Background(), signin, "Alice (alice@example.com)", "Mallory (mallory@example.com)")
			var r *policy.Refused
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ConfirmAccount: %v", err)
			case tt.wantErr != "" && (!errors.As(err, &r) || r.Reason != tt.wantErr || r.Rule != RuleAccountChange):
				t.Fatalf("ConfirmAccount = %v, want a refusal for %q", err, tt.wantErr)
			case r != nil && (!strings.Contains(err.Error(), "mallory@example.com") || !strings.Contains(err.Error(), "alice@example.com")):
				t.Errorf("the refusal does not name both accounts: %v", err)
			}
			if got := len(o.asked) > 0; got != tt.asked {
				t.Fatalf("asked %v, want %v", got, tt.asked)
			}
			for _, q := range o.asked {
				if q.Action != string(SignIn) || q.Profile != "work" || q.Account != "Alice (alice@example.com)" ||
					q.NewAccount != "Mallory (mallory@example.com)" || q.Rule != RuleAccountChange || q.Validate() != nil ||
					strings.Join(q.Command, " ") != "sidecar login --json" {
					t.Errorf("question %+v (%v)", q, q.Validate())
				}
			}
			if got := l.words(); got != tt.lines {
				t.Errorf("audit lines %q, want %q", got, tt.lines)
			}
			for _, e := range l.lines {
				if e.Action == string(SignIn) && e.Command != "sidecar login --json" {
					t.Errorf("audit line %+v", e)
				}
			}
		})
	}
}
