package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/confine"
	"github.com/devicegate/devicegate/internal/dockerguard"
	"github.com/devicegate/devicegate/internal/envname"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/redact"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const runUsage = `usage: sidecar run [--profile P] [--scope 'S1 S2'] [--env NAME]... [--min-ttl D] -- CMD [ARGS...]

Runs CMD with an access token valid for --min-ttl (default 60s; refreshed
first otherwise) in ACCESS_TOKEN, the provider's usual variables (GH_TOKEN
for GitHub, ...) and every --env NAME; with --scope, a token for just those
scopes. For an aws profile CMD gets role credentials instead:
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (and
AWS_DEFAULT_REGION). CMD gets none of sidecar's own configuration and cannot
read the token cache or the secret files. Standard
input, output and error are passed through; the exit code is CMD's.`

// runFlags are the flags of `sidecar run`. The guard reads the same command
// line to find the program (dockerguard.SidecarRunTool):
// TestGuardKnowsRunFlags keeps the two in step.
type runFlags struct {
	fs      *flag.FlagSet
	profile *string
	names   cli.Strings
	minTTL  *time.Duration
	scope   *string
}

func newRunFlags(stderr io.Writer) *runFlags {
	f := &runFlags{fs: cli.NewFlags("run", stderr, runUsage)}
	f.profile = f.fs.String("profile", "", "profile")
	f.fs.Var(&f.names, "env", "also put the token in this variable (repeatable)")
	f.minTTL = f.fs.Duration("min-ttl", 60*time.Second, "refresh when the token expires within this")
	f.scope = f.fs.String("scope", "", "a token for just these scopes (space separated)")
	return f
}

// runCmd is `sidecar run`: it returns CMD's exit code, or ours when CMD
// never started.
func runCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newRunFlags(stderr)
	// Flags end at the first positional argument or "--": everything after
	// belongs to CMD (`sidecar run gh api -X GET /user` must not eat -X).
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitcode.OK
		}
		return prog.Report(stderr, cli.FlagError(f.fs, err))
	}
	argv := f.fs.Args()
	scopes, err := f.check(argv)
	if err != nil {
		return prog.Report(stderr, err)
	}
	s, err := openDetached(*f.profile)
	if err != nil {
		return prog.Report(stderr, err)
	}
	// CMD gets the raw token: the gate decides first.
	pass, err := gateFor(s, "").Check(ctx, gate.Action{Kind: gate.Run, Argv: argv})
	if err != nil {
		return prog.Report(stderr, err)
	}
	var vars, secrets []string
	if s.Provider.AWS != nil {
		vars, err = awsEnv(ctx, s, *f.minTTL, scopes, f.names)
		secrets = values(vars, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
	} else {
		// Refresh first when the token expires within --min-ttl: the tool
		// cannot refresh it, and a long command needs it to last.
		var t *tokencache.ScopedToken
		if t, err = validToken(ctx, s, *f.minTTL, scopes, stderr); err == nil {
			vars, err = toolEnv(ctx, s, t.AccessToken, f.names)
			secrets = []string{t.AccessToken}
		}
	}
	if err != nil {
		return prog.Report(stderr, err)
	}
	// The agent gets CMD's output, not the token in it (`gh auth token`,
	// `env`): every occurrence is masked (internal/redact). The owner's own
	// commands pass through untouched, terminal and all.
	out, errOut := stdout, stderr
	if s.Caller == audit.CallerAgent {
		mo, me := redact.NewWriter(stdout, secrets...), redact.NewWriter(stderr, secrets...)
		defer mo.Flush()
		defer me.Flush()
		out, errOut = mo, me
	}
	hide := append([]string{s.Store.Dir()}, secretFiles(os.Environ())...)
	cmd, err := startConfined(argv, hide, append(childEnv(os.Environ()), vars...), stdin, out, errOut)
	if err != nil {
		return prog.Report(stderr, err)
	}
	record(pass, stderr)
	return wait(cmd, stderr)
}

// values returns the values of the named variables in vars.
func values(vars []string, names ...string) []string {
	var out []string
	for _, kv := range vars {
		if k, v, _ := strings.Cut(kv, "="); slices.Contains(names, k) {
			out = append(out, v)
		}
	}
	return out
}

