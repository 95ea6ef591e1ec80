package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var now0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// fixedClock returns a clock the test moves by hand.
func fixedClock(t *time.Time) func() time.Time { return func() time.Time { return *t } }

// writeLines writes lines at the given ages (before now0) to name.
func writeLines(t *testing.T, name string, ages ...time.Duration) {
	t.Helper()
	var b strings.Builder
	for i, age := range ages {
		line, err := Event{Time: now0.Add(-age), Profile: "p", Caller: CallerAgent, Action: ActionAPI, Detail: fmt.Sprintf("%s #%d", filepath.Base(name), i)}.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

const day = 24 * time.Hour

// TestRotationRetention writes generations by hand, makes the next Append
// rotate, and checks which generations are left: only the oldest ones whose
// newest entry is older than 30 days go, oldest first.
func TestRotationRetention(t *testing.T) {
	type gen struct {
		n    int
		ages []time.Duration // nil: the file is written by setup
	}
	tests := []struct {
		name    string
		gens    []gen
		current []time.Duration
		setup   func(t *testing.T, dir string)
		want    []string // generation files left, besides the current log
	}{
		{"all young", []gen{{1, []time.Duration{40 * day, 10 * day}}, {2, []time.Duration{5 * day}}}, []time.Duration{day},
			nil, []string{".1", ".2", ".3"}},
		{"old generations go, oldest first", []gen{{1, []time.Duration{45 * day, 40 * day}}, {2, []time.Duration{35 * day, 31 * day}}, {3, []time.Duration{29 * day}}}, []time.Duration{day},
			nil, []string{".3", ".4"}},
		{"exactly 30 days is kept", []gen{{1, []time.Duration{Retention}}}, []time.Duration{day},
			nil, []string{".1", ".2"}},
		{"a second past 30 days goes", []gen{{1, []time.Duration{Retention + time.Second}}}, []time.Duration{day},
			nil, []string{".2"}},
		{"the newest line counts, not the last", []gen{{1, []time.Duration{31 * day, 5 * day, 40 * day}}}, []time.Duration{day},
			nil, []string{".1", ".2"}},
		{"a young generation stops the pruning", []gen{{1, []time.Duration{40 * day}}, {2, []time.Duration{10 * day}}, {3, []time.Duration{50 * day}}}, []time.Duration{day},
			nil, []string{".2", ".3", ".4"}},
		{"the rotated file itself may go", nil, []time.Duration{50 * day, 40 * day},
			nil, nil},
		{"numbers continue after a gap", []gen{{3, []time.Duration{2 * day}}, {7, []time.Duration{day}}}, []time.Duration{day},
			nil, []string{".3", ".7", ".8"}},
		{"unparseable and old: its time is its last write", []gen{{2, []time.Duration{day}}}, []time.Duration{day},
			func(t *testing.T, dir string) {
				name := filepath.Join(dir, FileName+".1")
				os.WriteFile(name, []byte("not json\n"), 0o600)
				os.Chtimes(name, now0.Add(-40*day), now0.Add(-40*day))
			}, []string{".2", ".3"}},
		{"unparseable and recent is kept", []gen{{2, []time.Duration{day}}}, []time.Duration{day},
			func(t *testing.T, dir string) {
				name := filepath.Join(dir, FileName+".1")
				os.WriteFile(name, []byte("not json\n"), 0o600)
				os.Chtimes(name, now0.Add(-day), now0.Add(-day))
			}, []string{".1", ".2", ".3"}},
		{"unreadable is kept, and so is what follows", []gen{{2, []time.Duration{40 * day}}}, []time.Duration{40 * day},
			func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, FileName+".1"), 0o700) }, []string{".1", ".2", ".3"}},
		{"other names are not generations", []gen{{1, []time.Duration{40 * day}}}, []time.Duration{day},
			func(t *testing.T, dir string) {
				for _, n := range []string{".01", ".-1", ".x", ".1.bak"} {
					writeLines(t, filepath.Join(dir, FileName+n), 90*day)
				}
			}, []string{".-1", ".01", ".1.bak", ".2", ".x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			now := now0
			l := Open(dir)
			l.now = fixedClock(&now)
			for _, g := range tc.gens {
				writeLines(t, l.generation(g.n), g.ages...)
			}
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			writeLines(t, l.Path(), tc.current...)
			fi, _ := os.Stat(l.Path())
			l.MaxSize = fi.Size() // the next line rotates
			if err := l.Append(Event{Profile: "p", Caller: CallerOwner, Action: ActionLogout, Detail: "new"}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, name := range logFiles(t, dir) {
				if name != l.Path() {
					got = append(got, strings.TrimPrefix(filepath.Base(name), FileName))
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("generations left %q, want %q", got, tc.want)
			}
			// The new line is in the current file, alone.
			cur, err := os.ReadFile(l.Path())
			if err != nil || strings.Count(string(cur), "\n") != 1 || !strings.Contains(string(cur), `"detail":"new"`) {
				t.Fatalf("current log %q, %v", cur, err)
			}
		})
	}
}

// TestReadOrderAcrossGenerations: Read returns every generation, oldest
// (lowest number) first, then the current file; Last keeps the newest.
func TestReadOrderAcrossGenerations(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir)
	writeLines(t, l.generation(2), 9*day, 8*day)
	writeLines(t, l.generation(10), 7*day)
	writeLines(t, l.generation(3), 8*day, 7*day+time.Hour)
	writeLines(t, l.Path(), day)
	got, err := l.Read(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range got {
		order = append(order, e.Detail)
	}
	want := []string{"audit.jsonl.2 #0", "audit.jsonl.2 #1", "audit.jsonl.3 #0", "audit.jsonl.3 #1", "audit.jsonl.10 #0", "audit.jsonl #0"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
	for n := 1; n <= 7; n++ {
		last, err := l.Read(Filter{Last: n})
		if err != nil {
			t.Fatal(err)
		}
		k := min(n, len(got))
		for i := range k {
			if last[i].Detail != want[len(want)-k+i] {
				t.Fatalf("Last %d = %v", n, last)
			}
		}
		if len(last) != k {
			t.Fatalf("Last %d: %d events", n, len(last))
		}
	}
}

// TestRetentionOverTime runs the log through 40 days at a small size: what
// is younger than 30 days is always all there.
func TestRetentionOverTime(t *testing.T) {
	dir := t.TempDir()
	now := now0
	l := Open(dir)
	l.now = fixedClock(&now)
	l.MaxSize = 2048
	const perDay = 24
	for d := range 40 {
		for h := range perDay {
			now = now0.Add(time.Duration(d)*day + time.Duration(h)*time.Hour)
			if err := l.Append(Event{Profile: "p", Caller: CallerAgent, Action: ActionAPI, Status: d*perDay + h}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := l.Read(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	oldest := got[0].Time
	if age := now.Sub(oldest); age < Retention {
		t.Fatalf("the oldest entry left is %s old: younger than 30 days was deleted", age)
	}
	// And what is older goes, a generation at a time: no more than one
	// generation's worth (a few days at this size) past 30 days is left.
	if age := now.Sub(oldest); age > Retention+3*day {
		t.Errorf("the oldest entry left is %s old: old generations are not deleted", age)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Status != got[i-1].Status+1 {
			t.Fatalf("a hole in the log: %d then %d", got[i-1].Status, got[i].Status)
		}
	}
}

func TestNewestTimeMissing(t *testing.T) {
	if _, err := newestTime(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}
