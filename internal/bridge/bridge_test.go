package bridge

import (
	"context"
	"errors"
	"flag"
	"github.com/devicegate/devicegate/internal/approval"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/exitcode"
	gatepkg "github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	t0  = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	req = Request{Provider: "github", Profile: "gh", Host: "myapp-sidecar-1", Scopes: []string{"repo", "read:org"}, Asked: t0}
	cd  = deviceflow.Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.com/login/device", ExpiresAt: t0.Add(15 * time.Minute), Interval: 5 * time.Second, MaxAttempts: 3}
)

var oneOffEnd = t0.Add(8 * time.Hour)

var lnk = codeflow.Link{URL: "https://accounts.google.com/o/oauth2/v2/auth?client_id=x&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&response_type=code&state=af0ifjsldkj",
	RedirectURI: "http://127.0.0.1:49152/callback", ExpiresAt: t0.Add(10 * time.Minute), State: "af0ifjsldkj"}

var apiApproval = approval.Request{Profile: "work", Account: "ada@example.com", Action: approval.ActionAPI, Method: "POST", Host: "graph.microsoft.com",
	Path: "/v1.0/me/sendMail", BodySize: 2300, Preview: `{"message":{"subject":"Q4 *numbers*","body":"[masked]"}}`, Rule: "POST /v1.0/me/** ask"}

// fullApproval has every field an API question can have.
var fullApproval = approval.Request{Profile: "gh", Account: "octo@example.com", Action: approval.ActionAPI, Via: "run gh",
	Method: "POST", Host: "api.github.com", Path: "/repos/octo/precious/issues", Query: "state=open&per_page=100&redirect=https://evil.example/x",
	Headers:  []string{"Authorization-Extra: [masked]", "X-GitHub-Api-Version: 2022-11-28", "X-HTTP-Method-Override: DELETE"},
	BodySize: 1500, BodyDigest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	Preview: "{\"title\":\"see https://example.com/a_b?c=d\",\"token\":\"[masked]\",\"private\":false}\n… 1400 more bytes not shown",
	Rule:    "ask POST /repos/**"}

// hugeApproval's preview does not fit beside its long URL: the preview is
// cut, the URL never.
var hugeApproval = func() approval.Request {
	r := fullApproval
	r.Path = "/repos/octo/" + strings.Repeat("long-name-", 150) + "end"
	r.Preview = strings.Repeat("x", 1000) + strings.Repeat("y", 1000)
	r.BodySize = 2000
	return r
}()

// tooLongApproval's headers and URL together do not fit in a message.
var tooLongApproval = func() approval.Request {
	r := fullApproval
	r.Path = "/" + strings.Repeat("p", 2000)
	r.Query = strings.Repeat("q", 2000)
	return r
}()

