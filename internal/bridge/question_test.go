package bridge

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// The preview gives way to the URL, which is shown whole; the message
// stays within Telegram's limit.
func TestApprovalFits(t *testing.T) {
	for _, m := range []telegram.Message{
		ApprovalMessage(hugeApproval, "0123456789abcdef", 0),
		ApprovalOutcome(hugeApproval, choiceOutcome(approval.AllowHour), time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)),
	} {
		plain, _, err := telegramtest.ParseMarkdownV2(m.Text)
		if err != nil {
			t.Fatal(err)
		}
		if n := telegram.UTF16Len(plain); n > telegram.MaxTextLen {
			t.Errorf("%d characters", n)
		}
		url := hugeApproval.Method + " https://" + hugeApproval.Host + hugeApproval.Path + "?" + hugeApproval.Query
		if !strings.Contains(plain, url) || !strings.Contains(plain, "more characters not shown") {
			t.Errorf("the URL is not whole, or the cut preview does not say so:\n%s", plain)
		}
	}
	// Just room for the rest: the preview gives way, and says so.
	tight := hugeApproval
	head, tail := describeParts(tight)
	if md, ok := describeQuestion(tight, head.n+tail.n+10); !ok || !strings.Contains(md, "no room for the body") {
		t.Errorf("with no room for the preview:\n%s", md)
	}
	if _, ok := describeQuestion(tooLongApproval, questionBudget); ok {
		t.Error("a question that cannot be shown whole was rendered")
	}
}

// Whatever a question holds within its limits, the message parses, fits,
// and shows the method, host, path and query whole, or is not asked.
func FuzzDescribeQuestion(f *testing.F) {
	f.Add("POST", "api.github.com", "/repos/o/r", "a=1&b=`x`", "X-A: *b*", "{\"a\":\"_b_\"}", "gh", 1)
	f.Add("GET", "h", "/", "", "", "", "", 0)
	f.Fuzz(func(t *testing.T, method, host, path, query, header, preview, arg string, n int) {
		req := approval.Request{Profile: "p", Action: approval.ActionAPI, Method: method, Host: host, Path: path, Query: query,
			Preview: preview, BodySize: len(preview), Rule: "ask * /**"}
		if header != "" {
			req.Headers = []string{header}
		}
		if n%2 == 1 {
			req = approval.Request{Profile: "p", Action: approval.ActionRun, Command: []string{"gh", arg, preview}, Rule: "ask run"}
		}
		// A question arrives as JSON, which holds valid UTF-8 only.
		for _, s := range []string{method, host, path, query, header, preview, arg} {
			if !utf8.ValidString(s) {
				return
			}
		}
		if req.Validate() != nil {
			return
		}
		m := ApprovalMessage(req, "0123456789abcdef", 0)
		plain, _, err := telegramtest.ParseMarkdownV2(m.Text)
		if err != nil {
			t.Fatalf("Telegram would refuse it: %v\n%s", err, m.Text)
		}
		if n := telegram.UTF16Len(plain); n > telegram.MaxTextLen {
			t.Fatalf("%d characters", n)
		}
		if len(m.Buttons) == 0 {
			return // not asked
		}
		if req.Action == approval.ActionAPI && !strings.Contains(plain, method+" https://"+host+path) {
			t.Fatalf("the request line is not whole:\n%s", plain)
		}
	})
}
