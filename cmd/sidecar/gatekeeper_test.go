package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/syncbuf"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

const (
	ownerChat     = 5150
	gatekeeperTok = "5151515151:AAGatekeeperTokenForSidecarTests_0987"
)

// gatekeeperServe is `sidecar serve` with a gatekeeper bot of its own on
// the fake Bot API, which also plays the agent's bot.
type gatekeeperServe struct {
	env   []string
	agent *telegramtest.Server // the agent's (OpenClaw's) bot
	gate  *telegramtest.Server // devicegate's gatekeeper bot
	sock  string
	cmd   *exec.Cmd
	logs  *syncbuf.Buffer
}

func newGatekeeper(t *testing.T, srv *oidctest.Server, extra ...string) *gatekeeperServe {
	agent := telegramtest.New(t)
	gate := agent.AddBot(gatekeeperTok, "devicegate_gate_bot", "devicegate")
	agent.AddChat(ownerChat)
	gate.AddChat(ownerChat)
	botFile := filepath.Join(t.TempDir(), "bot_token")
	os.WriteFile(botFile, []byte(gatekeeperTok), 0o600)
	env := cliEnv(t, srv, append([]string{
		"TELEGRAM_BOT_TOKEN_FILE=" + botFile,
		"TELEGRAM_CHAT_ID=" + strconv.Itoa(ownerChat),
		"TELEGRAM_API_URL=" + agent.URL(),
		"SIDECAR_APPROVAL_TIMEOUT=3s",
	}, extra...)...)
	g := &gatekeeperServe{env: env, agent: agent, gate: gate, logs: &syncbuf.Buffer{}}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "XDG_DATA_HOME="); ok {
			g.sock = approval.SocketPath(filepath.Join(v, "devicegate"))
		}
	}
	t.Cleanup(func() {
		if g.cmd != nil && g.cmd.ProcessState == nil {
			g.cmd.Process.Kill()
			g.cmd.Wait()
		}
		for _, secret := range []string{gatekeeperTok, agent.Token()} {
			if strings.Contains(g.logs.String(), secret) {
				t.Error("a bot token is in serve's log")
			}
		}
	})
	return g
}

func (g *gatekeeperServe) start(t *testing.T) {
	t.Helper()
	g.cmd = exec.Command("sidecar", "serve")
	g.cmd.Env = g.env
	g.cmd.Stderr = g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(g.sock); err == nil && fi.Mode()&os.ModeSocket != 0 && g.gate.Snapshot().Polling {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not listen for approvals:\n%s", g.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *gatekeeperServe) waitFor(t *testing.T, what string, d time.Duration, cond func(telegramtest.View) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := g.gate.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v\nchat: %q\nlog:\n%s", what, err, texts(g.gate.Chat(ownerChat)), g.logs)
	}
}

func texts(msgs []telegramtest.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

func (g *gatekeeperServe) question(t *testing.T) telegramtest.Message {
	t.Helper()
	var q telegramtest.Message
	g.waitFor(t, "the approval question", 20*time.Second, func(v telegramtest.View) bool {
		var ok bool
		q, ok = find(v, func(m telegramtest.Message) bool {
			return strings.HasPrefix(m.Text, "🔐 The agent asks") && len(m.Buttons) > 0
		})
		return ok
	})
	return q
}

// find returns the newest message of the bot in the owner's chat that
// matches: serve's own notices (sign-in needed) may come in between.
func find(v telegramtest.View, match func(telegramtest.Message) bool) (telegramtest.Message, bool) {
	msgs := v.Chat(ownerChat)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].FromBot && !msgs[i].Deleted && match(msgs[i]) {
			return msgs[i], true
		}
	}
	return telegramtest.Message{}, false
}

type askResult struct {
	d   approval.Decision
	err error
}

func (g *gatekeeperServe) ask(req approval.Request) <-chan askResult {
	ch := make(chan askResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d, err := approval.Ask(ctx, g.sock, req)
		ch <- askResult{d, err}
	}()
	return ch
}

var tokenReq = approval.Request{Profile: "default", Action: approval.ActionToken, Rule: "token"}

