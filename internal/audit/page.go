package audit

import (
	"errors"
	"math"
	"strings"
)

// refusals are the decisions that mean something was not done: a policy
// or owner denial, a refused refresh, the rate limit, and the reasons an
// approval ends without a yes (internal/approval's Reason* words). A new
// word for a refusal belongs here, or /audit denied does not show it.
var refusals = map[string]bool{
	"deny":              true,
	"denied":            true,
	"refused":           true,
	DecisionRateLimited: true,
	"timeout":           true,
	"serve_stopped":     true,
	"unavailable":       true,
	"invalid":           true,
	"no_listener":       true,
	"error":             true,
}

// Refused reports whether e records a refusal: something asked for and not
// done (`sidecar audit --denied`, `/audit denied`).
func (e Event) Refused() bool { return refusals[e.Decision] }

// What is the one-line object of an event: the call, the command, the
// tool it came through, the detail.
func (e Event) What() string {
	var parts []string
	if e.Method != "" {
		parts = append(parts, e.Method+" "+e.Host+e.Path)
	}
	if e.Command != "" {
		parts = append(parts, e.Command)
	}
	if e.Via != "" {
		parts = append(parts, "via "+e.Via)
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	return strings.Join(parts, "; ")
}

// Page is one page of the events that match a filter, counted from the
// newest: page 1 holds the newest events.
type Page struct {
	Events []Event // oldest first
	Number int     // this page, from 1
	Pages  int     // how many pages the matching events fill; 0 when none match
	Total  int     // how many events match
}

// ErrNoPage is returned by [Log.Page] for a page past the oldest.
var ErrNoPage = errors.New("no such page")

// Page returns page n (from 1, the newest) of size events that match f,
// f.Last ignored. It reads the whole log once and keeps no more than n ×
// size events in memory. A page past the oldest is an error wrapping
// [ErrNoPage], with Pages and Total set.
func (l *Log) Page(f Filter, size, n int) (Page, error) {
	if size < 1 || n < 1 {
		return Page{}, errors.New("audit: page and size start at 1")
	}
	f.Last = 0
	keep := math.MaxInt
	if n <= math.MaxInt/size {
		keep = size * n
	}
	r := newRing(keep)
	total := 0
	if err := l.scan(f, func(e Event) { r.add(e); total++ }); err != nil {
		return Page{}, err
	}
	p := Page{Number: n, Total: total, Pages: (total + size - 1) / size}
	if total == 0 {
		return p, nil
	}
	if n > p.Pages {
		return p, ErrNoPage
	}
	// The ring holds the newest min(total, n×size) events; this page is
	// the oldest of them, up to size (fewer on the last, oldest page).
	held := r.events()
	take := size
	if rest := total - (n-1)*size; rest < size {
		take = rest
	}
	p.Events = held[:take:take]
	return p, nil
}
