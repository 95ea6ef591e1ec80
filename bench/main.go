// Command bench measures devicegate side by side with the alternatives, in
// one run on one machine, and prints a markdown table (also written to
// docs/BENCHMARKS.md):
//
//   - the two targets, each a ratio of two commands run interleaved:
//     `sidecar token` printing a cached valid token against the floor (a
//     static Go binary that only reads and JSON-decodes the same file;
//     target: at most 2×), and the agent's `docker exec … sidecar token`
//     through the guard against `docker exec … sidecar version` through
//     the guard (target: at most 1.10×; measured by the Docker suite, whose
//     report `make bench` has it write to docs/DOCKER-E2E.md);
//   - the same token printed by a Python script that imports httpx and by
//     `gh auth token`, for scale;
//   - refresh requests the provider sees when 64 processes want an
//     expiring token at once (target: 1);
//   - approval-to-token latency against the polling interval (the floor),
//     and the slow_down answers drawn (target: 0);
//   - the start cost of `sidecar run`'s token proxy (target: ≤ 20 ms);
//   - idle RSS of `sidecar serve` and `sidecar guard`.
//
// Run it with `make bench` (it needs python3-httpx and gh from Debian, and
// the test provider's npm packages).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

func main() {
	runs := flag.Int("runs", 50, "runs per command timing")
	procs := flag.Int("procs", 64, "concurrent processes for the refresh storm")
	out := flag.String("o", "docs/BENCHMARKS.md", "where to write the table (empty: nowhere)")
	flag.Parse()
	if err := run(*runs, *procs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench: error:", err)
		os.Exit(1)
	}
}

type row struct{ what, value, note string }

func run(runs, procs int, out string) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "devicegate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// Built as the image builds them.
	bin := filepath.Join(work, "bin", "sidecar")
	floor := filepath.Join(work, "floor")
	for out, pkg := range map[string]string{bin: "./cmd/sidecar", floor: "./bench/floor"} {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	// 1. A cached valid token.
	rows, err := cachedToken(work, bin, floor, runs)
	if err != nil {
		return err
	}
	// 2. The real provider: latency, slow_down, refresh storm.
	prow, penv, stop, err := withProvider(ctx, work, bin, procs)
	if err != nil {
		return err
	}
	defer stop() // serve, measured idle below, keeps this profile alive
	rows = append(rows, prow...)
	// 3. Idle memory.
	rows = append(rows, idle(work, bin, penv)...)
	return report(rows, runs, out)
}

// withProvider signs in at the real provider and measures the approval's
// latency, the slow_down answers drawn and the refresh storm of procs
// processes that want an expired token at once. It returns the rows and
// the environment of that profile, and stop, which stops the provider.
func withProvider(ctx context.Context, work, bin string, procs int) (rows []row, penv []string, stop func(), err error) {
	srv, err := oidctest.StartProcess(ctx, oidctest.Options{PollInterval: time.Second, SlowDown: true, AccessTokenTTL: 30 * time.Second})
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			srv.Close()
		}
	}()
	pdata := filepath.Join(work, "pdata")
	pa, err := app.New(&config.Config{
		Profiles: map[string]*config.Profile{"default": {Name: "default", Prefix: "OAUTH", Provider: "oidc", Issuer: srv.Issuer, ClientID: srv.PublicClientID, Scopes: "openid profile email offline_access"}},
		Order:    []string{"default"},
		DataDir:  filepath.Join(pdata, "devicegate"),
		Sidecar:  config.Sidecar{HTTPTimeout: config.Duration(10 * time.Second)},
	})
	if err != nil {
		return nil, nil, nil, err
	}
	pstore := pa.Store
	s, err := pa.Open("")
	if err != nil {
		return nil, nil, nil, err
	}
	var approved time.Time
	e, err := s.Login(ctx, session.LoginOptions{Display: func(_ context.Context, c deviceflow.Code) error {
		go func() {
			time.Sleep(1500 * time.Millisecond) // the person takes a moment
			srv.Approve(ctx, c.UserCode, oidctest.ApproveOptions{})
			approved = time.Now()
		}()
		return nil
	}})
	if err != nil {
		return nil, nil, nil, err
	}
	latency := time.Since(approved)
	st, _ := srv.Stats(ctx)
	rows = append(rows,
		row{"approval → token", ms(latency), "bounded by the polling interval (1 s here): the next poll after approval succeeds"},
		row{"`slow_down` answers drawn", strconv.Itoa(st.SlowDownResponses), "the provider answers slow_down to any poll faster than the interval"})

	// Make the cached access token expired (the refresh token stays good),
	// as after a night without use.
	e.Expiry = time.Now().Add(-time.Second)
	if err := pstore.Save(e); err != nil {
		return nil, nil, nil, err
	}
	srv.ResetStats(ctx)
	penv = append(os.Environ(), "XDG_DATA_HOME="+pdata, "OAUTH_PROVIDER=oidc", "OAUTH_ISSUER="+srv.Issuer, "OAUTH_CLIENT_ID="+srv.PublicClientID)
	var wg sync.WaitGroup
	fails := 0
	var mu sync.Mutex
	start := time.Now()
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.Command(bin, "token", "--min-ttl", "5s")
			c.Env = penv
			if c.Run() != nil {
				mu.Lock()
				fails++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	storm := time.Since(start)
	st, _ = srv.Stats(ctx)
	rows = append(rows, row{fmt.Sprintf("refresh requests, %d processes at once want an expired token", procs), strconv.Itoa(st.RefreshRequests),
		fmt.Sprintf("%d invalid_grant, %d failed processes, all done in %s", st.InvalidGrantResponses, fails, storm.Round(time.Millisecond))})

	return rows, penv, func() { srv.Close() }, nil
}