// The whole approval path through the real serve: the question comes from
// the gatekeeper bot (never the agent's), Allow once, Allow for 1 hour
// (the second call asks nothing), Deny, a stranger's tap, the timeout.
func TestServeApprovals(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	g := newGatekeeper(t, srv)
	g.start(t)
	defer g.cmd.Process.Signal(syscall.SIGTERM)

	steps := []struct {
		name, tapper string
		from         int64
		allow        bool
		reason       string
	}{
		{"allow once", "Allow once", ownerChat, true, approval.ReasonAllowOnce},
		{"deny", "Deny", ownerChat, false, approval.ReasonDeny},
		{"allow for an hour", "Allow for 1 hour", ownerChat, true, approval.ReasonAllow1h},
	}
	for _, st := range steps {
		res := g.ask(tokenReq)
		q := g.question(t)
		if _, _, err := g.gate.TapButton(ownerChat, st.from, st.tapper); err != nil {
			t.Fatal(err)
		}
		r := <-res
		if r.err != nil || r.d.Allow != st.allow || r.d.Reason != st.reason {
			t.Fatalf("%s: decision %+v, %v", st.name, r.d, r.err)
		}
		g.waitFor(t, st.name+": the decision in the message", 10*time.Second, func(v telegramtest.View) bool {
			for _, m := range v.Chat(ownerChat) {
				if m.ID == q.ID {
					return len(m.Buttons) == 0 && strings.Contains(m.Text, "The agent asked")
				}
			}
			return false
		})
	}
	// Within the hour: no question.
	before := len(g.gate.Chat(ownerChat))
	if r := <-g.ask(tokenReq); !r.d.Allow || r.d.Reason != approval.ReasonGrant {
		t.Fatalf("within the hour: %+v %v", r.d, r.err)
	}
	if n := len(g.gate.Chat(ownerChat)); n != before {
		t.Fatalf("the call within the hour asked the owner")
	}

	// A stranger's tap is ignored, then nobody answers: a denial.
	run := approval.Request{Profile: "default", Action: approval.ActionRun, Command: []string{"gh", "api", "user"}, Rule: "run"}
	res := g.ask(run)
	g.question(t)
	qid, _, err := g.gate.TapButton(ownerChat, 777, "Allow once")
	if err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.d.Allow || r.d.Reason != approval.ReasonTimeout {
		t.Fatalf("after a stranger's tap and no answer: %+v %v", r.d, r.err)
	}
	for _, cb := range g.gate.Callbacks() {
		if !cb.Answered {
			t.Errorf("tap %+v was not answered", cb)
		}
		if cb.ID == qid && cb.Text != "Only the owner can answer this request." {
			t.Errorf("the stranger was told %q", cb.Text)
		}
	}
	g.waitFor(t, "the timeout in the message", 10*time.Second, func(v telegramtest.View) bool {
		_, ok := find(v, func(m telegramtest.Message) bool {
			return strings.Contains(m.Text, "No answer in time: denied.") && len(m.Buttons) == 0
		})
		return ok
	})
	// Nothing of this reached the agent's bot, and no message holds a
	// secret.
	if msgs := g.agent.Chat(ownerChat); len(msgs) != 0 {
		t.Errorf("the agent's bot chat has messages: %q", texts(msgs))
	}
	for _, m := range g.gate.Chat(ownerChat) {
		for _, h := range append([]telegramtest.Revision{{Text: m.Text, Raw: m.Raw}}, m.History...) {
			for _, secret := range []string{gatekeeperTok, g.agent.Token()} {
				if strings.Contains(h.Text+h.Raw, secret) {
					t.Errorf("a chat message holds a secret: %q", h.Text)
				}
			}
		}
	}
}

