package bridge

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/syncbuf"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

const (
	ownerID  = 5150
	stranger = 6660
)

// gate is serve's approval side over the fake Bot API: the real Telegram
// client, the listener feeding taps to Approvals, and the approval
// server on a real socket.
type gate struct {
	tg     *telegramtest.Server
	sock   string
	ap     *Approvals
	srv    *approval.Server
	logs   *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan struct{}
}

// testPolicy is the policy serve decides the test questions by.
const testPolicy = "ask POST /v1.0/me/**; ask DELETE /**; ask token; ask run"

func startGate(t *testing.T, tg *telegramtest.Server, sock string, timeout time.Duration) *gate {
	t.Helper()
	client, err := telegram.New(context.Background(), telegram.Config{Token: tg.Token(), APIURL: tg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{tg: tg, sock: sock, logs: &syncbuf.Buffer{}, done: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(g.logs, nil))
	g.ap = &Approvals{TG: client, Chat: ownerID, Owner: ownerID, Timeout: timeout, Log: log}
	ch := &Chat{Bridge: &Bridge{TG: client, Chat: ownerID, Log: log}, Listener: client, Log: log, Owner: ownerID, Approvals: g.ap}
	ln, err := approval.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	key, err := approval.WriteKey(filepath.Dir(sock))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	srv := &approval.Server{Owner: g.ap, Timeout: timeout, Log: log, Key: key,
		Policy: func(context.Context, string) (*policy.Policy, string, error) {
			return pol, "https://graph.microsoft.com", nil
		}}
	g.srv = srv
	ch.Grants = &Grants{TG: client, Chat: ownerID, Owner: ownerID, Keeper: srv, Log: log}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ch.Serve(ctx) }()
	go func() { defer wg.Done(); srv.Serve(ctx, ln) }()
	go func() { wg.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.stop()
		if strings.Contains(g.logs.String(), tg.Token()) {
			t.Error("the bot token is in the log")
		}
	})
	return g
}

func (g *gate) stop() {
	g.cancel()
	<-g.done
}

type asked struct {
	d   approval.Decision
	err error
}

func askAsync(sock string, req approval.Request) <-chan asked {
	ch := make(chan asked, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d, err := approval.Ask(ctx, sock, req)
		ch <- asked{d, err}
	}()
	return ch
}