// TestGolden renders every message; the golden file holds the MarkdownV2
// sent and the text the person reads, which also proves it parses.
func TestGolden(t *testing.T) {
	restart := cd
	restart.Attempt = 2
	restart.VerificationURIComplete = "https://idp.example.com/device?user_code=WDJB-MJHT"
	ev := Granted{Account: tokencache.Account{Name: "Octo Cat", Email: "octo@example.com"}, Scopes: []string{"repo"}, NotGranted: []string{"read:org"}}
	cases := map[string]telegram.Message{
		"code":          CodeMessage(req, cd, t0, false),
		"code_link":     CodeMessage(req, cd, t0.Add(14*time.Minute+30*time.Second), true),
		"code_restart":  CodeMessage(req, restart, t0, false),
		"signed_in":     SignedInMessage(req, ev),
		"already":       AlreadyMessage(req, ev),
		"declined":      EndMessage(req, Declined, ""),
		"expired":       EndMessage(req, Expired, "The code was not used in time."),
		"failed":        EndMessage(req, Failed, "profile gh: signing in: invalid_client (check OAUTH_CLIENT_ID) [x]_*"),
		"signin_needed": SignInNeededMessage(req, "the provider refused the refresh token (invalid_grant)"),
		"code_oneoff":   CodeMessage(Request{Provider: "oidc", Profile: "default", Scopes: []string{"openid", "api:read"}, OneOff: true}, cd, t0, false),
		"code_aws": CodeMessage(Request{Provider: "aws", Profile: "aws", Host: "myapp-sidecar-1", Access: "role ReadOnly in AWS account 123456789012"},
			deviceflow.Code{UserCode: "BCDF-GHJK", VerificationURI: "https://device.sso.eu-west-1.amazonaws.com/",
				VerificationURIComplete: "https://device.sso.eu-west-1.amazonaws.com/?user_code=BCDF-GHJK", ExpiresAt: t0.Add(10 * time.Minute)}, t0, false),
		"link":                  LinkMessage(Request{Provider: "google", Profile: "mail", Host: "myapp-sidecar-1", Scopes: []string{"openid", "https://www.googleapis.com/auth/gmail.readonly"}, Asked: t0}, lnk, t0, false),
		"link_in_text":          LinkMessage(Request{Provider: "oidc", Profile: "default", Host: "myapp-sidecar-1", OneOff: true, Asked: t0}, lnk, t0.Add(9*time.Minute+30*time.Second), true),
		"approval_api":          ApprovalMessage(apiApproval, "0123456789abcdef", 0),
		"approval_token":        ApprovalMessage(approval.Request{Profile: "gh", Action: approval.ActionToken, Rule: "token: ask"}, "0123456789abcdef", 90*time.Second),
		"approval_run":          ApprovalMessage(approval.Request{Profile: "gh", Account: "octo@example.com", Action: approval.ActionRun, Command: []string{"gh", "issue", "create", "--title", "it's `urgent`"}, Rule: "run: ask"}, "0123456789abcdef", time.Hour),
		"approval_allowed_once": ApprovalOutcome(apiApproval, choiceOutcome(approval.AllowOnce), t0),
		"approval_api_full":     ApprovalMessage(fullApproval, "0123456789abcdef", 0),
		"grants_none":           GrantsMessage(nil, t0),
		"grants": GrantsMessage([]approval.Grant{
			approval.GrantFor(fullApproval, t0.Add(45*time.Minute)),
			approval.GrantFor(approval.Request{Profile: "aws", Action: approval.ActionToken, Variant: "aws-credentials", Rule: "ask token"}, t0.Add(50*time.Minute)),
			approval.GrantFor(approval.Request{Profile: "gh", Action: approval.ActionRun, Command: []string{"gh", "pr"}, WithToken: true, Rule: "ask run gh with-token"}, t0.Add(time.Hour)),
		}, t0),
		"approval_api_huge":     ApprovalMessage(hugeApproval, "0123456789abcdef", 0),
		"approval_too_long":     ApprovalMessage(tooLongApproval, "0123456789abcdef", 0),
		"approval_token_scoped": ApprovalMessage(approval.Request{Profile: "gh", Action: approval.ActionToken, Variant: "scoped", Scopes: []string{"repo", "admin:org"}, Rule: "ask token"}, "0123456789abcdef", 0),
		"approval_token_aws":    ApprovalMessage(approval.Request{Profile: "aws", Action: approval.ActionToken, Variant: "aws-credentials", Rule: "ask token"}, "0123456789abcdef", 0),
		"approval_run_with_token": ApprovalMessage(approval.Request{Profile: "gh", Action: approval.ActionRun, WithToken: true, Rule: "ask run gh",
			Command: []string{"gh", "api", "-X", "PATCH", "/repos/octo/precious", "-F", "private=false", "--jq", "$ENV.GH_TOKEN|@base64", "-H", "X-HTTP-Method-Override: DELETE"}}, "0123456789abcdef", 0),
		"approval_timed_out": ApprovalOutcome(apiApproval, "⌛ No answer in time: denied.", t0),
		"code_by_agent":      CodeMessage(Request{Provider: "oidc", Profile: "work", Host: "myapp-sidecar-1", Scopes: []string{"openid"}, By: ByAgent}, cd, t0, false),
		"kept": EndMessage(Request{Provider: "oidc", Profile: "work", Host: "myapp-sidecar-1", By: ByAgent}, Kept,
			"signing in to profile work as Mallory Example (mallory@example.com) · id mallory in place of Alice Example (alice@example.com) · id alice: the owner said no"),
		"change_signin_agent": ChangeMessage(Change{Request: Request{Provider: "oidc", Profile: "work", Host: "myapp-sidecar-1", By: ByAgent},
			Account:  tokencache.Account{Name: "Mallory Example", Email: "mallory@example.com", Subject: "mallory"},
			Replaced: &tokencache.Account{Name: "Alice Example", Email: "alice@example.com", Subject: "alice"}, Command: "sidecar login --json"}),
		"change_signin_owner": ChangeMessage(Change{Request: Request{Provider: "github", Profile: "default", Host: "myapp-sidecar-1", By: ByOwner},
			Account: tokencache.Account{Name: "Octo Cat", Email: "octo@example.com", Subject: "octocat"}, Command: "sidecar login"}),
		"change_signout_agent": ChangeMessage(Change{Request: Request{Provider: "github", Profile: "default", Host: "myapp-sidecar-1", By: ByAgent},
			SignedOut: true, Account: tokencache.Account{Name: "Octo Cat", Subject: "octocat"}, Command: "sidecar logout --force",
			Result: LogoutResult(session.Forgotten, "github")}),
		"approval_signin": ApprovalMessage(approval.Request{Profile: "work", Account: "alice@example.com", Action: approval.ActionSignIn,
			Command: []string{"sidecar", "login", "--json"}, Rule: "ask signin"}, "0123456789abcdef", 0),
		"approval_logout": ApprovalMessage(approval.Request{Profile: "work", Account: "alice@example.com", Action: approval.ActionLogout,
			Command: []string{"sidecar", "logout", "--force"}, Rule: "ask logout"}, "0123456789abcdef", 0),
		"approval_switch": ApprovalMessage(approval.Request{Profile: "work", Account: "Alice Example (alice@example.com) · id alice", Action: approval.ActionSignIn,
			NewAccount: "Mallory Example (mallory@example.com) · id mallory", Command: []string{"tgauth", "--json"}, Rule: gatepkg.RuleAccountChange}, "0123456789abcdef", 0),
		"approval_switch_kept": ApprovalOutcome(approval.Request{Profile: "work", Account: "Alice Example (alice@example.com) · id alice", Action: approval.ActionSignIn,
			NewAccount: "Mallory Example (mallory@example.com) · id mallory", Command: []string{"tgauth", "--json"}, Rule: gatepkg.RuleAccountChange}, switchOutcome(approval.Deny), t0),
		"signed_in_aws_oneoff": SignedInMessage(Request{Provider: "aws", Profile: "aws", Host: "myapp-sidecar-1"},
			Granted{Account: tokencache.Account{Name: "role ReadOnly in AWS account 123456789012", Subject: "123456789012/ReadOnly"},
				Scopes: []string{"sso:account:access"}, OneOff: true, AccessExpiresAt: oneOffEnd}),
	}
	for name, m := range auditGolden(t) {
		cases[name] = m
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			plain, _, err := telegramtest.ParseMarkdownV2(m.Text)
			if err != nil {
				t.Fatalf("Telegram would refuse it: %v\n%s", err, m.Text)
			}
			if n := len([]rune(plain)); n > 4096 {
				t.Fatalf("%d characters", n)
			}
			var b strings.Builder
			b.WriteString("-- markdownv2 --\n" + m.Text + "\n-- reads --\n" + plain + "\n")
			for _, btn := range m.Buttons {
				b.WriteString("-- button --\n" + btn.Text + " -> " + btn.URL + btn.Data + "\n")
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				os.WriteFile(path, []byte(b.String()), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/bridge -update)", err)
			}
			if string(want) != b.String() {
				t.Fatalf("%s changed:\n%s\nwant:\n%s", path, b.String(), want)
			}
		})
	}
}

