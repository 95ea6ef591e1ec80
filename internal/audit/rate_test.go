package audit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func agentGET(path string) Event {
	return Event{Profile: "work", Caller: CallerAgent, Action: ActionAPI, Method: "GET", Host: "api.github.com", Path: path}
}

// countDecision counts the lines of the log with this decision.
func countDecision(t *testing.T, l *Log, decision string) int {
	t.Helper()
	evs, err := l.Read(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Decision == decision {
			n++
		}
	}
	return n
}

// TestAdmit walks the bucket through a burst, refusals, refills and the
// end of a burst, with a clock moved by hand: 3 at once, then 1 a second.
func TestAdmit(t *testing.T) {
	dir := t.TempDir()
	now := now0
	l := Open(dir)
	l.now = fixedClock(&now)
	l.Rate, l.Burst = 60, 3
	steps := []struct {
		name    string
		advance time.Duration
		admit   bool
		lines   int // rate_limited lines in the log after the step
	}{
		{"burst 1", 0, true, 0},
		{"burst 2", 0, true, 0},
		{"burst 3", 0, true, 0},
		{"over: the first refusal writes a line", 0, false, 1},
		{"same burst: no line", 0, false, 1},
		{"same burst, later: no line", 500 * time.Millisecond, false, 1},
		{"a token refilled", 500 * time.Millisecond, true, 1},
		{"empty again, still the same burst", 0, false, 1},
		{"a clock that goes back refills nothing", -time.Hour, false, 1},
		{"and forward again only from where it was", time.Hour + 500*time.Millisecond, false, 1},
		{"one more second", 500 * time.Millisecond, true, 1},
		{"the bucket full again ends the burst", 10 * time.Second, true, 1},
		{"new burst 2", 0, true, 1},
		{"new burst 3", 0, true, 1},
		{"a new burst writes its line", 0, false, 2},
		{"and only one", 0, false, 2},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		err := l.Admit(agentGET("/user"))
		if s.admit && err != nil {
			t.Fatalf("%s: refused: %v", s.name, err)
		}
		if !s.admit && !errors.Is(err, ErrRateLimited) {
			t.Fatalf("%s: err = %v, want ErrRateLimited", s.name, err)
		}
		if n := countDecision(t, l, DecisionRateLimited); n != s.lines {
			t.Fatalf("%s: %d rate_limited lines, want %d", s.name, n, s.lines)
		}
	}
	// The line says what was refused first, by whom, and the numbers.
	evs, _ := l.Read(Filter{Refused: true})
	e := evs[0]
	if e.Caller != CallerAgent || e.Profile != "work" || e.Method != "GET" || e.Path != "/user" || !e.Time.Equal(now0) ||
		!strings.Contains(e.Detail, "3 agent actions at once, then 60 a minute") {
		t.Errorf("rate_limited line = %+v", e)
	}
	fi, err := os.Stat(filepath.Join(dir, RateFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v %v", fi, err)
	}
}

// The owner is never limited, and costs no I/O.
func TestAdmitOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "devicegate")
	l := Open(dir)
	l.Burst = 1
	for i := range 10 {
		for _, caller := range []string{CallerOwner, "", "someone"} {
			if err := l.Admit(Event{Caller: caller, Action: ActionToken}); err != nil {
				t.Fatalf("owner call %d refused: %v", i, err)
			}
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the owner's calls created %s: %v", dir, err)
	}
}

// A state that cannot be kept refuses the agent, and not as a rate limit
// (the agent is not told to slow down for a broken volume).
func TestAdmitFailsClosed(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, RateFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	err := Open(dir).Admit(agentGET("/user"))
	if err == nil || errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v, want an I/O error", err)
	}
}

// A damaged state starts over from a full bucket; a negative or NaN count
// admits nothing until it refills.
func TestAdmitDamagedState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state []byte
		admit bool
	}{
		{"empty", nil, true},
		{"short", []byte("dgr1\x00"), true},
		{"not ours", []byte(strings.Repeat("x", rateStateLen)), true},
		{"negative", encode(bucket{tokens: -5, at: now0.UnixNano()}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, RateFileName), tc.state, 0o600)
			now := now0
			l := Open(dir)
			l.now = fixedClock(&now)
			err := l.Admit(agentGET("/user"))
			if (err == nil) != tc.admit {
				t.Fatalf("err = %v, want admitted %v", err, tc.admit)
			}
		})
	}
}

func encode(b bucket) []byte {
	f, _ := os.CreateTemp("", "bucket")
	defer os.Remove(f.Name())
	defer f.Close()
	writeBucket(f, b)
	out, _ := os.ReadFile(f.Name())
	return out
}

