package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
)

// soakFor is how long TestRotationSoak runs: 15 s in CI, several minutes
// with `make soak` (DEVICEGATE_SOAK=5m).
func soakFor() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("DEVICEGATE_SOAK")); err == nil && d > 0 {
		return d
	}
	return 15 * time.Second
}

// TestRotationSoak: access tokens live 6 s, refresh tokens rotate with
// reuse detection, and 64 workers call token, run and api without pause.
// No call may fail, the provider must never answer invalid_grant, and each
// token is refreshed once: refreshes stay at one per (lifetime - min-ttl).
func TestRotationSoak(t *testing.T) {
	t.Parallel()
	const ttl, minTTL, workers = 6 * time.Second, 3 * time.Second, 64
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second, AccessTokenTTL: ttl})
	env := cliEnv(t, srv)
	ctx := context.Background()
	if _, code, stderr := loginJSON(t, env, func(ev cli.Event) { srv.Approve(ctx, ev.UserCode, oidctest.ApproveOptions{}) }); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	srv.ResetStats(ctx)
	d := soakFor()
	deadline := time.Now().Add(d)
	start := time.Now()
	var calls, failures atomic.Int64
	var mu sync.Mutex
	var firstFailure string
	var wg sync.WaitGroup
	cmds := [][]string{
		{"token", "--min-ttl", minTTL.String()},
		{"run", "--min-ttl", minTTL.String(), "--", "sh", "-c", `test -n "$ACCESS_TOKEN"`},
		{"api", "--min-ttl", minTTL.String(), "/me"},
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				c := exec.Command("sidecar", cmds[(w+i)%len(cmds)]...)
				c.Env = env
				out, err := c.CombinedOutput()
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					mu.Lock()
					if firstFailure == "" {
						firstFailure = strings.Join(cmds[(w+i)%len(cmds)], " ") + ": " + err.Error() + ": " + lastLine(string(out))
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	st, err := srv.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if failures.Load() > 0 || st.InvalidGrantResponses > 0 {
		t.Fatalf("%d of %d calls failed, %d invalid_grant; first failure: %s", failures.Load(), calls.Load(), st.InvalidGrantResponses, firstFailure)
	}
	// One refresh per expiry: a token is refreshed once it has less than
	// min-ttl left, so refreshes come every (ttl - min-ttl) at most.
	period := ttl - minTTL
	most := int(math.Ceil(float64(elapsed)/float64(period))) + 1
	least := int(float64(elapsed)/float64(ttl)) - 1
	if st.RefreshRequests > most || st.RefreshRequests < least {
		t.Fatalf("%d refreshes in %s; want between %d and %d (one per expiry)", st.RefreshRequests, elapsed.Round(time.Second), least, most)
	}
	t.Logf("%d calls by %d processes in %s: %d refreshes (at most %d possible), 0 invalid_grant, 0 failures",
		calls.Load(), workers, elapsed.Round(time.Second), st.RefreshRequests, most)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
