package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
)

const runUsage = `usage: sidecar run [--profile P] [--env NAME]... -- CMD [ARGS...]

Runs CMD with a valid access token in ACCESS_TOKEN (and the provider's usual
variable, e.g. GH_TOKEN for GitHub, plus every --env NAME). Standard input,
output and error are passed through; the exit code is CMD's.`

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// runFlags are the flags of `sidecar run`. The guard reads the same command
// line to find the program (dockerguard.SidecarRunTool):
// TestGuardKnowsRunFlags keeps the two in step.
type runFlags struct {
	fs      *flag.FlagSet
	profile *string
	names   cli.Strings
	minTTL  *time.Duration
}

func newRunFlags(stderr io.Writer) *runFlags {
	f := &runFlags{fs: cli.NewFlags("run", stderr, runUsage)}
	f.profile = f.fs.String("profile", "", "profile")
	f.fs.Var(&f.names, "env", "also put the token in this variable (repeatable)")
	f.minTTL = f.fs.Duration("min-ttl", 60*time.Second, "refresh when the token expires within this")
	return f
}

func runCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newRunFlags(stderr)
	// Flags end at the first positional argument or "--": everything after
	// belongs to CMD (`sidecar run gh api -X GET /user` must not eat -X).
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitcode.OK
		}
		return cli.Report(stderr, prog, cli.Usagef("run: %v", err))
	}
	argv := f.fs.Args()
	if len(argv) == 0 {
		return cli.Report(stderr, prog, cli.Usagef("run needs a command: sidecar run -- CMD [ARGS...]"))
	}
	for _, n := range f.names {
		if !envName.MatchString(n) {
			return cli.Report(stderr, prog, cli.Usagef("--env %q is not a valid variable name", n))
		}
	}
	if *f.minTTL < 0 {
		return cli.Report(stderr, prog, cli.Usagef("--min-ttl must not be negative"))
	}
	s, err := openDetached(*f.profile)
	if err != nil {
		return cli.Report(stderr, prog, err)
	}
	// Refresh first when the token expires within --min-ttl: the tool
	// cannot refresh it, and a long command needs it to last.
	e, err := validToken(ctx, s, *f.minTTL, stderr)
	if err != nil {
		return cli.Report(stderr, prog, err)
	}
	vars, err := toolEnv(ctx, s, e, f.names)
	if err != nil {
		return cli.Report(stderr, prog, err)
	}
	env := append(childEnv(os.Environ()), vars...)

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		return cli.Report(stderr, prog, exitcode.With(127, errors.New("cannot run "+argv[0]+": "+err.Error())))
	}
	// Pass signals on, so CMD can clean up; we exit when it does.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	if err == nil {
		return exitcode.OK
	}
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		if ws, ok := xe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()) // as a shell reports it
		}
		return xe.ExitCode()
	}
	return cli.Report(stderr, prog, err)
}

// ourVars are the prefixes of our own configuration. None of it is for
// the tool, and among it are our secrets and their _FILE paths
// (SIDECAR_CACHE_KEY, TELEGRAM_BOT_TOKEN, OAUTH_CLIENT_SECRET,
// OAUTH_<PROFILE>_CLIENT_SECRET): dropping whole families also covers the
// secrets that a new preset adds later.
var ourVars = []string{"SIDECAR_", "OAUTH_", "TELEGRAM_", "GUARD_"}

// childEnv drops our own configuration, and a stale ACCESS_TOKEN, from the
// environment CMD inherits: it gets the token, not the cache key, the client
// secret or the bot token. Names are compared in upper case, as a shell on
// another system might see them.
func childEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		up := strings.ToUpper(name)
		if up == "ACCESS_TOKEN" || slices.ContainsFunc(ourVars, func(p string) bool { return strings.HasPrefix(up, p) }) {
			continue
		}
		out = append(out, kv)
	}
	return out
}
