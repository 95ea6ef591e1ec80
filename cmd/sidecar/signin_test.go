package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// agentLogin is `sidecar login --json --force` started by the agent (the
// profile may be signed in already, and then --force is what asks for a
// new sign-in): it answers
// each code it gets with answer (the code passed on to whoever signs in)
// and reports how it ended on the channel.
func agentLogin(env []string, answer func(code string)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		cmd := exec.Command("sidecar", "login", "--json", "--force")
		cmd.Env = append(env, "DEVICEGATE_CALLER=agent")
		var out, errb bytes.Buffer
		pipe, _ := cmd.StdoutPipe()
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			ch <- result{stderr: err.Error(), code: -1}
			return
		}
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			out.Write(append(sc.Bytes(), '\n'))
			var ev cli.Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "code" {
				go answer(ev.UserCode)
			}
		}
		code := 0
		if ee, ok := cmd.Wait().(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		ch <- result{out.String(), errb.String(), code}
	}()
	return ch
}

// message waits for the gatekeeper's newest message that matches.
func (g *gatekeeperServe) message(t *testing.T, what string, match func(telegramtest.Message) bool) telegramtest.Message {
	t.Helper()
	var m telegramtest.Message
	g.waitFor(t, what, 30*time.Second, func(v telegramtest.View) bool {
		var ok bool
		m, ok = find(v, match)
		return ok
	})
	return m
}

func (g *gatekeeperServe) tap(t *testing.T, label string) {
	t.Helper()
	if _, _, err := g.gate.TapButton(ownerChat, ownerChat, label); err != nil {
		t.Fatal(err)
	}
}

