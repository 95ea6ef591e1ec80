package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// An "Allow for 1 hour" survives a restart of serve, kept encrypted on the
// volume; /grants lists it and ends it.
func TestServeGrantsSurviveRestart(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	g := newGatekeeper(t, srv, "SIDECAR_CACHE_KEY="+tokencache.NewKey())
	g.start(t)
	res := g.ask(tokenReq)
	g.question(t)
	g.gate.TapButton(ownerChat, ownerChat, "Allow for 1 hour")
	if r := <-res; r.d.Reason != approval.ReasonAllow1h {
		t.Fatalf("decision %+v %v", r.d, r.err)
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	g.cmd.Wait()
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(g.sock), approval.GrantsName))
	if err != nil || strings.Contains(string(raw), "token") || strings.Contains(string(raw), "default") {
		t.Fatalf("the grants file is missing or not encrypted (%v): %q", err, raw)
	}

	g.start(t)
	defer g.cmd.Process.Signal(syscall.SIGTERM)
	if r := <-g.ask(tokenReq); r.d.Reason != approval.ReasonGrant {
		t.Fatalf("after the restart: %+v %v", r.d, r.err)
	}
	g.gate.PushUpdate(ownerChat, ownerChat, "/grants")
	g.waitFor(t, "the grants", 20*time.Second, func(v telegramtest.View) bool {
		_, ok := find(v, func(m telegramtest.Message) bool {
			return strings.Contains(m.Text, "in force") && strings.Contains(m.Text, "the raw token") && len(m.Buttons) == 1
		})
		return ok
	})
	g.gate.TapButton(ownerChat, ownerChat, "End 1")
	g.waitFor(t, "the grant ended", 20*time.Second, func(v telegramtest.View) bool {
		_, ok := find(v, func(m telegramtest.Message) bool {
			return strings.HasPrefix(m.Text, "No \"Allow for 1 hour\" is in force")
		})
		return ok
	})
	res = g.ask(tokenReq)
	g.question(t) // asked again
	g.gate.TapButton(ownerChat, ownerChat, "Deny")
	if r := <-res; r.d.Allow {
		t.Fatalf("an ended grant still allowed: %+v", r.d)
	}
}
