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

func runCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlags("run", stderr, runUsage)
	profile := fs.String("profile", "", "profile")
	var names cli.Strings
	fs.Var(&names, "env", "also put the token in this variable (repeatable)")
	minTTL := fs.Duration("min-ttl", 60*time.Second, "refresh when the token expires within this")
	// Flags end at the first positional argument or "--": everything after
	// belongs to CMD (`sidecar run gh api -X GET /user` must not eat -X).
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitcode.OK
		}
		return prog.Report(stderr, cli.Usagef("run: %v", err))
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return prog.Report(stderr, cli.Usagef("run needs a command: sidecar run -- CMD [ARGS...]"))
	}
	for _, n := range names {
		if !envName.MatchString(n) {
			return prog.Report(stderr, cli.Usagef("--env %q is not a valid variable name", n))
		}
	}
	s, err := openDetached(*profile)
	if err != nil {
		return prog.Report(stderr, err)
	}
	e, err := validToken(ctx, s, *minTTL, stderr)
	if err != nil {
		return prog.Report(stderr, err)
	}
	vars := append([]string{"ACCESS_TOKEN"}, s.Provider.TokenEnv...)
	vars = append(vars, names...)
	env := childEnv(os.Environ())
	for _, n := range vars {
		env = append(env, n+"="+e.AccessToken)
	}

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		return prog.Report(stderr, cli.Exit(127, errors.New("cannot run "+argv[0]+": "+err.Error())))
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
	return prog.Report(stderr, err)
}

// childEnv drops our own secrets from the environment CMD inherits: it
// needs the token, not the cache key, the client secret or the bot token.
func childEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		up := strings.ToUpper(name)
		switch {
		case strings.HasPrefix(up, "SIDECAR_CACHE_KEY"),
			strings.HasPrefix(up, "TELEGRAM_BOT_TOKEN"),
			strings.HasPrefix(up, "OAUTH_") && strings.Contains(up, "SECRET"),
			up == "ACCESS_TOKEN":
			continue
		}
		out = append(out, kv)
	}
	return out
}