// cachedToken times printing a cached valid token: sidecar token beside
// the floor, then Python + httpx and gh.
func cachedToken(work, bin, floor string, runs int) ([]row, error) {
	var rows []row
	data := filepath.Join(work, "data")
	store, _ := tokencache.Open(filepath.Join(data, "devicegate"), nil)
	if err := store.Save(&tokencache.Entry{Profile: "default", Provider: "github", AccessToken: "gho_benchmarkbenchmarkbenchmark0123456",
		TokenType: "bearer", Expiry: time.Now().Add(2 * time.Hour), ScopesGranted: []string{"repo"}}); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "XDG_DATA_HOME="+data, "OAUTH_PROVIDER=github", "OAUTH_CLIENT_ID=Iv1.bench")
	// As the agent runs it through the guard: marked, so the rate limit
	// and the policy (here allowing the token) are read too.
	agent := append(slices.Clip(env), audit.CallerVar+"="+audit.CallerAgent, "OAUTH_POLICY=allow token")
	ours, base, err := timePair(4*runs, agent, []string{bin, "token"}, []string{floor})
	if err != nil {
		return nil, err
	}
	rows = append(rows,
		row{"`sidecar token`, cached valid token, as the agent (median)", ms(ours), "the whole program: configuration, rate limit, policy, cache, audit line, print"},
		row{"floor: a static Go binary that reads and JSON-decodes the same file (median)", ms(base),
			fmt.Sprintf("run interleaved with `sidecar token`: **%.2f×** the floor (target ≤ 2×)", float64(ours)/float64(base))})
	// `sidecar run` with and without its proxy: "true" is given the raw
	// token by the policy, "/bin/true" (another program name) placeholders,
	// HTTPS_PROXY and the run's CA.
	renv := append(slices.Clip(env), "OAUTH_POLICY=allow run true with-token")
	if proxied, raw, err := timePair(runs, renv, []string{bin, "run", "--", "/bin/true"}, []string{bin, "run", "--", "true"}); err == nil {
		rows = append(rows, row{"`sidecar run` with the token proxy, start to exit (median)", ms(proxied),
			fmt.Sprintf("%s more than with the raw token (%s): the proxy's start cost (target ≤ 20 ms)", ms(proxied-raw), ms(raw))})
	} else {
		rows = append(rows, row{"`sidecar run` with the token proxy", "n/a", oneLine(err)})
	}
	if py, err := timeIt(runs, env, "/usr/bin/python3", "bench/httpx_sidecar.py"); err == nil {
		rows = append(rows, row{"Python + httpx, same cache (median)", ms(py), fmt.Sprintf("`sidecar token` is %.0f× faster", float64(py)/float64(ours))})
	} else {
		rows = append(rows, row{"Python + httpx, same cache", "n/a", "needs Debian's python3-httpx: " + oneLine(err)})
	}
	ghDir := filepath.Join(work, "gh")
	os.MkdirAll(ghDir, 0o700)
	os.WriteFile(filepath.Join(ghDir, "hosts.yml"), []byte("github.com:\n    oauth_token: gho_benchmarkbenchmarkbenchmark0123456\n    user: bench\n    git_protocol: https\n"), 0o600)
	if gh, err := timeIt(runs, append(env, "GH_CONFIG_DIR="+ghDir, "GH_NO_UPDATE_NOTIFIER=1"), "gh", "auth", "token"); err == nil {
		rows = append(rows, row{"`gh auth token`, its own cached login (median)", ms(gh), fmt.Sprintf("`sidecar token` is %.1f× faster", float64(gh)/float64(ours))})
	} else {
		rows = append(rows, row{"`gh auth token`", "n/a", "needs Debian's gh: " + oneLine(err)})
	}
	return rows, nil
}

