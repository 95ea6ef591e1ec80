package audit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestPage(t *testing.T) {
	dir := t.TempDir()
	l := Open(dir)
	l.MaxSize = 1500 // several generations
	// 25 events; every fifth (0, 5, ...) is a denial.
	for i := range 25 {
		e := Event{Time: now0.Add(time.Duration(i) * time.Minute), Profile: "p", Caller: CallerAgent, Action: ActionAPI, Decision: "allow", Status: i}
		if i%5 == 0 {
			e.Decision = "deny"
		}
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		f          Filter
		size, n    int
		want       []int // statuses
		pages, tot int
		wantErr    error
	}{
		{"newest page", Filter{}, 10, 1, seq(15, 25), 3, 25, nil},
		{"the page before", Filter{}, 10, 2, seq(5, 15), 3, 25, nil},
		{"the oldest page is short", Filter{}, 10, 3, seq(0, 5), 3, 25, nil},
		{"past the oldest", Filter{}, 10, 4, nil, 3, 25, ErrNoPage},
		{"far past the oldest", Filter{}, 10, 1 << 40, nil, 3, 25, ErrNoPage},
		{"one page holds all", Filter{}, 100, 1, seq(0, 25), 1, 25, nil},
		{"refusals", Filter{Refused: true}, 2, 1, []int{15, 20}, 3, 5, nil},
		{"refusals, oldest", Filter{Refused: true}, 2, 3, []int{0}, 3, 5, nil},
		{"Last is ignored", Filter{Last: 1}, 10, 1, seq(15, 25), 3, 25, nil},
		{"nothing matches", Filter{Profile: "other"}, 10, 1, nil, 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := l.Page(tc.f, tc.size, tc.n)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if p.Pages != tc.pages || p.Total != tc.tot {
				t.Errorf("pages %d total %d, want %d %d", p.Pages, p.Total, tc.pages, tc.tot)
			}
			var got []int
			for _, e := range p.Events {
				got = append(got, e.Status)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("page = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := l.Page(Filter{}, 0, 1); err == nil {
		t.Error("size 0 accepted")
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestRefused(t *testing.T) {
	for d, want := range map[string]bool{
		"deny": true, "rate_limited": true, "timeout": true, "no_listener": true, "serve_stopped": true, "refused": true,
		"allow": false, "allow_once": false, "allow_1h": false, "grant": false, "owner": false, "ok": false, "": false,
	} {
		if got := (Event{Decision: d}).Refused(); got != want {
			t.Errorf("Refused(%q) = %v", d, got)
		}
	}
}

// FuzzLineTime holds the fast time reader of rotation to ParseLine: where
// a line parses, both read the same time.
func FuzzLineTime(f *testing.F) {
	f.Add([]byte(`{"time":"2026-12-01T12:00:00.123456789Z","profile":"p","caller":"agent","action":"api"}`))
	f.Add([]byte(`{"time":"2026-12-01T12:00:00+02:00","action":"api"}`))
	f.Add([]byte(`{"action":"api","time":"2026-12-01T12:00:00Z"}`))
	f.Add([]byte(`{"time":"x"`))
	f.Fuzz(func(t *testing.T, line []byte) {
		got, ok := lineTime(line)
		e, err := ParseLine(line)
		if err == nil && (!ok || !got.Equal(e.Time)) {
			t.Fatalf("lineTime = %v, %v; ParseLine time %v", got, ok, e.Time)
		}
	})
}
