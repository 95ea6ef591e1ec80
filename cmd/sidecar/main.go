// Command sidecar holds an AI agent's OAuth sign-ins and hands out tokens
// on demand. See `sidecar help` and README.md.
//
// The image installs it as /usr/local/bin/sidecar. There is no faster
// second binary for `sidecar token`: docs/BENCHMARKS.md measures the whole
// program within 2× of the least a token helper can do, and the agent's
// `docker exec` within 1.10× of `sidecar version`'s.
//
// Each subcommand is one file here (token.go, serve.go, ...) that parses
// its flags and calls packages; internal/subcommand lists them for the
// usage text, for Main and for the Docker socket guard.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/detach"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/subcommand"
)

var prog = cli.Sidecar

func main() {
	if len(os.Args) > 1 && os.Args[1] == detach.Command {
		// The detached refresh ignores the signals that stop commands.
		signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// streams are what a subcommand reads and writes.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// commands runs each subcommand of subcommand.Sidecar but help (which
// runs the others), and the hidden ones: the program's whole dispatch.
// TestCommandsMatchTable keeps it and the table in step.
var commands = map[string]func(ctx context.Context, args []string, s streams) int{
	"token": reported(func(ctx context.Context, args []string, s streams) error {
		return token(ctx, args, s.stdout, s.stderr)
	}),
	"run": func(ctx context.Context, args []string, s streams) int {
		return runCmd(ctx, args, s.stdin, s.stdout, s.stderr)
	},
	"api": reported(func(ctx context.Context, args []string, s streams) error {
		return api(ctx, args, s.stdin, s.stdout, s.stderr)
	}),
	"status": reported(func(_ context.Context, args []string, s streams) error {
		return status(args, s.stdout, s.stderr)
	}),
	"login": reported(func(ctx context.Context, args []string, s streams) error {
		return login(ctx, args, s.stdin, s.stdout, s.stderr)
	}),
	"logout": reported(func(ctx context.Context, args []string, s streams) error {
		return logout(ctx, args, s.stdout, s.stderr)
	}),
	"audit": reported(func(_ context.Context, args []string, s streams) error {
		return auditCmd(args, s.stdout, s.stderr, time.Now())
	}),
	"serve": reported(func(ctx context.Context, args []string, s streams) error {
		return serve(ctx, args, s.stdout, s.stderr)
	}),
	"approvals": reported(func(ctx context.Context, args []string, s streams) error {
		return approvalsCmd(ctx, args, s.stdin, s.stdout, s.stderr)
	}),
	"guard": reported(func(ctx context.Context, args []string, s streams) error {
		return guard(ctx, args, s.stderr)
	}),
	"health": reported(func(_ context.Context, args []string, s streams) error {
		return health(args, s.stdout, s.stderr)
	}),
	"keygen": reported(func(_ context.Context, args []string, s streams) error {
		return keygen(args, s.stdout, s.stderr)
	}),
	"doctor": reported(func(ctx context.Context, args []string, s streams) error {
		return doctorCmd(ctx, args, s.stdout, s.stderr)
	}),
	"version": reported(func(_ context.Context, args []string, s streams) error {
		return version(args, s.stdout, s.stderr)
	}),
	detach.Command: func(_ context.Context, args []string, s streams) int {
		return detach.Child(args, s.stderr, open)
	},
	confinedCmd: func(_ context.Context, args []string, s streams) int {
		return confinedChild(args, s.stderr)
	},
}

// reported turns a subcommand's error into its exit code, printed in the
// house style (cli.Program.Report).
func reported(f func(ctx context.Context, args []string, s streams) error) func(ctx context.Context, args []string, s streams) int {
	return func(ctx context.Context, args []string, s streams) int {
		return prog.Report(s.stderr, f(ctx, args, s))
	}
}

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, usage())
		return exitcode.Usage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "--version", "-v":
		name = "version"
	case "--help", "-h":
		name = "help"
	}
	if name == "help" {
		return help(ctx, rest, stdout, stderr)
	}
	run, ok := commands[name]
	if !ok {
		return prog.Report(stderr, unknown(name))
	}
	return run(ctx, rest, streams{stdin, stdout, stderr})
}

// unknown is the error for a subcommand that does not exist, with the
// nearest one as a hint.
func unknown(name string) error {
	return &cli.UsageError{Msg: fmt.Sprintf("unknown command %q", name), Nearest: subcommand.Nearest(name)}
}
