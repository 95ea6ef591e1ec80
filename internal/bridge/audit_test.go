package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// seedAudit is a real audit log with 25 lines a minute apart: agent API
// calls with MarkdownV2's special characters in their paths, and every
// fifth a refusal of another kind (policy, owner, timeout, rate limit).
func seedAudit(t *testing.T) *audit.Log {
	t.Helper()
	l := audit.Open(t.TempDir())
	refusals := []audit.Event{
		{Action: audit.ActionAPI, Decision: "deny", Method: "DELETE", Host: "api.github.com", Path: "/repos/owner/precious-repo", Detail: "policy: deny DELETE /**"},
		{Action: audit.ActionApproval, Decision: "deny", Method: "POST", Host: "graph.microsoft.com", Path: "/v1.0/me/sendMail", Detail: "for api; rule: POST /v1.0/me/** ask"},
		{Action: audit.ActionToken, Decision: "timeout", Detail: "for token; rule: token: ask"},
		{Action: audit.ActionAPI, Decision: audit.DecisionRateLimited, Method: "GET", Host: "api.github.com", Path: "/repos/o/r/contents/a_b", Detail: "more than 1200 agent actions at once, then 30 a minute: refused"},
		{Action: audit.ActionRun, Decision: "deny", Command: "gh repo", Detail: "not approved: no_listener"},
	}
	for i := range 25 {
		e := audit.Event{Action: audit.ActionAPI, Decision: "allow", Method: "GET", Host: "api.github.com",
			Path: fmt.Sprintf("/repos/octo-cat/hello_world.go/issues/%d", i), Status: 200}
		if i%5 == 0 {
			e = refusals[i/5]
		}
		e.Time = t0.Add(time.Duration(i) * time.Minute)
		e.Profile, e.Caller = "gh", audit.CallerAgent
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// auditGolden are the /audit replies TestGolden keeps.
func auditGolden(t *testing.T) map[string]telegram.Message {
	l := seedAudit(t)
	empty := audit.Open(t.TempDir())
	return map[string]telegram.Message{
		"audit_newest":      AuditReply(nil, l),
		"audit_page_2":      AuditReply([]string{"2"}, l),
		"audit_oldest":      AuditReply([]string{"3"}, l),
		"audit_denied":      AuditReply([]string{"denied"}, l),
		"audit_no_page":     AuditReply([]string{"denied", "2"}, l),
		"audit_empty":       AuditReply(nil, empty),
		"audit_denied_none": AuditReply([]string{"denied"}, empty),
		"audit_usage":       AuditReply([]string{"all"}, l),
		"audit_bad_page":    AuditReply([]string{"0"}, l),
		"audit_read_error":  AuditMessage(AuditQuery{Page: 1}, audit.Page{}, errors.New("audit: open /data/audit.jsonl: permission denied")),
	}
}

func TestParseAuditArgs(t *testing.T) {
	tests := []struct {
		args []string
		want AuditQuery
		ok   bool
	}{
		{nil, AuditQuery{Page: 1}, true},
		{[]string{"2"}, AuditQuery{Page: 2}, true},
		{[]string{"denied"}, AuditQuery{Denied: true, Page: 1}, true},
		{[]string{"Denied", "3"}, AuditQuery{Denied: true, Page: 3}, true},
		{[]string{"3", "denied"}, AuditQuery{Denied: true, Page: 3}, true},
		{[]string{"007"}, AuditQuery{Page: 7}, true},
		{[]string{"1000"}, AuditQuery{Page: 1000}, true},
		{[]string{"1001"}, AuditQuery{}, false},
		{[]string{"99999999999999999999999"}, AuditQuery{}, false},
		{[]string{"0"}, AuditQuery{}, false},
		{[]string{"-1"}, AuditQuery{}, false},
		{[]string{"+2"}, AuditQuery{}, false},
		{[]string{"2", "3"}, AuditQuery{}, false},
		{[]string{"denied", "denied"}, AuditQuery{}, false},
		{[]string{"deny"}, AuditQuery{}, false},
		{[]string{"all"}, AuditQuery{}, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := ParseAuditArgs(tc.args)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseAuditArgs(%q) = %+v, %v; want %+v, ok %v", tc.args, got, err, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParseAuditArgs: whatever the owner types, the reply is one valid
// MarkdownV2 line or a page in range.
func FuzzParseAuditArgs(f *testing.F) {
	f.Add("denied 2")
	f.Add("2 denied x")
	f.Add("1000000000000000000000 `*_")
	f.Fuzz(func(t *testing.T, text string) {
		args := strings.Fields(text)
		q, err := ParseAuditArgs(args)
		if err != nil {
			m := telegram.Message{Text: esc(err.Error())}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a usage reply of more than one line: %q", err)
			}
			if _, _, perr := telegramtest.ParseMarkdownV2(m.Text); perr != nil {
				t.Fatalf("reply does not parse: %v", perr)
			}
			return
		}
		if q.Page < 1 || q.Page > MaxAuditPage {
			t.Fatalf("page %d accepted from %q", q.Page, text)
		}
	})
}

// TestChatAudit: /audit, its pages and its filter, through the fake Bot
// API (which parses every message as Telegram does).
func TestChatAudit(t *testing.T) {
	tg := newFake(t)
	client, err := telegram.New(context.Background(), telegram.Config{Token: tg.Token(), APIURL: tg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ch := &Chat{Bridge: &Bridge{TG: client, Chat: ownerID}, Listener: client, Log: slog.New(slog.DiscardHandler), Owner: ownerID, Audit: seedAudit(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ch.Serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	tests := []struct {
		command string
		want    []string // in the reply, as the owner reads it
		not     []string
	}{
		{"/audit", []string{"Page 1 of 3 (the newest) · older: /audit 2", "/repos/octo-cat/hello_world.go/issues/24", "rate_limited"},
			[]string{"/issues/14"}},
		{"/audit 2", []string{"Page 2 of 3 · older: /audit 3 · newer: /audit", "/issues/14", "timeout"}, []string{"/issues/24", "/issues/4 "}},
		{"/audit@devicegatebot 3", []string{"Page 3 of 3 (the oldest) · newer: /audit 2", "DELETE api.github.com/repos/owner/precious-repo"}, nil},
		{"/audit denied", []string{"Audit log: refusals", "Page 1 of 1, 5 lines", "⛔", "DELETE", "rate_limited", "no_listener"}, []string{"/issues/"}},
		{"/audit denied 2", []string{"There is no page 2: the list of refusals has 1 page of 10 lines; the oldest is /audit denied."}, nil},
		{"/audit everything", []string{"Usage: /audit [denied] [page]"}, nil},
	}
	for i, tc := range tests {
		tg.PushUpdate(ownerID, ownerID, tc.command)
		var reply string
		waitView(t, tg, tc.command, func(v telegramtest.View) bool {
			n := 0
			for _, m := range v.Chat(ownerID) {
				if m.FromBot {
					n++
					reply = m.Text
				}
			}
			return n == i+1
		})
		for _, w := range tc.want {
			if !strings.Contains(reply, w) {
				t.Errorf("%s: reply lacks %q:\n%s", tc.command, w, reply)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(reply, w) {
				t.Errorf("%s: reply has %q:\n%s", tc.command, w, reply)
			}
		}
	}
}