func TestLeft(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "expired", 20 * time.Second: "less than a minute", 90 * time.Second: "about 1 minute",
		10 * time.Minute: "about 10 minutes", 14*time.Minute + 31*time.Second: "about 15 minutes",
	} {
		if got := left(d); got != want {
			t.Errorf("left(%s) = %q, want %q", d, got, want)
		}
	}
}

// fakeTG records calls and can fail them.
type fakeTG struct {
	mu       sync.Mutex
	sent     []telegram.Message
	edits    []telegram.Message
	photos   int
	deletes  int
	sendErrs []error
	editErr  error
	nextID   int
}

func (f *fakeTG) SendMessage(_ context.Context, _ int64, m telegram.Message) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sendErrs) > 0 {
		err := f.sendErrs[0]
		f.sendErrs = f.sendErrs[1:]
		if err != nil {
			return 0, err
		}
	}
	f.sent = append(f.sent, m)
	f.nextID++
	return f.nextID, nil
}
func (f *fakeTG) EditMessage(_ context.Context, _ int64, _ int, m telegram.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.editErr != nil {
		return f.editErr
	}
	f.edits = append(f.edits, m)
	return nil
}
func (f *fakeTG) SendPhoto(context.Context, int64, []byte, string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.photos++
	f.nextID++
	return f.nextID, nil
}
func (f *fakeTG) DeleteMessage(context.Context, int64, int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	return nil
}
func (f *fakeTG) count() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent), len(f.edits)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func waitUntil(t *testing.T, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatal("condition not met")
}

