package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// crashRuns is how many processes TestCrashConsistency kills; CI runs a
// few dozen, `make soak` runs 500 (DEVICEGATE_CRASH_RUNS=500).
func crashRuns() int {
	if n, err := strconv.Atoi(os.Getenv("DEVICEGATE_CRASH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 40
}

// TestCrashConsistency kills `sidecar token` with SIGKILL at random moments
// while it refreshes and writes the cache, plaintext and encrypted.
// Afterwards the cache always decodes and the session is never lost: the
// refresh token in the cache is one the provider still accepts. (The
// refresh runs in a detached process that the kill does not reach; see
// internal/detach.)
func TestCrashConsistency(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	ctx := context.Background()
	for _, encrypted := range []bool{false, true} {
		name := map[bool]string{false: "plaintext", true: "encrypted"}[encrypted]
		t.Run(name, func(t *testing.T) {
			key := ""
			var raw []byte
			if encrypted {
				key = tokencache.NewKey()
				raw, _ = tokencache.ParseKey(key)
			}
			env := cliEnv(t, srv, "SIDECAR_CACHE_KEY="+key)
			data := ""
			for _, kv := range env {
				if v, ok := cutPrefix(kv, "XDG_DATA_HOME="); ok {
					data = filepath.Join(v, "devicegate")
				}
			}
			store, _ := tokencache.Open(data, raw)
			signIn := func() {
				t.Helper()
				if _, code, stderr := loginJSON(t, env, func(ev cli.Event) { srv.Approve(ctx, ev.UserCode, oidctest.ApproveOptions{}) }); code != 0 {
					t.Fatalf("login: %s", stderr)
				}
			}
			signIn()
			runs := crashRuns()
			killedBeforeProvider, completed := 0, 0
			for i := range runs {
				before, err := store.Load("default")
				if err != nil {
					t.Fatal(err)
				}
				srv.ResetStats(ctx)
				cmd := exec.Command("sidecar", "token", "--min-ttl", "2h") // always wants a refresh
				cmd.Env = env
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(rand.IntN(30_000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				err = cmd.Wait()
				if err == nil {
					completed++
				}
				after, err := store.Load("default")
				if err != nil {
					t.Fatalf("run %d: the cache does not decode after kill -9: %v", i, err)
				}
				st, _ := srv.Stats(ctx)
				// Is the session alive? A clean run must refresh (or find
				// the refresh done) without invalid_grant.
				check := exec.Command("sidecar", "token", "--min-ttl", "2h")
				check.Env = env
				alive := check.Run() == nil
				if !alive {
					t.Fatalf("run %d: session lost (the provider saw %d refreshes; the cache moved on: %v)",
						i, st.RefreshRequests, after.RefreshToken != before.RefreshToken)
				}
				if st.RefreshRequests == 0 {
					killedBeforeProvider++
				}
			}
			t.Logf("%s: %d kills: %d before the refresh reached the provider, %d completed anyway, 0 sessions lost",
				name, runs, killedBeforeProvider, completed)
		})
	}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}