func waitView(t *testing.T, tg *telegramtest.Server, what string, cond func(telegramtest.View) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tg.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// question waits for the newest approval question with its buttons.
func question(t *testing.T, tg *telegramtest.Server, n int) telegramtest.Message {
	t.Helper()
	var q telegramtest.Message
	waitView(t, tg, "the approval question", func(v telegramtest.View) bool {
		c := 0
		for _, m := range v.Chat(ownerID) {
			if strings.HasPrefix(m.Text, "🔐 The agent asks") || len(m.History) > 0 && strings.HasPrefix(m.History[0].Text, "🔐 The agent asks") {
				c++
				q = m
			}
		}
		return c >= n && len(q.Buttons) > 0
	})
	return q
}

func tap(t *testing.T, tg *telegramtest.Server, from int64, label string) string {
	t.Helper()
	id, _, err := tg.TapButton(ownerID, from, label)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func answered(t *testing.T, tg *telegramtest.Server, id, text string) {
	t.Helper()
	waitView(t, tg, "the answer to tap "+id, func(v telegramtest.View) bool {
		for _, c := range v.Callbacks {
			if c.ID == id && c.Answered {
				return c.Text == text
			}
		}
		return false
	})
}

func newFake(t *testing.T) *telegramtest.Server {
	tg := telegramtest.New(t)
	tg.AddChat(ownerID)
	return tg
}

var sendMail = approval.Request{Profile: "work", Account: "ada@example.com", Action: approval.ActionAPI, Method: "POST", Host: "graph.microsoft.com", Path: "/v1.0/me/sendMail", BodySize: 42, Preview: `{"subject":"hi"}`, Rule: "POST /v1.0/me/**"}

func TestApprovalChoices(t *testing.T) {
	for _, tc := range []struct {
		label   string
		allow   bool
		reason  string
		outcome string
	}{
		{"Allow once", true, approval.ReasonAllowOnce, "✅ Allowed once."},
		{"Deny", false, approval.ReasonDeny, "⛔ Denied."},
	} {
		t.Run(tc.label, func(t *testing.T) {
			tg := newFake(t)
			g := startGate(t, tg, approval.SocketPath(t.TempDir()), time.Minute)
			res := askAsync(g.sock, sendMail)
			q := question(t, tg, 1)
			if !strings.Contains(q.Text, "POST https://graph.microsoft.com/v1.0/me/sendMail") || !strings.Contains(q.Text, "work (ada@example.com)") {
				t.Errorf("the question does not say what is asked:\n%s", q.Text)
			}
			id := tap(t, tg, ownerID, tc.label)
			r := <-res
			if r.err != nil || r.d.Allow != tc.allow || r.d.Reason != tc.reason {
				t.Fatalf("decision %+v, %v\n%s\n%+v", r.d, r.err, g.logs, tg.Callbacks())
			}
			answered(t, tg, id, tc.label)
			waitView(t, tg, "the edited message", func(v telegramtest.View) bool {
				m, _ := v.Last(ownerID)
				return m.ID == q.ID && strings.Contains(m.Text, tc.outcome) && len(m.Buttons) == 0
			})
		})
	}
}

func TestApprovalForAnHour(t *testing.T) {
	tg := newFake(t)
	g := startGate(t, tg, approval.SocketPath(t.TempDir()), time.Minute)
	res := askAsync(g.sock, sendMail)
	question(t, tg, 1)
	tap(t, tg, ownerID, "Allow for 1 hour")
	r := <-res
	if r.err != nil || !r.d.Allow || r.d.Reason != approval.ReasonAllow1h || time.Until(r.d.Until) < 59*time.Minute {
		t.Fatalf("decision %+v, %v", r.d, r.err)
	}
	sent := len(tg.Chat(ownerID))
	// The second call within the hour asks nothing.
	r = <-askAsync(g.sock, sendMail)
	if r.err != nil || !r.d.Allow || r.d.Reason != approval.ReasonGrant {
		t.Fatalf("second decision %+v, %v", r.d, r.err)
	}
	if n := len(tg.Chat(ownerID)); n != sent {
		t.Fatalf("the second call within the hour posted %d messages", n-sent)
	}
	// Another rule is asked.
	other := sendMail
	other.Rule, other.Method = "DELETE /**", "DELETE"
	res = askAsync(g.sock, other)
	question(t, tg, 2)
	tap(t, tg, ownerID, "Deny")
	if r := <-res; r.d.Allow {
		t.Fatalf("another rule rode on the grant: %+v", r.d)
	}
}

func TestApprovalTimeout(t *testing.T) {
	tg := newFake(t)
	g := startGate(t, tg, approval.SocketPath(t.TempDir()), time.Second)
	res := askAsync(g.sock, sendMail)
	q := question(t, tg, 1)
	if !strings.Contains(q.Text, "No answer within 1 second is a denial.") {
		t.Errorf("the question does not say the time limit:\n%s", q.Text)
	}
	r := <-res
	if r.err != nil || r.d.Allow || r.d.Reason != approval.ReasonTimeout {
		t.Fatalf("decision %+v, %v", r.d, r.err)
	}
	waitView(t, tg, "the timed-out message", func(v telegramtest.View) bool {
		m, _ := v.Last(ownerID)
		return m.ID == q.ID && strings.Contains(m.Text, "No answer in time: denied.") && len(m.Buttons) == 0
	})
}

// A stranger's tap (in a group chat, say) is answered and ignored: the
// request keeps waiting for the owner.
func TestApprovalStrangerIgnored(t *testing.T) {
	tg := newFake(t)
	g := startGate(t, tg, approval.SocketPath(t.TempDir()), time.Minute)
	res := askAsync(g.sock, sendMail)
	question(t, tg, 1)
	id := tap(t, tg, stranger, "Allow once")
	answered(t, tg, id, tapNotOwner)
	select {
	case r := <-res:
		t.Fatalf("a stranger's tap decided: %+v", r.d)
	case <-time.After(300 * time.Millisecond):
	}
	if g.ap.Waiting() != 1 {
		t.Fatalf("%d waiting", g.ap.Waiting())
	}
	if !strings.Contains(g.logs.String(), "ignored a tap from someone who is not the owner") {
		t.Errorf("not logged:\n%s", g.logs)
	}
	tap(t, tg, ownerID, "Deny")
	if r := <-res; r.err != nil || r.d.Allow || r.d.Reason != approval.ReasonDeny {
		t.Fatalf("decision %+v, %v", r.d, r.err)
	}
}

// serve restarted while a request waits: the command gets a clear denial,
// the question says so, and a tap on it after the restart is answered
// "no longer waiting" and its buttons go.
func TestApprovalServeRestart(t *testing.T) {
	tg := newFake(t)
	sock := approval.SocketPath(t.TempDir())
	g := startGate(t, tg, sock, time.Minute)
	res := askAsync(sock, sendMail)
	q := question(t, tg, 1)
	g.stop()
	r := <-res
	if r.err != nil || r.d.Allow || r.d.Reason != approval.ReasonServeStopped {
		t.Fatalf("decision %+v, %v", r.d, r.err)
	}
	waitView(t, tg, "the stopped message", func(v telegramtest.View) bool {
		m, _ := v.Last(ownerID)
		return m.ID == q.ID && strings.Contains(m.Text, "devicegate stopped before an answer: denied.")
	})

	// The new serve gets a tap on a question of the old one (sent again
	// by hand: the old message lost its buttons with the edit).
	old, err := telegram.New(context.Background(), telegram.Config{Token: tg.Token(), APIURL: tg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	stale, err := old.SendMessage(context.Background(), ownerID, ApprovalMessage(sendMail, approval.NewID(), time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	startGate(t, tg, sock, time.Minute)
	id := tap(t, tg, ownerID, "Allow once")
	answered(t, tg, id, tapStale)
	waitView(t, tg, "the stale buttons removed", func(v telegramtest.View) bool {
		for _, m := range v.Chat(ownerID) {
			if m.ID == stale {
				return len(m.Buttons) == 0
			}
		}
		return false
	})
	// And it asks afresh.
	res = askAsync(sock, sendMail)
	question(t, tg, 2)
	tap(t, tg, ownerID, "Allow once")
	if r := <-res; !r.d.Allow {
		t.Fatalf("after the restart: %+v %v", r.d, r.err)
	}
}

// Every tap gets an answer, whatever it is.
func TestEveryTapAnswered(t *testing.T) {
	tg := newFake(t)
	g := startGate(t, tg, approval.SocketPath(t.TempDir()), time.Minute)
	res := askAsync(g.sock, sendMail)
	question(t, tg, 1)
	tap(t, tg, stranger, "Deny")
	tap(t, tg, ownerID, "Allow once")
	<-res
	// A button of another kind on another message of the bot.
	client, _ := telegram.New(context.Background(), telegram.Config{Token: tg.Token(), APIURL: tg.URL()})
	client.SendMessage(context.Background(), ownerID, telegram.Message{Text: "x", Buttons: []telegram.Button{{Text: "Other", Data: "something-else"}}})
	tap(t, tg, ownerID, "Other")
	waitView(t, tg, "every tap answered", func(v telegramtest.View) bool {
		for _, c := range v.Callbacks {
			if !c.Answered {
				return false
			}
		}
		return len(v.Callbacks) == 3
	})
}

// In a group chat anyone may write: only the owner's commands count. And
// /audit answers from the audit log.
func TestChatOwnerOnlyAndAudit(t *testing.T) {
	tg := newFake(t)
	client, err := telegram.New(context.Background(), telegram.Config{Token: tg.Token(), APIURL: tg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	ch := &Chat{Bridge: &Bridge{TG: client, Chat: ownerID}, Listener: client, Log: slog.New(slog.NewTextHandler(logs, nil)), Owner: ownerID,
		Audit: seedAudit(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ch.Serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	tg.PushUpdate(ownerID, stranger, "/audit")
	tg.PushUpdate(ownerID, ownerID, "/audit")
	waitView(t, tg, "the audit lines", func(v telegramtest.View) bool {
		m, _ := v.Last(ownerID)
		return strings.Contains(m.Text, "GET api.github.com/repos/octo-cat/hello_world.go/issues/24")
	})
	n := 0
	for _, m := range tg.Chat(ownerID) {
		if m.FromBot {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d replies, want one (the owner's /audit only)", n)
	}
	if !strings.Contains(logs.String(), "ignored a message from someone who is not TELEGRAM_OWNER_ID") {
		t.Errorf("the stranger's command is not logged:\n%s", logs)
	}
	// A tap with no approvals configured is still answered.
	client.SendMessage(ctx, ownerID, telegram.Message{Text: "q", Buttons: []telegram.Button{{Text: "Deny", Data: approval.CallbackData(approval.NewID(), approval.Deny)}}})
	id := tap(t, tg, ownerID, "Deny")
	answered(t, tg, id, tapStale)
}

// Two questions of the same rule: "Allow for 1 hour" on one allows both,
// and the other question says so.
func TestApprovalHourCoversWaitingQuestion(t *testing.T) {
	tg := newFake(t)
	g := startGate(t, tg, approval.SocketPath(t.TempDir()), time.Minute)
	first := askAsync(g.sock, sendMail)
	q1 := question(t, tg, 1)
	second := askAsync(g.sock, sendMail)
	q2 := question(t, tg, 2)
	if q1.ID == q2.ID {
		t.Fatal("one question for two requests")
	}
	if _, err := tg.Tap(ownerID, ownerID, q2.ID, q2.Buttons[0][1].CallbackData); err != nil {
		t.Fatal(err)
	}
	r1, r2 := <-first, <-second
	if !r1.d.Allow || r1.d.Reason != approval.ReasonGrant || !r2.d.Allow || r2.d.Reason != approval.ReasonAllow1h {
		t.Fatalf("decisions %+v %v, %+v %v", r1.d, r1.err, r2.d, r2.err)
	}
	waitView(t, tg, "the covered question edited", func(v telegramtest.View) bool {
		for _, m := range v.Chat(ownerID) {
			if m.ID == q1.ID {
				return len(m.Buttons) == 0 && strings.Contains(m.Text, `Allowed by your "Allow for 1 hour" for the same kind of request.`)
			}
		}
		return false
	})
}