func TestKeepsMessageCurrentWithoutIdenticalEdits(t *testing.T) {
	tg := &fakeTG{}
	clk := &fakeClock{t: t0}
	ticks := make(chan time.Time)
	b := &Bridge{TG: tg, Chat: 1, Now: clk.now, ticks: ticks}
	m := &message{b: b, req: req}
	ctx := context.Background()
	if err := m.show(ctx, cd); err != nil {
		t.Fatal(err)
	}
	defer m.stop()
	// tick delivers n ticks and returns once all were handled: the
	// channel is unbuffered, so the extra one is taken only after the
	// last real one was.
	tick := func(n int) {
		for range n + 1 {
			ticks <- clk.now()
		}
	}
	// Many ticks on a standing clock: the text does not change, no edit.
	tick(10)
	if _, edits := tg.count(); edits != 0 {
		t.Fatalf("%d identical edits", edits)
	}
	// Two minutes later the time left reads differently: one edit.
	clk.add(2 * time.Minute)
	tick(1)
	waitUntil(t, func() bool { _, e := tg.count(); return e == 1 })
	tick(5)
	if _, edits := tg.count(); edits != 1 {
		t.Fatalf("%d edits, want 1", edits)
	}
	if !strings.Contains(tg.edits[0].Text, "about 13 minutes") {
		t.Fatalf("edit: %s", tg.edits[0].Text)
	}
}

func TestButtonRefusedFallsBackToLinkInText(t *testing.T) {
	tg := &fakeTG{sendErrs: []error{&telegram.Error{Method: "sendMessage", Code: 400, Description: "Bad Request: inline keyboard button URL 'http://localhost:8080/device' is invalid: Wrong HTTP URL"}}}
	// The fake returns the typed error; make sure it is the sentinel.
	if !errors.Is(tg.sendErrs[0], telegram.ErrButtonURL) {
		t.Fatal("telegram.Error does not map this description to ErrButtonURL")
	}
	b := &Bridge{TG: tg, Chat: 1, Every: time.Hour}
	m := &message{b: b, req: req}
	c := cd
	c.VerificationURI = "http://localhost:8080/device"
	if err := m.show(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	m.stop()
	if len(tg.sent) != 1 || len(tg.sent[0].Buttons) != 0 || !strings.Contains(tg.sent[0].Text, "localhost:8080/device") {
		t.Fatalf("sent %+v", tg.sent)
	}
}

func TestSendFailureIsTelegramExitCode(t *testing.T) {
	tg := &fakeTG{sendErrs: []error{telegram.ErrUnreachable}}
	b := &Bridge{TG: tg, Chat: 1}
	m := &message{b: b, req: req}
	err := m.show(context.Background(), cd)
	if cli.Code(err) != exitcode.Telegram || !errors.Is(err, telegram.ErrUnreachable) {
		t.Fatalf("err = %v (exit %d)", err, cli.Code(err))
	}
}

func FuzzMessagesParse(f *testing.F) {
	f.Add("octo_cat*[x]", "e@x.com", "gh", "host`\\")
	f.Fuzz(func(t *testing.T, name, email, profile, host string) {
		r := Request{Provider: "oidc", Profile: profile, Host: host, Scopes: []string{name}}
		ev := Granted{Account: tokencache.Account{Name: name, Email: email}, Scopes: []string{email}}
		for _, m := range []telegram.Message{
			CodeMessage(r, deviceflow.Code{UserCode: name, VerificationURI: "https://x.example/" + email, ExpiresAt: t0}, t0, true),
			SignedInMessage(r, ev), AlreadyMessage(r, ev), EndMessage(r, Failed, name), SignInNeededMessage(r, email),
			ApprovalMessage(approval.Request{Profile: profile, Account: email, Action: approval.ActionAPI, Method: name, Host: host, Path: email, Preview: name + host, Rule: host}, "0123456789abcdef", time.Minute),
			ApprovalMessage(approval.Request{Profile: profile, Action: approval.ActionRun, Command: []string{name, host, email}}, "0123456789abcdef", time.Minute),
			ApprovalOutcome(approval.Request{Profile: profile, Action: name}, email, t0),
		} {
			if _, _, err := telegramtest.ParseMarkdownV2(m.Text); err != nil {
				t.Fatalf("unparseable: %v\n%s", err, m.Text)
			}
		}
	})
}
