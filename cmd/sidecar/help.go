package main

import (
	"context"
	"io"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/subcommand"
)

// usage is `sidecar help`: the subcommands from their table, then what is
// true of them all.
func usage() string {
	return `sidecar keeps OAuth sign-ins for an AI agent and hands out tokens.

Usage:
` + subcommand.Synopsis() + `
Exit codes: 0 ok, 1 failure, 2 usage or configuration, 3 sign-in declined,
4 sign-in required, 5 sign-in timed out, 6 provider error, 7 Telegram failure,
8 refused by policy or by the owner (do not retry).
Configuration comes from the environment; see .env.example.
`
}

// help is `sidecar help [COMMAND]`: the usage, or COMMAND's own, which is
// what `sidecar COMMAND --help` prints, here on stdout.
func help(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0 || len(args) == 1 && args[0] == "help":
		io.WriteString(stdout, usage())
		return exitcode.OK
	case len(args) > 1:
		return prog.Report(stderr, cli.Usagef("help takes one command, got %d", len(args)))
	}
	if _, ok := subcommand.Lookup(args[0]); !ok {
		return prog.Report(stderr, unknown(args[0]))
	}
	return commands[args[0]](ctx, []string{"--help"}, streams{stdout: stdout, stderr: stdout})
}
