package keeper

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const chat = 5150

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type rig struct {
	idp  *oidctest.Server
	tg   *telegramtest.Server
	s    *session.Session
	logs *syncBuf
	k    *Keeper
	chat *bridge.Chat
	dir  string
}

func newRig(t *testing.T, o oidctest.Options) *rig {
	t.Helper()
	o.PollInterval = time.Second
	r := &rig{idp: oidctest.Start(t, o), tg: telegramtest.New(t), logs: &syncBuf{}, dir: t.TempDir()}
	r.tg.AddChat(chat)
	hc := &http.Client{Timeout: 10 * time.Second}
	pr, _ := provider.New(&config.Profile{Name: "default", Provider: "oidc", Issuer: r.idp.Issuer, ClientID: r.idp.PublicClientID, Scopes: "openid profile email offline_access"}, hc)
	store, _ := tokencache.Open(r.dir, nil)
	r.s = &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: hc}
	tg, err := telegram.New(context.Background(), telegram.Config{Token: r.tg.Token(), APIURL: r.tg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(r.logs, nil))
	r.k = &Keeper{
		Sessions: []*session.Session{r.s}, Keepalive: time.Hour, Log: log, Tick: 50 * time.Millisecond,
		Heartbeat: filepath.Join(r.dir, "serve.heartbeat"),
		told:      map[string]bool{},
	}
	r.chat = &bridge.Chat{
		Bridge:   &bridge.Bridge{TG: tg, Chat: chat, Host: "test-host", Log: log},
		Sessions: r.k.Sessions, Log: log,
	}
	t.Cleanup(func() {
		for _, secret := range []string{r.tg.Token()} {
			if strings.Contains(r.logs.String(), secret) {
				t.Error("the bot token is in the log")
			}
		}
	})
	r.k.Chat = r.chat
	return r
}

// waitFor waits for cond, polling, for at most 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
	}
}

