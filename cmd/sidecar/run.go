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

	"golang.org/x/term"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/confine"
	"github.com/devicegate/devicegate/internal/dockerguard"
	"github.com/devicegate/devicegate/internal/envname"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/redact"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const runUsage = `usage: sidecar run [--profile P] [--scope 'S1 S2'] [--env NAME]... [--min-ttl D] -- CMD [ARGS...]

Runs CMD with a placeholder, not the access token, in ACCESS_TOKEN, the
provider's usual variables (GH_TOKEN for GitHub, ...) and every --env NAME,
and with HTTPS_PROXY set to a proxy in this process: it puts a token valid
for --min-ttl (default 60s) in place of the placeholder on CMD's requests
to the provider's API, each judged by the policy as sidecar api is, and
tunnels every other host untouched. With --scope, a token for just those
scopes. A policy rule "allow run CMD with-token" gives CMD the raw token
instead (a token export). For an aws profile CMD gets role credentials:
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (and
AWS_DEFAULT_REGION). CMD gets none of sidecar's own configuration and cannot
read the token cache or the secret files. Standard input, output and error
are passed through; the exit code is CMD's, or 8 when CMD failed after the
policy or the owner refused one of its requests. For the agent, CMD has no
terminal, its output reaches the agent with any raw credential masked, and
what it leaves running is killed when it exits.`

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
	return runWith(ctx, runHooks{}, args, stdin, stdout, stderr)
}

// runWith is runCmd with the hooks tests set.
func runWith(ctx context.Context, hooks runHooks, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
	// CMD gets placeholders, and each request it makes to the API is
	// judged as `sidecar api` is (startToolProxy). Only a run rule that
	// says with-token hands it the raw token, and an aws profile's role
	// credentials (SigV4 signs with the secret key: no proxy can add it
	// later): both are token exports, for the owner's runs too.
	bearer := s.Provider.Preset.Bearer()
	raw := !bearer || s.Policy.Decide(policy.Request{Action: policy.ActionRun, Program: argv[0]}).WithToken
	pass, err := gateFor(s, "").Check(ctx, gate.Action{Kind: gate.Run, Argv: argv, WithToken: raw})
	if err != nil {
		return prog.Report(stderr, err)
	}
	var vars, secrets []string
	env := childEnv(os.Environ())
	var tp *toolProxy
	if !bearer {
		// Never the access token, which would buy credentials beyond the
		// profile's (AWS: every account and role the person has).
		if len(scopes) > 0 || len(f.names) > 0 {
			return prog.Report(stderr, cli.Usagef("run: --scope and --env do not apply to %s profiles (CMD gets %s)", s.Provider.Kind, s.Provider.Preset.SignIn.Credentials()))
		}
		vars, secrets, err = s.ToolCredentials(ctx, *f.minTTL)
	} else {
		// Refresh first when the token expires within --min-ttl: the tool
		// cannot refresh it, and a long command needs it to last.
		var t *tokencache.ScopedToken
		if t, err = validToken(ctx, s, *f.minTTL, scopes, stderr); err == nil {
			// The token stays masked in CMD's output even so: defence in
			// depth.
			secrets = []string{t.AccessToken}
			if raw {
				vars, err = toolEnv(ctx, s, t.AccessToken, f.names)
			} else {
				rt := &runToken{t: t, ttl: *f.minTTL, now: time.Now, get: func(ctx context.Context) (*tokencache.ScopedToken, error) {
					return validToken(ctx, s, *f.minTTL, scopes, stderr)
				}}
				if tp, vars, err = startToolProxy(ctx, s, rt.token, f.names, scopes, argv[0], hooks, stderr); err == nil {
					defer tp.stop()
					env = proxyEnv(env)
				}
			}
		}
	}
	if err != nil {
		return prog.Report(stderr, err)
	}
	hide := append([]string{s.Store.Dir()}, secretFiles(os.Environ())...)
	t, err := startConfined(argv, hide, append(env, vars...), toolIO{
		stdin: stdin, stdout: stdout, stderr: stderr,
		agent: s.Caller == audit.CallerAgent, secrets: secrets,
	})
	if err != nil {
		return prog.Report(stderr, err)
	}
	record(pass, stderr)
	code := t.wait(stderr)
	if tp != nil && code != exitcode.OK {
		// A tool that failed after the gate refused one of its requests
		// failed because of it: the agent gets exit 8 (do not retry) and
		// what was refused.
		if err := tp.judge.refused(); err != nil {
			return prog.Report(stderr, err)
		}
	}
	return code
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

// toolIO is what CMD reads and writes, and for whom it runs.
type toolIO struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// agent: CMD runs for the agent, which reads its output. Then
	//   - its output reaches the agent with the secrets masked, both
	//     streams through one masking relay (internal/redact), so that a
	//     secret split across them is masked too;
	//   - it runs in a session and process group of its own with no
	//     controlling terminal, its standard input is never a terminal,
	//     and the terminal sidecar run has is hidden from it (a terminal
	//     takes writes past the masking: /dev/tty, fd 0, /dev/pts/N);
	//   - what it leaves running is killed when it exits: its group, and
	//     every descendant that left the group (sidecar run adopts them
	//     as a child subreaper).
	// The owner's own commands keep the terminal, and their output as is.
	agent   bool
	secrets []string
}

// tool is CMD started.
type tool struct {
	cmd   *exec.Cmd
	agent bool
	relay *redact.Relay // agent only
	stdin *os.File      // our end of the pipe to CMD's standard input, or nil
}

// startConfined starts CMD as `sidecar __confined`, which hides the paths
// in hide (the token cache and our secret files) from it and then becomes
// CMD: the same process, so signals and the exit status are CMD's. A CMD
// that cannot be found or started is exit 127, as in a shell.
func startConfined(argv, hide, env []string, tio toolIO) (*tool, error) {
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
	t := &tool{agent: tio.agent}
	if tio.agent {
		hide = append(hide, terminals(tio.stdin, tio.stdout, tio.stderr)...)
	}
	cargs := append([]string{confinedCmd, strconv.Itoa(len(hide))}, hide...)
	cargs = append(append(cargs, path), argv...)
	t.cmd = exec.Command(self, cargs...)
	t.cmd.Env = env
	t.cmd.Stdin, t.cmd.Stdout, t.cmd.Stderr = tio.stdin, tio.stdout, tio.stderr
	if tio.agent {
		if err := t.prepareAgent(tio); err != nil {
			return nil, err
		}
	}
	if err := t.cmd.Start(); err != nil {
		t.release()
		return nil, cli.Exit(127, errors.New("cannot run "+argv[0]+": "+err.Error()))
	}
	if t.relay != nil {
		t.relay.Start()
	}
	if f, ok := t.cmd.Stdin.(*os.File); ok && t.stdin != nil {
		f.Close() // CMD's end, which it holds now
	}
	return t, nil
}

// prepareAgent sets CMD up to run for the agent (see toolIO.agent).
func (t *tool) prepareAgent(tio toolIO) error {
	confine.Detach(t.cmd)
	if err := confine.AdoptOrphans(); err != nil {
		return err
	}
	relay, err := redact.NewRelay(tio.stdout, tio.stderr, tio.secrets...)
	if err != nil {
		return err
	}
	t.relay = relay
	t.cmd.Stdout, t.cmd.Stderr = relay.Files()
	// A terminal on standard input takes writes too: CMD gets a pipe,
	// fed from it.
	if f, ok := tio.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		r, w, err := os.Pipe()
		if err != nil {
			relay.Close()
			return fmt.Errorf("relaying standard input: %w", err)
		}
		t.cmd.Stdin, t.stdin = r, w
		go func() {
			_, _ = io.Copy(w, f) // ends when CMD has exited and w is closed
		}()
	}
	return nil
}

// release frees what was made for a CMD that did not start.
func (t *tool) release() {
	if t.relay != nil {
		t.relay.Close()
	}
	if t.stdin != nil {
		t.stdin.Close()
		t.cmd.Stdin.(*os.File).Close()
	}
}

// terminals returns the device paths of those of files that are
// terminals.
func terminals(files ...any) []string {
	var out []string
	for _, x := range files {
		f, ok := x.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			continue
		}
		if p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd())); err == nil && strings.HasPrefix(p, "/dev/") && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// wait passes our signals on to CMD, so it can clean up, and returns its
// exit code once it exits (128 + the signal when one killed it, as a
// shell reports it). For the agent, what CMD left running is killed
// first, then its output is written out.
func (t *tool) wait(stderr io.Writer) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				_ = t.cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	var cleanup error
	if t.agent {
		// Before CMD is reaped, so that its process group id is still
		// its own: kill the group, then whatever left the group.
		pid := t.cmd.Process.Pid
		cleanup = errors.Join(confine.AwaitExit(pid), confine.KillGroup(pid), confine.KillOrphans(pid))
	}
	err := t.cmd.Wait()
	close(done)
	if t.stdin != nil {
		t.stdin.Close()
	}
	if t.relay != nil {
		cleanup = errors.Join(cleanup, t.relay.Stop())
	}
	if cleanup != nil {
		fmt.Fprintf(stderr, "%s: warning: cleaning up after the tool: %v\n", prog, cleanup)
	}
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
		if errors.Is(err, confine.ErrNoScopes) {
			fmt.Fprintf(stderr, "%s: warning: %s can signal other processes (stop or kill sidecar serve) and connect to abstract unix sockets: %v\n", prog.Name, argv[0], err)
			return
		}
		fmt.Fprintf(stderr, "%s: warning: %s can read the token cache and our secret files: %v\n", prog.Name, argv[0], err)
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
