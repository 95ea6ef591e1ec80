package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// tgauth started by the agent (the owner's /auth in OpenClaw arrives so):
// a plain sign-in over no sign-in is not asked, and the code goes to the
// owner's chat only, never to the agent's stdout; --force over a working
// sign-in asks (refused here: no serve listens); a new sign-in as another
// account is refused without the owner's confirmation and the old one
// kept; the same account signs in again unasked.
func TestAgentTgauth(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{})
	r.env = append(r.env, "DEVICEGATE_CALLER=agent")
	ctx := context.Background()
	cache := filepath.Join(r.data, "devicegate", "default.token")
	load := func() tokencache.Entry {
		var e tokencache.Entry
		b, _ := os.ReadFile(cache)
		json.Unmarshal(b, &e)
		return e
	}

	x := r.start("--json")
	code, msg := r.codeInChat("")
	if !strings.Contains(msg.Text, "Started by the agent on myapp-sidecar-1") {
		t.Errorf("the code message does not say the agent started it:\n%s", msg.Text)
	}
	if err := r.idp.Approve(ctx, code, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := x.wait(t); c != 0 {
		t.Fatalf("exit %d\n%s", c, &x.stderr)
	}
	out := x.stdout.String()
	if !strings.Contains(out, `"event":"code"`) || !strings.Contains(out, `"event":"signed_in"`) ||
		strings.Contains(out, code) || strings.Contains(out, "user_code") || strings.Contains(out, "verification_uri_complete") {
		t.Fatalf("the agent's stdout:\n%s", out)
	}
	alice := load()
	if alice.Account.Subject != "alice" {
		t.Fatalf("signed in as %v", alice.Account)
	}

	// --force over a working sign-in is the owner's to allow.
	before := len(r.tg.Chat(chatID))
	x = r.start("--force", "--json")
	if c := x.wait(t); c != exitcode.Refused || !strings.Contains(x.stderr.String(), `signing in to profile default needs the owner's approval (rule "ask signin")`) {
		t.Fatalf("--force: exit %d\n%s", c, &x.stderr)
	}
	if n := len(r.tg.Chat(chatID)); n != before {
		t.Errorf("the refused --force posted %d messages", n-before)
	}
	if e := load(); e.AccessToken != alice.AccessToken {
		t.Fatalf("the refused --force changed the sign-in")
	}

	// The sign-in is lost (the provider refused the refresh token): the
	// owner's /auth signs in again without a question; the same account
	// passes, another one does not.
	lose := func() {
		e := load()
		e.SignInRequired, e.Reason = true, "the provider refused the refresh token (invalid_grant)"
		b, _ := json.Marshal(e)
		if err := os.WriteFile(cache, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lose()
	x = r.start("--json")
	code, _ = r.codeInChat(code)
	if err := r.idp.Approve(ctx, code, oidctest.ApproveOptions{Login: "mallory"}); err != nil {
		t.Fatal(err)
	}
	c := x.wait(t)
	if c != exitcode.Refused || !strings.Contains(x.stderr.String(), "as Mallory Example (mallory@example.com) in place of Alice Example (alice@example.com)") ||
		!strings.Contains(x.stderr.String(), "hint: the profile keeps its current account") {
		t.Fatalf("mallory over alice: exit %d\n%s", c, &x.stderr)
	}
	if e := load(); e.Account != alice.Account || e.AccessToken != alice.AccessToken || !e.SignInRequired {
		t.Fatalf("the refused sign-in replaced alice's: %v", e.Account)
	}
	texts, _ := botMessages(r.tg.Chat(chatID))
	if last := texts[len(texts)-1]; !strings.HasPrefix(last.Text, "🛑 Sign-in not used: the account was not confirmed") ||
		!strings.Contains(last.Text, "The profile keeps its current account.") {
		t.Fatalf("the chat was told:\n%s", last.Text)
	}

	x = r.start("--json")
	code, _ = r.codeInChat(code)
	if err := r.idp.Approve(ctx, code, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	if c := x.wait(t); c != 0 {
		t.Fatalf("alice again: exit %d\n%s", c, &x.stderr)
	}
	if e := load(); e.Account != alice.Account || e.SignInRequired || e.AccessToken == alice.AccessToken {
		t.Fatalf("alice again: %v, lost %v", e.Account, e.SignInRequired)
	}

	evs, err := audit.Open(filepath.Join(r.data, "devicegate")).Read(audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range evs {
		lines = append(lines, e.Caller+" "+e.Action+" "+e.Decision+" "+e.Detail)
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"agent signin deny not approved: no_listener",
		"agent approval no_listener for signin as another account",
		"agent signin deny account change not confirmed: no_listener",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, got)
		}
	}
}
