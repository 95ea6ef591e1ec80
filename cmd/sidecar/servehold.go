package main

import (
	"context"
	"fmt"
	"io"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/exitcode"
)

// holdOnError is `serve --hold-on-error`, how the compose files run serve.
// A configuration error cannot be cured by starting again, yet a restart
// policy would start the container again and again: `docker compose up -d`
// then says "Started", `up --wait` waits for a health that never comes,
// and the error scrolls away in the logs. Held, the error is printed once,
// the container stays up and its health check fails, so `up --wait` fails
// and `docker compose ps` shows it unhealthy. Other errors exit as usual.
func holdOnError(ctx context.Context, stderr io.Writer, err error) error {
	if err == nil || cli.Code(err) != exitcode.Usage {
		return err
	}
	prog.Report(stderr, err)
	fmt.Fprintf(stderr, "%s: hint: not restarting: fix the configuration, then `docker compose up -d` again (`docker compose run --rm sidecar doctor` checks all of it)\n", prog.Name)
	<-ctx.Done()
	// Stopped: the error was reported above, not again.
	return nil
}

// noBotToken is serve's refusal to start with TELEGRAM_LISTEN=true and no
// bot token: the owner asked for commands and approvals in Telegram, and
// running without them would turn every approval into a silent denial.
func noBotToken(t *config.Telegram) error {
	if t.BotTokenFile != "" {
		return &config.Error{Var: "TELEGRAM_BOT_TOKEN_FILE", Msg: fmt.Sprintf("%s is empty, but TELEGRAM_LISTEN=true needs devicegate's gatekeeper bot token (or set TELEGRAM_LISTEN=false to run without commands and approvals)", t.BotTokenFile)}
	}
	return &config.Error{Var: "TELEGRAM_BOT_TOKEN", Msg: "is not set, but TELEGRAM_LISTEN=true needs devicegate's gatekeeper bot token (or set TELEGRAM_LISTEN=false to run without commands and approvals)"}
}