// check validates what the flags and CMD say before anything is opened,
// and returns the --scope scopes.
func (f *runFlags) check(argv []string) ([]string, error) {
	if len(argv) == 0 {
		return nil, cli.Usagef("run needs a command: sidecar run -- CMD [ARGS...]")
	}
	for _, n := range f.names {
		if !envname.Valid(n) {
			return nil, cli.Usagef("--env %q is not a valid variable name", n)
		}
		// The token under PATH, HTTPS_PROXY or OAUTH_TOKEN_URL would steer
		// the tool (or a sidecar it starts) rather than authenticate it:
		// the names the guard protects are refused here too.
		if dockerguard.ProtectedEnv(n) {
			return nil, cli.Usagef("--env %s: a protected name (it configures how programs run or whom they trust); pick another name for the token", n)
		}
	}
	if *f.minTTL < 0 {
		return nil, cli.Usagef("--min-ttl must not be negative")
	}
	return parseScopes(*f.scope)
}

// startConfined starts CMD as `sidecar __confined`, which hides the paths
// in hide (the token cache and our secret files) from it and then becomes
// CMD: the same process, so signals and the exit status are CMD's. A CMD
// that cannot be found or started is exit 127, as in a shell.
func startConfined(argv, hide, env []string, stdin io.Reader, stdout, stderr io.Writer) (*exec.Cmd, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		return nil, cli.Exit(127, errors.New("cannot run "+argv[0]+": "+err.Error()))
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the sidecar binary: %w", err)
	}
	cargs := append([]string{confinedCmd, strconv.Itoa(len(hide))}, hide...)
	cargs = append(append(cargs, path), argv...)
	cmd := exec.Command(self, cargs...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		return nil, cli.Exit(127, errors.New("cannot run "+argv[0]+": "+err.Error()))
	}
	return cmd, nil
}

// wait passes our signals on to CMD, so it can clean up, and returns its
// exit code once it exits (128 + the signal when one killed it, as a
// shell reports it).
func wait(cmd *exec.Cmd, stderr io.Writer) int {
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
	err := cmd.Wait()
	close(done)
	if err == nil {
		return exitcode.OK
	}
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		if ws, ok := xe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return xe.ExitCode()
	}
	return prog.Report(stderr, err)
}

// confinedCmd is the hidden subcommand that CMD starts as:
//
//	sidecar __confined N HIDDEN_1 ... HIDDEN_N PATH ARGV...
//
// It hides the N paths (internal/confine) and execs PATH with ARGV.
const confinedCmd = "__confined"

func confinedChild(args []string, stderr io.Writer) int {
	if len(args) < 1 {
		return prog.Report(stderr, cli.Usagef("%s is for sidecar run only", confinedCmd))
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 || len(args) < 1+n+2 {
		return prog.Report(stderr, cli.Usagef("%s is for sidecar run only", confinedCmd))
	}
	hide, path, argv := args[1:1+n], args[1+n], args[2+n:]
	err = confine.Exec(hide, path, argv, os.Environ(), func(err error) {
		fmt.Fprintf(stderr, "%s: warning: %s can read the token cache and our secret files: %v\n", prog, argv[0], err)
	})
	// Exec returns only when it failed.
	return prog.Report(stderr, cli.Exit(126, fmt.Errorf("cannot run %s: %w", argv[0], err)))
}

// secretFiles returns the files our secrets are read from: the values of
// our own *_FILE variables (SIDECAR_CACHE_KEY_FILE, TELEGRAM_BOT_TOKEN_FILE,
// OAUTH_CLIENT_SECRET_FILE, OAUTH_<PROFILE>_CLIENT_SECRET_FILE, ...).
func secretFiles(env []string) []string {
	var files []string
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		up := strings.ToUpper(name)
		if val != "" && strings.HasSuffix(up, "_FILE") && slices.ContainsFunc(ourVars, func(p string) bool { return strings.HasPrefix(up, p) }) {
			files = append(files, val)
		}
	}
	return files
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
		if up == "ACCESS_TOKEN" || slices.ContainsFunc(ourVars, func(p string) bool { return strings.HasPrefix(up, p) }) ||
			// Set for aws profiles; a profile or keys named in the
			// environment would compete with the role credentials.
			up == "AWS_PROFILE" || up == "AWS_ACCESS_KEY_ID" || up == "AWS_SECRET_ACCESS_KEY" || up == "AWS_SESSION_TOKEN" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
