package approval

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A terminal sees the questions waiting, those asked before it connected
// too, answers one, and is told how each ended.
func TestConsole(t *testing.T) {
	con := &Console{Alone: true}
	sock, _ := start(t, &Server{Owner: con, Console: con, Timeout: time.Minute})

	// Nobody watching and no bot: a denial at once, not a wait.
	if d, err := Ask(context.Background(), sock, apiReq("")); err != nil || d.Reason != ReasonNoListener {
		t.Fatalf("with no terminal: %+v %v", d, err)
	}
	w, err := Watch(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	waitWatching(t, con, 1)
	dc, _ := ask(t, sock, apiReq(""))
	ev, err := w.Next()
	if err != nil || ev.Pending == nil || ev.Pending.Question.Path != "/v1.0/me/sendMail" || ev.Pending.Question.Rule != "ask POST /v1.0/me/*" {
		t.Fatalf("event %+v %v", ev, err)
	}
	if err := w.Answer(ev.Pending.ID, AllowOnce); err != nil {
		t.Fatal(err)
	}
	if d := <-dc; !d.Allow || d.Reason != ReasonAllowOnce {
		t.Fatalf("decision %+v", d)
	}
	ev, err = w.Next()
	if err != nil || ev.Done == nil || ev.Done.Outcome != "✅ Allowed once." {
		t.Fatalf("event %+v %v", ev, err)
	}

	// A question asked before a second terminal connects is shown to it;
	// an unknown id changes nothing.
	dc, _ = ask(t, sock, apiReq(""))
	if ev, _ := w.Next(); ev.Pending == nil {
		t.Fatalf("event %+v", ev)
	}
	w2, err := Watch(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	ev2, err := w2.Next()
	if err != nil || ev2.Pending == nil {
		t.Fatalf("the late terminal got %+v %v", ev2, err)
	}
	w2.Answer(strings.Repeat("0", 16), AllowOnce)
	w2.Answer(ev2.Pending.ID, Deny)
	if d := <-dc; d.Allow || d.Reason != ReasonDeny {
		t.Fatalf("decision %+v", d)
	}
}

// A terminal watch without the key is refused and gets nothing.
func TestConsoleNeedsKey(t *testing.T) {
	con := &Console{}
	log := &memAudit{}
	sock, _ := start(t, &Server{Owner: con, Console: con, Audit: log})
	if got := send(t, sock, `{"key":"","watch":true}`); got != "" {
		t.Errorf("answered %q", got)
	}
	if evs := log.events(); len(evs) != 1 || !strings.Contains(evs[0].Detail, "terminal watch without sidecar serve's key") {
		t.Errorf("audit %+v", evs)
	}
	if n := con.watching(); n != 0 {
		t.Errorf("%d terminals watching", n)
	}
}

func waitWatching(t *testing.T, c *Console, n int) {
	t.Helper()
	for range 1000 {
		if c.watching() == n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d terminals watching, want %d", c.watching(), n)
}

// Fanout: the first answer wins; the other owner's question ends with an
// *Answered cause saying where.
func TestFanout(t *testing.T) {
	a, b := newOwner(), newOwner()
	f := &Fanout{Owners: []Owner{a, b}, Where: []string{"in Telegram", "in the terminal"}}
	done := make(chan Choice, 1)
	go func() {
		c, _ := f.Ask(context.Background(), apiReq(""))
		done <- c
	}()
	<-a.asked
	<-b.asked
	b.answers <- AllowHour
	if c := <-done; c != AllowHour {
		t.Fatalf("choice %q", c)
	}
	var ans *Answered
	if c := a.cause(t); !errors.As(c, &ans) || ans.Where != "in the terminal" || ans.Choice != AllowHour {
		t.Errorf("the other owner's question ended with %v", c)
	}
	// All owners fail: the error is the most telling one.
	f = &Fanout{Owners: []Owner{&Console{Alone: true}, failing{}}, Where: []string{"x", "y"}}
	if _, err := f.Ask(context.Background(), apiReq("")); err == nil || errors.Is(err, ErrNoListener) {
		t.Errorf("err %v, want the failing owner's", err)
	}
}

type failing struct{}

func (failing) Ask(context.Context, Request) (Choice, error) {
	return 0, errors.New("telegram is down")
}