func (r *rig) login(t *testing.T) *tokencache.Entry {
	t.Helper()
	e, err := r.s.Login(context.Background(), session.LoginOptions{Display: func(ctx context.Context, c deviceflow.Code) error {
		go r.idp.Approve(context.Background(), c.UserCode, oidctest.ApproveOptions{})
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (r *rig) botTexts() []string {
	var out []string
	for _, m := range r.tg.Chat(chat) {
		if m.FromBot && m.Photo == nil {
			out = append(out, m.Text)
		}
	}
	return out
}

// fakeClock is a clock the test sets and moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// useClock makes the keeper and the session read a fake clock set to t.
func (r *rig) useClock(t time.Time) *fakeClock {
	c := &fakeClock{t: t}
	r.k.now, r.s.Now = c.now, c.now
	return c
}

func TestRefreshBeforeExpiryAndOnKeepalive(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{AccessTokenTTL: 4 * time.Second})
	ctx := context.Background()
	e := r.login(t)
	r.k.Margin = 2 * time.Second
	r.idp.ResetStats(ctx)

	r.k.Round(ctx) // fresh: nothing to do
	if st, _ := r.idp.Stats(ctx); st.RefreshRequests != 0 {
		t.Fatal("refreshed a fresh token")
	}
	// The keeper and the session share a clock the test moves: no waiting.
	clk := r.useClock(e.Expiry.Add(-r.k.Margin + 100*time.Millisecond))
	r.k.Round(ctx) // inside the margin: one refresh
	// The provider dates the new token by the wall clock, so look at it
	// from just outside its own margin.
	fresh, err := r.s.Store.Load("default")
	if err != nil {
		t.Fatal(err)
	}
	clk.set(fresh.Expiry.Add(-r.k.Margin - 100*time.Millisecond))
	r.k.Round(ctx) // and not again
	if st, _ := r.idp.Stats(ctx); st.RefreshRequests != 1 {
		t.Fatalf("refresh requests = %d, want 1", st.RefreshRequests)
	}
	// Keepalive: a refresh token unused for Keepalive is refreshed even
	// though the access token is fine.
	r.k.Margin, r.k.Keepalive = time.Millisecond, 500*time.Millisecond
	clk.set(fresh.RefreshedAt.Add(600 * time.Millisecond))
	r.k.Round(ctx)
	r.k.Round(ctx)
	if st, _ := r.idp.Stats(ctx); st.RefreshRequests != 2 {
		t.Fatalf("refresh requests = %d, want 2", st.RefreshRequests)
	}
	if !strings.Contains(r.logs.String(), "why=keepalive") {
		t.Fatalf("log:\n%s", r.logs)
	}
	if len(r.botTexts()) != 0 {
		t.Fatal("told the chat about routine refreshes")
	}
	if _, err := os.Stat(r.k.Heartbeat); err != nil {
		t.Fatal("no heartbeat:", err)
	}
}

func TestSignInNeededIsToldOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{})
	ctx := context.Background()
	e := r.login(t)
	// The grant dies at the provider (revoked elsewhere).
	if _, err := r.s.Logout(ctx, false); err != nil {
		t.Fatal(err)
	}
	e.Expiry = time.Now().Add(-time.Minute)
	r.s.Store.Save(e)
	for range 3 {
		r.k.Round(ctx)
	}
	texts := r.botTexts()
	if len(texts) != 1 || !strings.HasPrefix(texts[0], "🔑 Sign-in needed") || !strings.Contains(texts[0], "invalid_grant") || !strings.Contains(texts[0], "Send /auth to sign in again.") {
		t.Fatalf("chat: %q", texts)
	}
	// A restarted serve does not tell again.
	k2 := &Keeper{Sessions: r.k.Sessions, Keepalive: time.Hour, Log: r.k.Log, Chat: r.k.Chat, told: map[string]bool{}}
	k2.Round(ctx)
	if n := len(r.botTexts()); n != 1 {
		t.Fatalf("%d notices after a restart, want 1", n)
	}
	// Never signed in: told once per run too.
	r.s.Store.Delete("default")
	k2.Round(ctx)
	k2.Round(ctx)
	if n := len(r.botTexts()); n != 2 {
		t.Fatalf("%d notices, want 2", n)
	}
}

func TestCommandsFromTheChat(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{})
	tg, _ := telegram.New(context.Background(), telegram.Config{Token: r.tg.Token(), APIURL: r.tg.URL()})
	r.chat.Listener = tg
	r.tg.AddChat(666)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.k.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	wait := func(what string, cond func(telegramtest.View) bool) {
		t.Helper()
		wctx, c := context.WithTimeout(context.Background(), 30*time.Second)
		defer c()
		if err := r.tg.WaitFor(wctx, cond); err != nil {
			t.Fatalf("%s: %v\nchat: %q\nlog:\n%s", what, err, r.botTexts(), r.logs)
		}
	}
	// A stranger's /auth is ignored and logged.
	r.tg.PushUpdate(666, 9, "/auth")
	wait("stranger's update consumed", func(v telegramtest.View) bool { return v.PendingUpdates == 0 })
	r.tg.PushUpdate(chat, 1, "/auth")
	var code string
	wait("code in chat", func(v telegramtest.View) bool {
		for _, m := range v.Chat(chat) {
			if _, after, ok := strings.Cut(m.Text, "Enter the code "); ok {
				code, _, _ = strings.Cut(after, " ")
				return true
			}
		}
		return false
	})
	if len(r.tg.Chat(666)) != 1 {
		t.Fatal("answered a stranger")
	}
	if !strings.Contains(r.logs.String(), "ignored a message from a chat that is not TELEGRAM_CHAT_ID") {
		t.Fatalf("stranger not logged:\n%s", r.logs)
	}
	// A second /auth while one is under way does not start another.
	r.tg.PushUpdate(chat, 1, "/auth@devicegate_bot")
	wait("busy reply", func(v telegramtest.View) bool {
		m, _ := v.Last(chat)
		return strings.Contains(m.Text, "already under way")
	})
	if err := r.idp.Approve(context.Background(), code, oidctest.ApproveOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("signed in", func(v telegramtest.View) bool {
		for _, m := range v.Chat(chat) {
			if strings.HasPrefix(m.Text, "✅ Signed in as Alice Example") {
				return true
			}
		}
		return false
	})
	r.tg.PushUpdate(chat, 1, "/status")
	wait("status", func(v telegramtest.View) bool {
		m, _ := v.Last(chat)
		return strings.HasPrefix(m.Text, "default (oidc): ok as Alice Example alice@example.com")
	})
	r.tg.PushUpdate(chat, 1, "/logout nosuch")
	wait("unknown profile", func(v telegramtest.View) bool {
		m, _ := v.Last(chat)
		return strings.Contains(m.Text, `unknown profile "nosuch"`)
	})
	r.tg.PushUpdate(chat, 1, "/logout")
	wait("logout", func(v telegramtest.View) bool {
		// serve answers /logout with the sign-out's announcement
		// (bridge's notice); "Sign-in needed" may follow it.
		for _, m := range v.Chat(chat) {
			if strings.HasPrefix(m.Text, "🚪 Signed out of ") && strings.Contains(m.Text, "profile default") {
				return true
			}
		}
		return false
	})
}

// The silencing case: another program polling the gatekeeper bot (409
// Conflict) neither stops the keep-alive loop nor the listener. Serve tells
// the owner once, keeps polling, and answers /logout within a minute while
// the other poller goes on.
func TestConflictKeepsListening(t *testing.T) {
	t.Parallel()
	r := newRig(t, oidctest.Options{})
	r.login(t)
	tg, _ := telegram.New(context.Background(), telegram.Config{Token: r.tg.Token(), APIURL: r.tg.URL()})
	r.chat.Listener = tg
	r.chat.RetryMin, r.chat.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	r.tg.SetWebhook(true) // getUpdates now answers 409
	var ticks atomic.Int64
	start := time.Now()
	r.k.now = func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Second) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.k.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	conflicts := func(v telegramtest.View) int {
		n := 0
		for _, c := range v.Calls {
			if c.Method == "getUpdates" && c.Status == http.StatusConflict {
				n++
			}
		}
		return n
	}
	// It keeps trying (not once and done), and tells the owner once.
	if err := r.tg.WaitFor(wctx, func(v telegramtest.View) bool { return conflicts(v) >= 4 }); err != nil {
		t.Fatalf("%v; log:\n%s", err, r.logs)
	}
	warned := func() int {
		n := 0
		for _, text := range r.botTexts() {
			if strings.Contains(text, "Another program is reading this bot's updates") {
				n++
			}
		}
		return n
	}
	if n := warned(); n != 1 {
		t.Fatalf("the owner was told %d times about the other poller, want once: %q", n, r.botTexts())
	}
	// Every round stamps the heartbeat with the keeper's clock, which
	// moves a second per reading: wait for the next round's stamp.
	before, _ := os.Stat(r.k.Heartbeat)
	waitFor(t, func() bool {
		after, _ := os.Stat(r.k.Heartbeat)
		return before != nil && after != nil && after.ModTime().After(before.ModTime())
	})

	// Now a second poller hammers getUpdates, as a rogue copy of the bot
	// would; the owner's /logout is still answered, well within a minute.
	r.tg.SetWebhook(false)
	rogue, _ := telegram.New(context.Background(), telegram.Config{Token: r.tg.Token(), APIURL: r.tg.URL()})
	rctx, rcancel := context.WithCancel(context.Background())
	rdone := make(chan struct{})
	go func() {
		defer close(rdone)
		for rctx.Err() == nil {
			rogue.GetUpdates(rctx, 0, time.Second)
		}
	}()
	sent := time.Now()
	r.tg.PushUpdate(chat, chat, "/logout")
	lctx, lcancel := context.WithTimeout(context.Background(), time.Minute)
	defer lcancel()
	if err := r.tg.WaitFor(lctx, func(v telegramtest.View) bool {
		// serve answers /logout with the sign-out's announcement
		// (bridge's notice); "Sign-in needed" may follow it.
		for _, m := range v.Chat(chat) {
			if strings.HasPrefix(m.Text, "🚪 Signed out of ") && strings.Contains(m.Text, "profile default") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("/logout unanswered with a second poller: %v; chat %q", err, r.botTexts())
	}
	t.Logf("/logout answered %s after it was sent, with a second poller", time.Since(sent).Round(time.Millisecond))
	rcancel()
	<-rdone
	if n := warned(); n != 1 {
		t.Fatalf("the owner was told %d times about the other poller, want once", n)
	}

	// Clean shutdown.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if !strings.Contains(r.logs.String(), "msg=stopped") {
		t.Fatalf("log:\n%s", r.logs)
	}
}
