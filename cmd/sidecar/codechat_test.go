package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

const stranger = 666

// codeGatekeeper is serve with a code-flow profile at srv.
func codeGatekeeper(t *testing.T, srv *oidctest.Server) *gatekeeperServe {
	g := newGatekeeper(t, srv, "OAUTH_FLOW=code", "OAUTH_CLIENT_ID="+oidctest.NativeClientID)
	g.start(t)
	return g
}

// signInLink sends /auth as the owner and returns the sign-in message's
// link: its Sign in button, or the link in its text when Telegram refused
// the button (a loopback provider's address).
func (g *gatekeeperServe) signInLink(t *testing.T, issuer string) (telegramtest.Message, string) {
	t.Helper()
	g.gate.PushUpdate(ownerChat, ownerChat, "/auth")
	var m telegramtest.Message
	g.waitFor(t, "the sign-in message", 20*time.Second, func(v telegramtest.View) bool {
		var ok bool
		m, ok = find(v, func(m telegramtest.Message) bool { return strings.HasPrefix(m.Text, "🔐 Sign-in request") })
		return ok
	})
	for _, l := range m.Links() {
		if strings.HasPrefix(l, issuer+"/auth") {
			return m, l
		}
	}
	for _, f := range strings.Fields(m.Text) {
		if strings.HasPrefix(f, issuer+"/auth") {
			return m, f
		}
	}
	t.Fatalf("no link in the sign-in message: %q", m.Text)
	return m, ""
}

