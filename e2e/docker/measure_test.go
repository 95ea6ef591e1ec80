//go:build dockere2e && linux

package docker

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// measureRuns is how often each command is timed: 50, as one round trip
// varies by tens of milliseconds on a busy machine and the ratio of the
// medians is held to 1.10.
const measureRuns = 50

// measurements are recorded, not asserted: timings depend on the machine.
type measurements struct {
	build     time.Duration
	imageSize string // bytes, as the engine reports it
	rows      []timing
	token     string // one access token, for the leak scan only
}

// timing is the round trips of one command.
type timing struct {
	what   string
	median time.Duration
	min    time.Duration
	max    time.Duration
}

func summarize(what string, d []time.Duration) timing {
	slices.Sort(d)
	med := d[len(d)/2]
	if len(d)%2 == 0 {
		med = (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	return timing{what: what, median: med, min: d[0], max: d[len(d)-1]}
}

// measure times `docker exec myapp-sidecar-1 sidecar token` (a cached token:
// read and decrypt the cache) against `sidecar version` (a near no-op in the
// same container), both through the guard, runs interleaved. The same
// no-op straight to the engine shows what the guard adds.
func (s *stack) measure(t *testing.T, m *measurements) {
	type probe struct {
		what string
		c    command
		host bool
		d    []time.Duration
	}
	probes := []*probe{
		{what: "`sidecar token` through the guard", c: command{args: []string{"exec", sidecarName, "sidecar", "token"}, quiet: true, secret: true}},
		{what: "`sidecar version` through the guard", c: command{args: []string{"exec", sidecarName, "sidecar", "version"}, quiet: true}},
		{what: "`sidecar version` on the engine socket", c: command{args: []string{"exec", sidecarName, "sidecar", "version"}, quiet: true}, host: true},
	}
	// One unmeasured round first: caches, connections, page cache.
	for i := -1; i < measureRuns; i++ {
		for _, p := range probes {
			start := time.Now()
			var r result
			if p.host {
				r = s.host(t, p.c)
			} else {
				r = s.agent(t, p.c)
			}
			d := time.Since(start)
			if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
				t.Fatalf("%s: %s", p.what, r)
			}
			if p.c.secret {
				m.token = strings.TrimSpace(r.stdout)
			}
			if i >= 0 {
				p.d = append(p.d, d)
			}
		}
	}
	for _, p := range probes {
		m.rows = append(m.rows, summarize(p.what, p.d))
	}
}

// report logs the measurements and writes them, as Markdown, to the file
// DOCKER_E2E_REPORT names.
func (m *measurements) report(t *testing.T) {
	var b strings.Builder
	b.WriteString("# devicegate: Docker end-to-end measurements\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", time.Now().UTC().Format(time.RFC3339))
	if n, err := strconv.ParseInt(m.imageSize, 10, 64); err == nil {
		fmt.Fprintf(&b, "- Runtime image `%s`: %d bytes (%.1f MiB)\n", image, n, float64(n)/(1<<20))
	}
	if m.build > 0 {
		fmt.Fprintf(&b, "- `docker compose build sidecar`: %s\n", m.build.Round(100*time.Millisecond))
	}
	if len(m.rows) > 0 {
		fmt.Fprintf(&b, "\nRound trips of `docker exec %s ...`, %d runs each, interleaved:\n\n", sidecarName, measureRuns)
		b.WriteString("| command | median | min | max |\n|---|---|---|---|\n")
		for _, r := range m.rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.what, ms(r.median), ms(r.min), ms(r.max))
		}
	}
	if len(m.rows) >= 2 && m.rows[1].median > 0 {
		fmt.Fprintf(&b, "\nRatio of the medians, token / version through the guard: %.2f\n",
			float64(m.rows[0].median)/float64(m.rows[1].median))
	}
	t.Logf("\n%s", b.String())
	if path := os.Getenv("DOCKER_E2E_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Errorf("DOCKER_E2E_REPORT: %v", err)
		}
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// testNoLeak looks for the access token in everything the suite saw: the
// commands' output, the chat, and the logs of both containers.
func (s *stack) testNoLeak(t *testing.T, token string) {
	if len(token) < 16 {
		t.Skip("no token was read")
	}
	for _, name := range []string{sidecarName, guardName} {
		s.host(t, command{args: []string{"logs", name}, quiet: true})
	}
	for _, m := range s.tg.Chat(chatID) {
		s.remember(m.Text + "\n" + m.Raw)
		for _, h := range m.History {
			s.remember(h.Text + "\n" + h.Raw)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, out := range s.seen {
		if strings.Contains(out, token) {
			t.Error("an access token was printed, logged or sent to the chat")
			return
		}
	}
	t.Logf("checked %d outputs", len(s.seen))
}