// TestAdmitAcrossProcesses: four processes, two goroutines each, ask at
// once at one frozen instant: exactly Burst are admitted in all, and one
// line records the refusals.
func TestAdmitAcrossProcesses(t *testing.T) {
	if os.Getenv("AUDIT_TEST_CHILD_DIR") != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	const procs, per, burst = 4, 40, 50
	var wg sync.WaitGroup
	admitted := make([]int, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAdmitter$")
			cmd.Env = append(os.Environ(), "AUDIT_TEST_CHILD_DIR="+dir, "AUDIT_TEST_ADMIT="+strconv.Itoa(per), "AUDIT_TEST_BURST="+strconv.Itoa(burst))
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("child %d: %v\n%s", p, err, out)
				return
			}
			for _, f := range strings.Fields(string(out)) {
				if n, ok := strings.CutPrefix(f, "admitted="); ok {
					admitted[p], _ = strconv.Atoi(n)
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range admitted {
		total += n
	}
	if total != burst {
		t.Errorf("%d admitted across processes, want exactly %d", total, burst)
	}
	l := Open(dir)
	if n := countDecision(t, l, DecisionRateLimited); n != 1 {
		t.Errorf("%d rate_limited lines, want 1", n)
	}
}

func TestHelperAdmitter(t *testing.T) {
	dir := os.Getenv("AUDIT_TEST_CHILD_DIR")
	per, _ := strconv.Atoi(os.Getenv("AUDIT_TEST_ADMIT"))
	if dir == "" || per == 0 {
		t.Skip("helper process for TestAdmitAcrossProcesses")
	}
	now := now0
	l := Open(dir)
	l.now = fixedClock(&now)
	l.Burst, _ = strconv.Atoi(os.Getenv("AUDIT_TEST_BURST"))
	var mu sync.Mutex
	var wg sync.WaitGroup
	admitted := 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per / 2 {
				err := l.Admit(agentGET("/user"))
				switch {
				case err == nil:
					mu.Lock()
					admitted++
					mu.Unlock()
				case !errors.Is(err, ErrRateLimited):
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("admitted=%d\n", admitted)
}

// TestFloodKeepsTheDelete is issue 17's attack 7: after a DELETE, the
// agent sends 6,200 GETs with long paths in three minutes to push the
// DELETE out of the log. Each GET goes through Admit and, when admitted,
// is appended, as the gate does.
func TestFloodKeepsTheDelete(t *testing.T) {
	long := "/repos/owner/precious-repo/contents/" + strings.Repeat("a/", 240)
	flood := func(t *testing.T, l *Log, now *time.Time) (admitted int) {
		t.Helper()
		start := *now
		const n = 6200
		for i := range n {
			*now = start.Add(3 * time.Minute * time.Duration(i) / n)
			ev := agentGET(fmt.Sprintf("%s%d", long, i))
			err := l.Admit(ev)
			if errors.Is(err, ErrRateLimited) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			admitted++
			ev.Decision, ev.Status = "allow", 200
			if err := l.Append(ev); err != nil {
				t.Fatal(err)
			}
		}
		return admitted
	}
	deleted := func(t *testing.T, l *Log) bool {
		t.Helper()
		evs, err := l.Read(Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Method == "DELETE" && e.Path == "/repos/owner/precious-repo" {
				return true
			}
		}
		return false
	}
	t.Run("rate limited", func(t *testing.T) {
		now := now0
		l := Open(t.TempDir())
		l.now = fixedClock(&now)
		if err := l.Append(Event{Profile: "work", Caller: CallerAgent, Action: ActionAPI, Decision: "allow_once", Method: "DELETE", Host: "api.github.com", Path: "/repos/owner/precious-repo", Status: 204}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		admitted := flood(t, l, &now)
		// The burst, and 30 a minute for the three minutes.
		if want := DefaultBurst + 3*DefaultRate; admitted < want-1 || admitted > want+1 {
			t.Errorf("%d GETs admitted, want about %d", admitted, want)
		}
		if n := countDecision(t, l, DecisionRateLimited); n != 1 {
			t.Errorf("%d rate_limited lines for one flood, want 1", n)
		}
		if !deleted(t, l) {
			t.Fatal("the DELETE is no longer in the log")
		}
	})
	// Without the rate limit (a generous budget), rotation alone keeps it:
	// the flood fills many generations, none is deleted.
	t.Run("rotation keeps it", func(t *testing.T) {
		now := now0
		l := Open(t.TempDir())
		l.now = fixedClock(&now)
		l.Burst = 10000
		if err := l.Append(Event{Profile: "work", Caller: CallerAgent, Action: ActionAPI, Decision: "allow_once", Method: "DELETE", Host: "api.github.com", Path: "/repos/owner/precious-repo", Status: 204}); err != nil {
			t.Fatal(err)
		}
		if admitted := flood(t, l, &now); admitted != 6200 {
			t.Fatalf("%d admitted", admitted)
		}
		if gens, _ := l.generations(); len(gens) < 2 {
			t.Fatalf("%d generations: the flood did not rotate the log", len(gens))
		}
		if !deleted(t, l) {
			t.Fatal("the DELETE was rotated away")
		}
		// 31 days later the next rotation may drop it.
		now = now.Add(Retention + day)
		l.MaxSize = 1
		if err := l.Append(Event{Profile: "work", Caller: CallerOwner, Action: ActionLogout}); err != nil {
			t.Fatal(err)
		}
		if deleted(t, l) {
			t.Fatal("the DELETE is still there after 31 days")
		}
	})
}