// Attack 6 (issue 17): through the guard the agent signs the profile out,
// or in again with a code it passes to someone who signs in with their own
// account. Each step asks the owner in the gatekeeper chat; a sign-in as
// another person (another sub and email at the real oidc-provider) keeps
// the old sign-in, byte for byte, until the owner confirms the change;
// every sign-in and sign-out is announced with who started it.
func TestAgentCannotSwapTheAccount(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	g := newGatekeeper(t, srv, "SIDECAR_APPROVAL_TIMEOUT=1m")
	ctx := context.Background()
	approveAs := func(login string) func(string) {
		return func(code string) {
			if err := srv.Approve(ctx, code, oidctest.ApproveOptions{Login: login}); err != nil {
				t.Errorf("signing in as %s: %v", login, err)
			}
		}
	}
	account := func() string {
		r := sidecar(t, g.env, "status", "--json")
		var st struct {
			Account struct{ Email string } `json:"account"`
		}
		json.Unmarshal([]byte(r.stdout), &st)
		return st.Account.Email
	}

	// The owner signs in at a terminal: not asked, announced as theirs.
	if _, code, stderr := loginJSON(t, g.env, func(ev cli.Event) { approveAs("alice")(ev.UserCode) }); code != 0 {
		t.Fatalf("the owner's login: exit %d\n%s", code, stderr)
	}
	g.message(t, "the owner's sign-in announced", func(m telegramtest.Message) bool {
		return strings.HasPrefix(m.Text, "🔑 Signed in as Alice Example (alice@example.com)") &&
			strings.Contains(m.Text, "Started by you on ") && strings.Contains(m.Text, "Command: sidecar login")
	})
	g.start(t)
	defer g.cmd.Process.Signal(syscall.SIGTERM)

	// logout --force asks; the owner says no; nothing changes.
	res := make(chan result, 1)
	go func() {
		res <- sidecar(t, append(g.env, "DEVICEGATE_CALLER=agent"), "logout", "--force")
	}()
	q := g.question(t)
	if !strings.Contains(q.Text, "Wants to sign this profile out (sidecar logout --force)") || !strings.Contains(q.Text, "Rule: ask logout") {
		t.Fatalf("the logout question:\n%s", q.Text)
	}
	for _, row := range q.Buttons {
		for _, b := range row {
			if b.Text == "Allow for 1 hour" {
				t.Errorf("a sign-out question offers an hour's grant")
			}
		}
	}
	g.tap(t, "Deny")
	if r := <-res; r.code != exitcode.Refused || !strings.Contains(r.stderr, "signing out of profile default: the owner said no") {
		t.Fatalf("logout --force after Deny: %+v", r)
	}
	if a := account(); a != "alice@example.com" {
		t.Fatalf("after the refused logout the profile is %q's", a)
	}

	// login asks; allowed once, the code goes to the agent, Mallory signs
	// in with it: the owner is asked to confirm the new account, and the
	// cache keeps Alice meanwhile. Keep: Alice stays.
	done := agentLogin(g.env, approveAs("mallory"))
	q = g.question(t)
	if !strings.Contains(q.Text, "Wants to sign this profile in (sidecar login --json --force)") || !strings.Contains(q.Text, "Account: default (alice@example.com)") {
		t.Fatalf("the sign-in question:\n%s", q.Text)
	}
	g.tap(t, "Allow once")
	sw := g.message(t, "the change of account put to the owner", func(m telegramtest.Message) bool {
		return strings.Contains(m.Text, "Wants to sign in as: Mallory Example (mallory@example.com)") && len(m.Buttons) > 0
	})
	if !strings.Contains(sw.Text, "Account: default (Alice Example (alice@example.com))") || !strings.Contains(sw.Text, "another account") {
		t.Fatalf("the question about the new account:\n%s", sw.Text)
	}
	if a := account(); a != "alice@example.com" {
		t.Fatalf("while the owner decides, the profile is %q's", a)
	}
	g.tap(t, "Keep the current account")
	r := <-done
	if r.code != exitcode.Refused || !strings.Contains(r.stderr, "as Mallory Example (mallory@example.com) in place of Alice Example (alice@example.com): the owner said no") ||
		!strings.Contains(r.stdout, `"event":"error"`) || strings.Contains(r.stdout, `"signed_in"`) {
		t.Fatalf("login as mallory, kept: %+v", r)
	}
	if a := account(); a != "alice@example.com" {
		t.Fatalf("after Keep the profile is %q's", a)
	}
	g.message(t, "the outcome in the question", func(m telegramtest.Message) bool {
		return m.ID == sw.ID && strings.Contains(m.Text, "Kept the current account") && len(m.Buttons) == 0
	})

	// Confirmed: Mallory replaces Alice, and the change is announced.
	done = agentLogin(g.env, approveAs("mallory"))
	g.question(t)
	g.tap(t, "Allow once")
	g.message(t, "the change of account put to the owner again", func(m telegramtest.Message) bool {
		return m.ID != sw.ID && strings.Contains(m.Text, "Wants to sign in as: Mallory") && len(m.Buttons) > 0
	})
	g.tap(t, "Confirm the new account")
	if r := <-done; r.code != 0 || !strings.Contains(r.stdout, `"event":"signed_in"`) {
		t.Fatalf("login as mallory, confirmed: %+v", r)
	}
	if a := account(); a != "mallory@example.com" {
		t.Fatalf("after Confirm the profile is %q's", a)
	}
	g.message(t, "the agent's sign-in announced", func(m telegramtest.Message) bool {
		return strings.HasPrefix(m.Text, "🔑 Signed in as Mallory Example (mallory@example.com)") &&
			strings.Contains(m.Text, "Started by the agent on ") && strings.Contains(m.Text, "In place of: Alice Example (alice@example.com)")
	})

	// Every step is in the audit log.
	a := sidecar(t, g.env, "audit", "--json").stdout
	for _, want := range []string{
		`"caller":"agent","action":"logout","decision":"deny","command":"sidecar logout --force","detail":"not approved: deny"`,
		`"caller":"agent","action":"approval","decision":"allow_once","command":"sidecar login --json --force","detail":"for signin; rule: ask signin"`,
		`"caller":"agent","action":"signin","decision":"deny","command":"sidecar login --json --force","detail":"account change not confirmed: deny"`,
		`"caller":"agent","action":"approval","decision":"allow_once","command":"sidecar login --json --force","detail":"for signin as another account`,
		`"caller":"agent","action":"signin","decision":"ok","detail":"mallory@example.com"`,
	} {
		if !strings.Contains(a, want) {
			t.Errorf("the audit log lacks %s:\n%s", want, a)
		}
	}
}