// serve stopped or killed while a request waits: a clear denial, not a
// hang; and a serve started again asks afresh.
func TestServeRestartWhileWaiting(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	g := newGatekeeper(t, srv, "SIDECAR_APPROVAL_TIMEOUT=1m")
	g.start(t)

	res := g.ask(tokenReq)
	g.question(t)
	g.cmd.Process.Signal(syscall.SIGTERM)
	r := <-res
	if r.err != nil || r.d.Allow || r.d.Reason != approval.ReasonServeStopped {
		t.Fatalf("SIGTERM while waiting: %+v %v", r.d, r.err)
	}
	g.cmd.Wait()
	g.waitFor(t, "the stopped message", 10*time.Second, func(v telegramtest.View) bool {
		_, ok := find(v, func(m telegramtest.Message) bool {
			return strings.Contains(m.Text, "devicegate stopped before an answer: denied.") && len(m.Buttons) == 0
		})
		return ok
	})
	if _, err := approval.Ask(context.Background(), g.sock, tokenReq); !errors.Is(err, approval.ErrNoListener) {
		t.Fatalf("with serve stopped: %v, want ErrNoListener", err)
	}

	g.start(t)
	res = g.ask(tokenReq)
	g.question(t)
	g.cmd.Process.Kill() // no goodbye at all
	r = <-res
	if r.err != nil || r.d.Allow || r.d.Reason != approval.ReasonServeStopped {
		t.Fatalf("SIGKILL while waiting: %+v %v", r.d, r.err)
	}
	g.cmd.Wait()

	// The new serve replaces the dead one's socket, and the dead one's
	// question, still with its buttons, is answered "no longer waiting".
	g.start(t)
	qid, staleID, err := g.gate.TapButton(ownerChat, ownerChat, "Allow once")
	if err != nil {
		t.Fatal(err)
	}
	g.waitFor(t, "the stale tap answered and its buttons gone", 10*time.Second, func(v telegramtest.View) bool {
		answered := false
		for _, cb := range v.Callbacks {
			if cb.ID == qid {
				answered = cb.Answered && cb.Text == "This request is no longer waiting."
			}
		}
		_, stale := find(v, func(m telegramtest.Message) bool { return m.ID == staleID && len(m.Buttons) > 0 })
		return answered && !stale
	})
	res = g.ask(tokenReq)
	g.question(t)
	g.gate.TapButton(ownerChat, ownerChat, "Allow once")
	if r := <-res; !r.d.Allow {
		t.Fatalf("after the restart: %+v %v", r.d, r.err)
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
}

// The silencing case: a second program polling the gatekeeper bot does
// not stop serve from answering /logout within a minute, with the
// default backoff; the owner is told once.
func TestServeAnswersLogoutDespiteSecondPoller(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	g := newGatekeeper(t, srv)
	g.start(t)
	defer g.cmd.Process.Signal(syscall.SIGTERM)

	rogue, err := telegram.New(context.Background(), telegram.Config{Token: gatekeeperTok, APIURL: g.gate.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			rogue.GetUpdates(ctx, 0, 2*time.Second)
		}
	}()
	g.waitFor(t, "the owner told about the other poller", 30*time.Second, func(v telegramtest.View) bool {
		_, ok := find(v, func(m telegramtest.Message) bool {
			return strings.Contains(m.Text, "Another program is reading this bot's updates")
		})
		return ok
	})
	start := time.Now()
	g.gate.PushUpdate(ownerChat, ownerChat, "/logout")
	g.waitFor(t, "the answer to /logout", time.Minute, func(v telegramtest.View) bool {
		_, ok := find(v, func(m telegramtest.Message) bool {
			return strings.Contains(m.Text, "is not signed in") || strings.Contains(m.Text, "Signed out")
		})
		return ok
	})
	t.Logf("/logout answered after %s with a second poller", time.Since(start).Round(time.Millisecond))
	n := 0
	for _, m := range g.gate.Chat(ownerChat) {
		if strings.Contains(m.Text, "Another program is reading") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("told %d times about the other poller, want once", n)
	}
}

// /audit in the gatekeeper chat shows the newest page of the audit log
// from every generation, /audit 2 the page before, to the owner only.
func TestServeAuditInChat(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	g := newGatekeeper(t, srv)
	log := audit.Open(filepath.Dir(g.sock))
	log.MaxSize = 1024 // a few generations
	t0 := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	for i := range 12 {
		if err := log.Append(audit.Event{Time: t0.Add(time.Duration(i) * time.Minute), Profile: "default", Caller: "agent", Action: "api",
			Decision: "allow", Method: "GET", Host: "graph.microsoft.com", Path: "/v1.0/me/messages/" + strconv.Itoa(i), Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	g.start(t)
	defer g.cmd.Process.Signal(syscall.SIGTERM)
	g.gate.PushUpdate(ownerChat, 777, "/audit")
	g.gate.PushUpdate(ownerChat, ownerChat, "/audit")
	g.gate.PushUpdate(ownerChat, ownerChat, "/audit 2")
	var pages []string
	g.waitFor(t, "two pages of audit lines", 20*time.Second, func(v telegramtest.View) bool {
		pages = nil
		for _, m := range v.Chat(ownerChat) {
			if m.FromBot && strings.HasPrefix(m.Text, "📜 Audit log") {
				pages = append(pages, m.Text)
			}
		}
		return len(pages) == 2
	})
	lines := strings.Split(pages[0], "\n")
	if len(lines) != 13 || !strings.Contains(lines[1], "/v1.0/me/messages/2 ") ||
		lines[10] != "12-01 14:11:00 default · agent · api · allow · GET graph.microsoft.com/v1.0/me/messages/11 · 200" ||
		lines[12] != "Page 1 of 2 (the newest) · older: /audit 2" {
		t.Fatalf("/audit answered:\n%s", pages[0])
	}
	if !strings.Contains(pages[1], "/v1.0/me/messages/0 ") || !strings.Contains(pages[1], "/v1.0/me/messages/1 ") ||
		strings.Contains(pages[1], "/messages/2 ") || !strings.HasSuffix(pages[1], "Page 2 of 2 (the oldest) · newer: /audit") {
		t.Fatalf("/audit 2 answered:\n%s", pages[1])
	}
	replies := 0
	for _, m := range g.gate.Chat(ownerChat) {
		if m.FromBot && strings.Contains(m.Text, "Audit log") {
			replies++
		}
	}
	if replies != 2 {
		t.Errorf("%d replies: the stranger's /audit was answered", replies)
	}
}