// idle measures the resting memory of the long-running commands and the
// binary's size.
func idle(work, bin string, env []string) []row {
	var rows []row
	if rss, err := idleRSS(bin, env, "serve"); err == nil {
		rows = append(rows, row{"idle RSS of `sidecar serve`", fmt.Sprintf("%.1f MiB", rss), ""})
	}
	genv := append(os.Environ(), "GUARD_LISTEN="+filepath.Join(work, "guard.sock"), "GUARD_UPSTREAM="+filepath.Join(work, "docker.sock"))
	if rss, err := idleRSS(bin, genv, "guard"); err == nil {
		rows = append(rows, row{"idle RSS of `sidecar guard`", fmt.Sprintf("%.1f MiB", rss), ""})
	}
	if fi, err := os.Stat(bin); err == nil {
		rows = append(rows, row{"`sidecar` (static, stripped)", fmt.Sprintf("%.1f MiB", float64(fi.Size())/(1<<20)), ""})
	}
	return rows
}

// report prints the table and writes it to out.
func report(rows []row, runs int, out string) error {
	var b bytes.Buffer
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Benchmarks\n\nMeasured by `make bench` on %s (%s/%s, %d CPUs, %s), %s. Medians of %d runs.\n\n",
		host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format("2006-01-02"), runs)
	extra, _ := os.ReadFile("docs/DOCKER-E2E.md")
	b.WriteString("Targets (each a ratio of medians of two commands run interleaved):\n\n")
	b.WriteString("| ratio | measured | target |\n| --- | --- | --- |\n")
	fmt.Fprintf(&b, "| `sidecar token` / the floor, cached valid token | %s | ≤ 2× |\n", tokenRatio(rows))
	fmt.Fprintf(&b, "| `docker exec … sidecar token` / `docker exec … sidecar version`, both through the guard | %s | ≤ 1.10× |\n\n", guardRatio(extra))
	b.WriteString("| measurement | value | note |\n| --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.what, r.value, r.note)
	}
	if len(extra) > 0 {
		// The Docker suite's report, one heading level down.
		b.WriteString("\n#" + string(extra))
	}
	os.Stdout.Write(b.Bytes())
	if out != "" {
		os.MkdirAll(filepath.Dir(out), 0o755)
		return os.WriteFile(out, b.Bytes(), 0o644)
	}
	return nil
}

// timeIt runs a command n times (after one warm-up) and returns the median
// wall time. Its output is discarded: it may be a token.
func timeIt(n int, env []string, name string, args ...string) (time.Duration, error) {
	var d []time.Duration
	for i := range n + 1 {
		c := exec.Command(name, args...)
		c.Env = env
		var errb bytes.Buffer
		c.Stderr = &errb
		t := time.Now()
		if err := c.Run(); err != nil {
			return 0, fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(errb.String()))
		}
		if i > 0 {
			d = append(d, time.Since(t))
		}
	}
	slices.Sort(d)
	return d[len(d)/2], nil
}

// timePair runs two commands alternately n times each (after a warm-up of
// each) and returns their median wall times. Alternating keeps a change in
// the machine's load from favouring one of them.
func timePair(n int, env []string, a, b []string) (time.Duration, time.Duration, error) {
	var da, db []time.Duration
	for i := range n + 1 {
		for _, c := range []struct {
			argv []string
			d    *[]time.Duration
		}{{a, &da}, {b, &db}} {
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Env = env
			var errb bytes.Buffer
			cmd.Stderr = &errb
			t := time.Now()
			if err := cmd.Run(); err != nil {
				return 0, 0, fmt.Errorf("%s: %v: %s", c.argv[0], err, strings.TrimSpace(errb.String()))
			}
			if i > 0 {
				*c.d = append(*c.d, time.Since(t))
			}
		}
	}
	slices.Sort(da)
	slices.Sort(db)
	return da[len(da)/2], db[len(db)/2], nil
}

// oneLine is err for a table cell: one line, its last (a traceback's
// closing line is the one that says what failed), at most 200 bytes.
func oneLine(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	first, _, _ := strings.Cut(lines[0], ":")
	msg := first + ": " + strings.TrimSpace(lines[len(lines)-1])
	if len(lines) == 1 {
		msg = lines[0]
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return strings.ReplaceAll(msg, "|", "\\|")
}

// tokenRatio finds the ratio cachedToken measured, in bold in its row.
func tokenRatio(rows []row) string {
	for _, r := range rows {
		if _, rest, ok := strings.Cut(r.note, "**"); ok {
			v, _, _ := strings.Cut(rest, "**")
			return v
		}
	}
	return "n/a"
}

// guardRatio finds the Docker suite's ratio in its report.
func guardRatio(report []byte) string {
	const prefix = "Ratio of the medians, token / version through the guard: "
	for _, line := range strings.Split(string(report), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSpace(v) + "×"
		}
	}
	return "n/a (run the Docker suite with DOCKER_E2E_REPORT=docs/DOCKER-E2E.md first)"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func idleRSS(bin string, env []string, args ...string) (float64, error) {
	c := exec.Command(bin, args...)
	c.Env = env
	if err := c.Start(); err != nil {
		return 0, err
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	time.Sleep(2 * time.Second)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(rest)[0])
			return float64(kb) / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}
