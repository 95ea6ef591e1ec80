package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/keeper"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/session"
)

const serveUsage = `usage: sidecar serve [--hold-on-error]

The sidecar container's long-running process: keeps every profile's
sign-in alive (refreshing before expiry and every SIDECAR_KEEPALIVE) and
tells the Telegram chat once when a sign-in is needed.

With a bot of its own (the gatekeeper bot; TELEGRAM_LISTEN=true, the
default) it also reads that bot's updates: it answers /auth [profile],
/status, /logout [profile], /audit and /grants from TELEGRAM_OWNER_ID in
TELEGRAM_CHAT_ID, and asks the owner to approve what the policy says to
ask about (the commands wait on the socket approval.sock in the data
directory; no answer within SIDECAR_APPROVAL_TIMEOUT is a denial).
TELEGRAM_LISTEN=false is the single-bot setup, where OpenClaw reads the
bot's updates: sign-in notices only, no commands. With or without a bot,
the owner can answer approvals from a terminal: sidecar approvals. An
explicit TELEGRAM_LISTEN=true without a bot token is a configuration error.

With --hold-on-error (as the compose files run it), a configuration error
is printed and serve stays up, unhealthy, instead of exiting into a
restart loop.`

// heartbeatName is touched by serve on every round and read by health.
const heartbeatName = "serve.heartbeat"

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("serve", stderr, serveUsage)
	hold := fs.Bool("hold-on-error", false, "on a configuration error, stay up (unhealthy) instead of exiting")
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("serve takes no arguments")
	}
	err = serveLoaded(ctx, stderr)
	if *hold {
		return holdOnError(ctx, stderr, err)
	}
	return err
}

func serveLoaded(ctx context.Context, stderr io.Writer) error {
	a, err := app.Load()
	if err != nil {
		return err
	}
	c := a.Config
	if len(c.Order) == 0 {
		return &config.Error{Var: "OAUTH_PROVIDER", Msg: "no account is configured: set OAUTH_PROVIDER and OAUTH_CLIENT_ID"}
	}
	st := a.Store
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", c.DataDir, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	k := &keeper.Keeper{
		Keepalive: c.Sidecar.Keepalive.D(),
		Log:       log,
		Heartbeat: filepath.Join(c.DataDir, heartbeatName),
	}
	if k.Sessions, err = a.Sessions(); err != nil {
		return err
	}
	if !st.Encrypted() {
		log.Warn("the token cache is not encrypted: set SIDECAR_CACHE_KEY (make one with `sidecar keygen`)")
	}
	tok, _ := c.Telegram.Token()
	if tok == "" && c.Telegram.ListenSet && bool(c.Telegram.Listen) {
		return noBotToken(&c.Telegram)
	}
	listen := tok != "" && bool(c.Telegram.Listen)
	// The approvals' socket is always served: the owner can answer from a
	// terminal (sidecar approvals), with or without the gatekeeper bot.
	console := &approval.Console{}
	appr := &approval.Server{Timeout: c.Sidecar.ApprovalTimeout.D(), Log: log,
		Policy: policies(k.Sessions), Audit: audit.Open(c.DataDir), GrantFile: st, Console: console}
	pastes := &codeflow.Router{} // the owner's pasted sign-in addresses (code flow)
	if tok != "" {
		wireChat(ctx, a, k, appr, console, pastes, listen, log)
	}
	if appr.Owner == nil {
		// No one in the chat: a question waits only while someone runs
		// sidecar approvals; otherwise it is a denial at once.
		console.Alone = true
		appr.Owner = console
	}
	if !listen {
		log.Info("not listening to Telegram (TELEGRAM_LISTEN=false or no bot token): no commands; approvals only from `sidecar approvals`, and without it every approval the policy asks for is a denial")
	}
	ln, err := listenApprovals(c.DataDir, appr)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- appr.Serve(ctx, ln) }()
	if listen {
		defer handOff(ctx, c.DataDir, pastes, log)()
		defer serveCallback(ctx, c.Sidecar.CallbackListen, k.Sessions, pastes, log)()
	}
	err = k.Run(ctx)
	if aerr := <-done; err == nil {
		err = aerr
	}
	return err
}

// wireChat connects the gatekeeper bot: the keeper's chat, and with a bot
// that listens the owner's approvals in Telegram beside the terminal's
// (the first answer wins). Telegram being unavailable is logged, not
// returned: keeping sign-ins alive matters more than the chat.
func wireChat(ctx context.Context, a *app.App, k *keeper.Keeper, appr *approval.Server, console *approval.Console, pastes *codeflow.Router, listen bool, log *slog.Logger) {
	c := a.Config
	tg, chat, err := a.Telegram(ctx, log)
	if err != nil {
		// Go on without Telegram, loudly. The advice a command would
		// print as hint lines (a bot token to check with @BotFather) goes
		// in the log line.
		attrs := []any{"err", err}
		if h := prog.Hints(err); len(h) > 0 {
			attrs = append(attrs, "hint", strings.Join(h, "; "))
		}
		log.Error("Telegram is unavailable; sign-in notices, commands and approvals are off", attrs...)
		return
	}
	ch := &bridge.Chat{
		Bridge:   &bridge.Bridge{TG: tg, Chat: chat, Host: a.Host(), Log: log, Pastes: pastes},
		Sessions: k.Sessions,
		Log:      log,
		Owner:    c.Telegram.Owner(),
		Audit:    audit.Open(c.DataDir),
	}
	if listen {
		ch.Listener, ch.Pastes = tg, pastes
		if owner := c.Telegram.Owner(); owner != 0 {
			ch.Approvals = &bridge.Approvals{TG: tg, Chat: chat, Owner: owner, Timeout: appr.Timeout, Log: log}
			ch.Grants = &bridge.Grants{TG: tg, Chat: chat, Owner: owner, Keeper: appr, Log: log}
			// Both are asked; the first answer wins.
			appr.Owner = &approval.Fanout{Owners: []approval.Owner{ch.Approvals, console}, Where: []string{"in Telegram", "in the terminal"}}
		} else {
			log.Error("approvals are off: set TELEGRAM_OWNER_ID to your Telegram user id (only your taps count)")
		}
	}
	k.Chat = ch
}

// listenApprovals opens the approvals' socket, then writes its key: after,
// because Listen refuses when another serve listens, whose key must stay.
func listenApprovals(dataDir string, appr *approval.Server) (net.Listener, error) {
	ln, err := approval.Listen(approval.SocketPath(dataDir))
	if err != nil {
		return nil, err
	}
	if appr.Key, err = approval.WriteKey(dataDir); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// policies looks up a profile's policy and API base URL, by which serve
// decides every question again.
func policies(sessions []*session.Session) func(context.Context, string) (*policy.Policy, string, error) {
	return func(ctx context.Context, profile string) (*policy.Policy, string, error) {
		for _, s := range sessions {
			if s.Profile != profile {
				continue
			}
			if !s.Provider.Preset.Bearer() {
				// No API takes its token: nothing to judge requests to.
				return s.Policy, "", nil
			}
			ep, err := s.Provider.Endpoints(ctx)
			if err != nil {
				return nil, "", err
			}
			return s.Policy, ep.APIURL, nil
		}
		return nil, "", fmt.Errorf("no profile %q", profile)
	}
}
