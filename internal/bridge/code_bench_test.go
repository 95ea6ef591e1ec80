package bridge

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// BenchmarkCodeFlowPaste measures the budget of issue 18: from the
// owner's pasted address reaching serve's chat to "Signed in as …" in the
// chat, against the real oidc-provider on loopback and the fake Bot API
// (the code exchange, the identity, the cache write, the edit). The
// /auth and the sign-in at the provider happen outside the timer. Budget:
// 1 s per op.
func BenchmarkCodeFlowPaste(b *testing.B) {
	c := startCodeChat(b)
	// Each run (b.N = 1, then more) has its own chat: stop polling the
	// fake bot before the next one starts.
	defer c.stop()
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		msg, link := c.link(b)
		addr, err := c.srv.FollowLink(ctx, link, oidctest.ApproveOptions{}, true)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c.tg.PushUpdate(ownerID, ownerID, addr)
		c.becomes(b, msg.ID, "✅ Signed in as")
	}
}

// codeChat is serve's chat with one code-flow profile at the real
// oidc-provider, on the fake Bot API.
type codeChat struct {
	srv *oidctest.Server
	tg  *telegramtest.Server
	s   *session.Session
	// stop ends the chat's polling.
	stop context.CancelFunc
}

func startCodeChat(b testing.TB) *codeChat {
	b.Helper()
	srv := oidctest.Start(b, oidctest.Options{})
	oidctest.SkipIfNotInstalled(b, nil)
	tg := telegramtest.New(b)
	tg.AddChat(ownerID)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	done := make(chan struct{})
	client, err := telegram.New(ctx, telegram.Config{Token: tg.Token(), APIURL: tg.URL()})
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	pr, err := provider.New(&config.Profile{Name: "default", Prefix: "OAUTH", Provider: "oidc", Issuer: srv.Issuer,
		ClientID: oidctest.NativeClientID, Scopes: "openid profile email offline_access", Flow: config.FlowCode}, hc)
	if err != nil {
		b.Fatal(err)
	}
	store, _ := tokencache.Open(b.TempDir(), nil)
	s := &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: hc}
	log := slog.New(slog.DiscardHandler)
	router := &codeflow.Router{}
	ch := &Chat{Bridge: &Bridge{TG: client, Chat: ownerID, Log: log, Pastes: router},
		Sessions: []*session.Session{s}, Listener: client, Log: log, Owner: ownerID, Pastes: router}
	go func() { ch.Serve(ctx); close(done) }()

	return &codeChat{srv: srv, tg: tg, s: s, stop: func() { cancel(); <-done }}
}

// link sends /auth and returns the new sign-in message and its link.
func (c *codeChat) link(b testing.TB) (telegramtest.Message, string) {
	b.Helper()
	var msg telegramtest.Message
	for busy := true; busy; {
		// Right after a sign-in ends, its goroutine may not have let go
		// of the profile yet: /auth is then "already under way"; again.
		n := len(c.tg.Chat(ownerID))
		c.tg.PushUpdate(ownerID, ownerID, "/auth default force")
		c.wait(b, "the sign-in message", func(v telegramtest.View) bool {
			msgs := v.Chat(ownerID)
			for _, m := range msgs[min(n, len(msgs)):] {
				if m.FromBot && strings.HasPrefix(m.Text, "🔐 Sign-in request") {
					msg, busy = m, false
					return true
				}
				if m.FromBot && strings.Contains(m.Text, "already under way") {
					return true
				}
			}
			return false
		})
	}
	for _, f := range append(msg.Links(), strings.Fields(msg.Text)...) {
		if strings.HasPrefix(f, c.srv.Issuer+"/auth?") {
			return msg, f
		}
	}
	b.Fatalf("no link in %q", msg.Text)
	return msg, ""
}

func (c *codeChat) wait(b testing.TB, what string, cond func(telegramtest.View) bool) {
	b.Helper()
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.tg.WaitFor(wctx, cond); err != nil {
		b.Fatalf("waiting for %s: %v; chat %+v", what, err, c.tg.Chat(ownerID))
	}
}

// becomes waits for the message id to read prefix.
func (c *codeChat) becomes(b testing.TB, id int, prefix string) {
	b.Helper()
	c.wait(b, prefix, func(v telegramtest.View) bool {
		for _, m := range v.Chat(ownerID) {
			if m.ID == id {
				return strings.HasPrefix(m.Text, prefix)
			}
		}
		return false
	})
}

// A paste after the link expired: the sign-in message says so, nothing
// is exchanged or stored.
func TestCodeFlowChatExpired(t *testing.T) {
	c := startCodeChat(t)
	// The session reads the clock in serve's goroutine.
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	c.s.Now = func() time.Time { return time.Unix(0, now.Load()) }
	msg, link := c.link(t)
	addr, err := c.srv.FollowLink(context.Background(), link, oidctest.ApproveOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	now.Add(int64(codeflow.DefaultLifetime))
	c.tg.PushUpdate(ownerID, ownerID, addr)
	c.becomes(t, msg.ID, "⌛ Sign-in code expired")
	if _, err := c.s.Store.Load("default"); err == nil {
		t.Fatal("an expired sign-in was stored")
	}
}