// reply waits for the bot's newest message to start with prefix, after
// the message count n.
func (g *gatekeeperServe) replyAfter(t *testing.T, n int, prefix string) telegramtest.Message {
	t.Helper()
	var got telegramtest.Message
	g.waitFor(t, "a reply "+prefix, 20*time.Second, func(v telegramtest.View) bool {
		msgs := v.Chat(ownerChat)
		for _, m := range msgs[min(n, len(msgs)):] {
			if m.FromBot && strings.HasPrefix(m.Text, prefix) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

func (g *gatekeeperServe) paste(t *testing.T, from int64, text string) (n, id int) {
	n = len(g.gate.Chat(ownerChat))
	g.gate.PushUpdate(ownerChat, from, text)
	msgs := g.gate.Chat(ownerChat)
	return n, msgs[len(msgs)-1].ID
}

// outcome waits for the sign-in message msg to be replaced by one that
// begins with prefix.
func (g *gatekeeperServe) outcome(t *testing.T, msg telegramtest.Message, prefix string) {
	t.Helper()
	g.waitFor(t, "the sign-in message to say "+prefix, 20*time.Second, func(v telegramtest.View) bool {
		for _, m := range v.Chat(ownerChat) {
			if m.ID == msg.ID {
				return strings.HasPrefix(m.Text, prefix)
			}
		}
		return false
	})
}

func (g *gatekeeperServe) deleted(t *testing.T, id int) {
	t.Helper()
	g.waitFor(t, "the pasted address deleted", 20*time.Second, func(v telegramtest.View) bool {
		for _, m := range v.Chat(ownerChat) {
			if m.ID == id {
				return m.Deleted
			}
		}
		return false
	})
}

// The owner's /auth with the code flow, and everything that must not
// finish it: a stranger's paste of the right address, a wrong state, a
// malformed paste; then the owner's paste signs in, and pasting it again
// is "already used". Each gets one reply; every paste is deleted.
func TestCodeFlowChat(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	g := codeGatekeeper(t, srv)
	ctx := context.Background()
	msg, link := g.signInLink(t, srv.Issuer)
	if !strings.Contains(msg.Text, "Asked at") || !strings.Contains(msg.Text, "copy that whole address and send it here") {
		t.Fatalf("sign-in message: %q", msg.Text)
	}
	addr, err := srv.FollowLink(ctx, link, oidctest.ApproveOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, text string
		from       int64
		reply      string
	}{
		{"stranger", addr, stranger, "Only the owner can finish a sign-in"},
		{"wrong state", strings.Replace(addr, "state=", "state=x", 1), ownerChat, "That address did not finish the sign-in: this address is not from a sign-in under way"},
		{"malformed", "my code=123", ownerChat, "That address did not finish the sign-in: no sign-in address found"},
	} {
		n, id := g.paste(t, c.from, c.text)
		g.replyAfter(t, n, c.reply)
		g.deleted(t, id)
	}
	if m, _ := find(g.gate.Snapshot(), func(m telegramtest.Message) bool { return strings.HasPrefix(m.Text, "✅") }); m.ID != 0 {
		t.Fatalf("signed in by a paste that must not count: %q", m.Text)
	}
	n, id := g.paste(t, ownerChat, "here: "+addr+" thanks")
	g.deleted(t, id)
	g.outcome(t, msg, "✅ Signed in as Alice Example")
	_ = n
	n, id = g.paste(t, ownerChat, addr)
	g.replyAfter(t, n, "That address did not finish the sign-in: this address was already used")
	g.deleted(t, id)

	if r := sidecar(t, g.env, "api", "/me"); r.code != 0 || !strings.Contains(r.stdout, "alice@example.com") {
		t.Fatalf("api /me: %+v", r)
	}
	u, _ := url.Parse(addr)
	for _, m := range g.gate.Chat(ownerChat) {
		if m.FromBot && strings.Contains(m.Text, u.Query().Get("code")) {
			t.Fatalf("a bot message holds the code: %q", m.Text)
		}
		if !m.FromBot && strings.Contains(m.Text, "state=") && !m.Deleted {
			t.Fatalf("a pasted address stays in the chat: %q", m.Text)
		}
	}
}

// Deny at the consent page and paste that address: the sign-in message
// says declined, nothing is signed in.
func TestCodeFlowChatDeclined(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	g := codeGatekeeper(t, srv)
	msg, link := g.signInLink(t, srv.Issuer)
	addr, err := srv.FollowLink(context.Background(), link, oidctest.ApproveOptions{}, false)
	if err != nil {
		t.Fatal(err)
	}
	_, id := g.paste(t, ownerChat, addr)
	g.deleted(t, id)
	g.outcome(t, msg, "❌ Sign-in declined")
	if r := sidecar(t, g.env, "token"); r.code != 4 {
		t.Fatalf("token after a declined sign-in: %+v", r)
	}
}

// An owner's own public callback (OAUTH_REDIRECT_URL=https://…, their
// proxy forwarding to SIDECAR_CALLBACK_LISTEN): the browser's redirect
// finishes the sign-in with nothing pasted. The test is the proxy.
func TestCodeFlowPublicCallback(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	g := newGatekeeper(t, srv, "OAUTH_FLOW=code", "OAUTH_CLIENT_ID="+oidctest.NativeClientID,
		"OAUTH_REDIRECT_URL="+oidctest.PublicCallback, "SIDECAR_CALLBACK_LISTEN="+listen)
	g.start(t)
	msg, link := g.signInLink(t, srv.Issuer)
	if !strings.Contains(msg.Text, oidctest.PublicCallback) {
		t.Fatalf("sign-in message: %q", msg.Text)
	}
	addr, err := srv.FollowLink(context.Background(), link, oidctest.ApproveOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	landed, _ := url.Parse(addr)
	if got := landed.Scheme + "://" + landed.Host + landed.Path; got != oidctest.PublicCallback {
		t.Fatalf("landed at %s", addr)
	}
	var res *http.Response
	for deadline := time.Now().Add(20 * time.Second); ; {
		if res, err = http.Get("http://" + listen + landed.Path + "?" + landed.RawQuery); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("callback: %v %v\n%s", res, err, g.logs)
	}
	res.Body.Close()
	g.outcome(t, msg, "✅ Signed in as Alice Example")
}
