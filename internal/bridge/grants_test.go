package bridge

import (
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

// /grants lists the hour grants with an End button each; only the owner's
// tap ends one, and the next such request asks again.
func TestGrantsInChat(t *testing.T) {
	tg := newFake(t)
	g := startGate(t, tg, approval.SocketPath(t.TempDir()), time.Minute)
	res := askAsync(g.sock, sendMail)
	question(t, tg, 1)
	tap(t, tg, ownerID, "Allow for 1 hour")
	if r := <-res; r.d.Reason != approval.ReasonAllow1h {
		t.Fatalf("decision %+v %v", r.d, r.err)
	}
	tg.PushUpdate(ownerID, ownerID, "/grants")
	defer func() {
		if t.Failed() {
			for _, m := range tg.Chat(ownerID) {
				t.Logf("%d %v %q %d", m.ID, m.FromBot, m.Text, len(m.Buttons))
			}
			t.Log(g.logs)
		}
	}()
	var list telegramtest.Message
	waitView(t, tg, "the list of grants", func(v telegramtest.View) bool {
		m, ok := v.Last(ownerID)
		list = m
		return ok && m.FromBot && strings.Contains(m.Text, "in force") && len(m.Buttons) == 1
	})
	if !strings.Contains(list.Text, "API calls POST graph.microsoft.com") || !strings.Contains(list.Text, "ask POST /v1.0/me/**") {
		t.Errorf("the list does not say what the grant covers:\n%s", list.Text)
	}
	id := tap(t, tg, stranger, "End 1")
	answered(t, tg, id, tapNotOwner)
	if n := len(g.srv.Grants()); n != 1 {
		t.Fatalf("a stranger's tap ended a grant: %d left", n)
	}
	id = tap(t, tg, ownerID, "End 1")
	answered(t, tg, id, tapGrantEnded)
	waitView(t, tg, "the list brought up to date", func(v telegramtest.View) bool {
		for _, m := range v.Chat(ownerID) {
			if m.ID == list.ID {
				return len(m.Buttons) == 0 && strings.HasPrefix(m.Text, "No \"Allow for 1 hour\" is in force")
			}
		}
		return false
	})
	if n := len(g.srv.Grants()); n != 0 {
		t.Fatalf("%d grants after End", n)
	}
	res = askAsync(g.sock, sendMail)
	question(t, tg, 2) // asked again
	tap(t, tg, ownerID, "Deny")
	if r := <-res; r.d.Allow {
		t.Fatalf("an ended grant still allowed: %+v", r.d)
	}
}
