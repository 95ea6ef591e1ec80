package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/handoff"
	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// codeRig is the rig with a code-flow profile, and serve's part that
// matters here running in the test: the chat reader and the handoff.
func codeRig(t *testing.T, withServe bool) *rig {
	r := newRig(t, oidctest.Options{})
	var env []string
	for _, e := range r.env {
		if !strings.HasPrefix(e, "OAUTH_DEVICE_AUTH_URL=") && !strings.HasPrefix(e, "OAUTH_CLIENT_ID=") {
			env = append(env, e)
		}
	}
	r.env = append(env, "OAUTH_FLOW=code", "OAUTH_CLIENT_ID="+oidctest.NativeClientID)
	if !withServe {
		return r
	}
	dir := filepath.Join(r.data, "devicegate")
	os.MkdirAll(dir, 0o700)
	key, err := handoff.CreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := handoff.Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	client, err := telegram.New(ctx, telegram.Config{Token: r.tg.Token(), APIURL: r.tg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	router := &codeflow.Router{}
	log := slog.New(slog.DiscardHandler)
	ch := &bridge.Chat{Bridge: &bridge.Bridge{TG: client, Chat: chatID, Log: log, Pastes: router},
		Listener: client, Log: log, Owner: chatID, Pastes: router}
	done := make(chan struct{}, 2)
	go func() { ch.Serve(ctx); done <- struct{}{} }()
	go func() { (&handoff.Server{Router: router, Key: key}).Serve(ctx, ln); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return r
}

func (r *rig) linkInChat() (telegramtest.Message, string) {
	r.t.Helper()
	var msg telegramtest.Message
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.tg.WaitFor(ctx, func(v telegramtest.View) bool {
		for _, m := range v.Chat(chatID) {
			if strings.HasPrefix(m.Text, "🔐 Sign-in request") {
				msg = m
				return true
			}
		}
		return false
	})
	if err != nil {
		r.t.Fatalf("no sign-in message: %v; chat %+v", err, r.tg.Chat(chatID))
	}
	for _, f := range append(msg.Links(), strings.Fields(msg.Text)...) {
		if strings.HasPrefix(f, r.idp.Issuer+"/auth?") {
			return msg, f
		}
	}
	r.t.Fatalf("no link in %q", msg.Text)
	return msg, ""
}

// The plugin's path: tgauth posts the link, the owner allows and pastes
// the address into the chat serve reads, serve hands it to tgauth, which
// signs in.
func TestCodeFlowThroughServe(t *testing.T) {
	r := codeRig(t, true)
	x := r.start("--json")
	msg, link := r.linkInChat()
	if !strings.Contains(msg.Text, " on myapp-sidecar-1") || !strings.Contains(msg.Text, "Asked at") {
		t.Fatalf("sign-in message %q", msg.Text)
	}
	addr, err := r.idp.FollowLink(context.Background(), link, oidctest.ApproveOptions{}, true)
	if err != nil {
		t.Fatal(err)
	}
	r.tg.PushUpdate(chatID, chatID, addr)
	if code := x.wait(t); code != 0 {
		t.Fatalf("tgauth exit %d\nstdout %s\nstderr %s", code, &x.stdout, &x.stderr)
	}
	out := x.stdout.String()
	if !strings.Contains(out, `"event":"authorize"`) || !strings.Contains(out, `"event":"signed_in"`) {
		t.Fatalf("events:\n%s", out)
	}
	for _, m := range r.tg.Chat(chatID) {
		if m.ID == msg.ID && !strings.HasPrefix(m.Text, "✅ Signed in as Alice Example") {
			t.Fatalf("the sign-in message reads %q", m.Text)
		}
		if !m.FromBot && strings.Contains(m.Text, "code=") && !m.Deleted {
			t.Fatal("the pasted address stays in the chat")
		}
	}
}

// Without serve there is nobody to read the chat: tgauth says so at once.
func TestCodeFlowWithoutServe(t *testing.T) {
	r := codeRig(t, false)
	x := r.start()
	if code := x.wait(t); code != exitcode.Usage || !strings.Contains(x.stderr.String(), "sidecar serve") {
		t.Fatalf("exit %d, stderr %s", code, &x.stderr)
	}
}
