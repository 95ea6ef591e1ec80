// Command sidecar holds an AI agent's OAuth sign-ins and hands out tokens
// on demand. See `sidecar help` and README.md.
//
// It is complete on its own. The image installs it as
// /usr/local/libexec/devicegate/sidecar behind cmd/sidecar-front, which
// answers `sidecar token` from a valid cache faster than this program can
// start and hands it every other command line.
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
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/version"
)

var prog = cli.Sidecar

const usage = `sidecar keeps OAuth sign-ins for an AI agent and hands out tokens.

Usage:
  sidecar login   [--profile P] [--flow device|code] [--force] [--once] [--json]
                                                    sign in (device code, or code flow)
  sidecar token   [--profile P] [--min-ttl D] [--scope 'S1 S2'] [--json]
                                                    print a valid access token
  sidecar token   [--profile P] --aws-credentials   AWS role credentials (credential_process)
  sidecar run     [--profile P] [--scope 'S1 S2'] [--env NAME]... -- CMD [ARGS...]
                                                    run CMD with a placeholder in ACCESS_TOKEN; a
                                                    proxy adds the token (aws: AWS_ACCESS_KEY_ID etc.)
  sidecar api     [--profile P] [--scope 'S1 S2'] [-X METHOD] [-H 'K: V']... [-d DATA] PATH|URL
                                                    call the provider's API
  sidecar status  [--profile P | --all] [--json]    who is signed in, scopes, expiry
  sidecar audit   [--profile P] [--since D] [--last N] [--json]
                                                    what was done with the sign-ins
  sidecar logout  [--profile P] [--force]           revoke at the provider and forget
  sidecar serve                                     keep sign-ins alive (container process)
  sidecar guard                                     filtering proxy for the Docker socket
  sidecar health                                    container health check
  sidecar approvals                                 answer the agent's requests from this terminal (owner)
  sidecar keygen  [--out FILE]                      print a new SIDECAR_CACHE_KEY (or create FILE)
  sidecar doctor  [--guard]                         check the whole setup, every problem with its fix
  sidecar version
  sidecar help

Exit codes: 0 ok, 1 failure, 2 usage or configuration, 3 sign-in declined,
4 sign-in required, 5 sign-in timed out, 6 provider error, 7 Telegram failure,
8 refused by policy or by the owner (do not retry).
Configuration comes from the environment; see .env.example.
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == refreshCmd {
		// The detached refresh ignores the signals that stop commands.
		signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, usage)
		return exitcode.Usage
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "login":
		err = login(ctx, rest, stdin, stdout, stderr)
	case "token":
		err = token(ctx, rest, stdout, stderr)
	case "run":
		return runCmd(ctx, rest, stdin, stdout, stderr)
	case "api":
		err = api(ctx, rest, stdin, stdout, stderr)
	case "status":
		err = status(rest, stdout, stderr)
	case "audit":
		err = auditCmd(rest, stdout, stderr, time.Now())
	case "logout":
		err = logout(ctx, rest, stdout, stderr)
	case "serve":
		err = serve(ctx, rest, stdout, stderr)
	case "approvals":
		err = approvalsCmd(ctx, rest, stdin, stdout, stderr)
	case "guard":
		err = guard(ctx, rest, stderr)
	case "health":
		err = health(rest, stdout, stderr)
	case refreshCmd:
		return refreshChild(rest, stderr)
	case confinedCmd:
		return confinedChild(rest, stderr)
	case "keygen":
		err = keygen(rest, stdout, stderr)
	case "doctor":
		err = doctorCmd(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "sidecar %s\n", version.String())
	case "help", "--help", "-h":
		io.WriteString(stdout, usage)
	default:
		err = cli.Usagef("unknown command %q", cmd)
	}
	return prog.Report(stderr, err)
}
