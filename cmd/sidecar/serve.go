package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/dockerguard"
	"github.com/devicegate/devicegate/internal/exitcode"
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
		tg, chat, err := a.Telegram(ctx, log)
		if err != nil {
			// Keeping sign-ins alive matters more than the chat: go on
			// without Telegram, loudly.
			// The advice a command would print as hint lines (a bot
			// token to check with @BotFather) goes in the log line.
			attrs := []any{"err", err}
			if h := prog.Hints(err); len(h) > 0 {
				attrs = append(attrs, "hint", strings.Join(h, "; "))
			}
			log.Error("Telegram is unavailable; sign-in notices, commands and approvals are off", attrs...)
		} else {
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
	ln, err := approval.Listen(approval.SocketPath(c.DataDir))
	if err != nil {
		return err
	}
	// The key after the socket: Listen refuses when another serve
	// listens, whose key must stay.
	if appr.Key, err = approval.WriteKey(c.DataDir); err != nil {
		ln.Close()
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

// policies looks up a profile's policy and API base URL, by which serve
// decides every question again.
func policies(sessions []*session.Session) func(context.Context, string) (*policy.Policy, string, error) {
	return func(ctx context.Context, profile string) (*policy.Policy, string, error) {
		for _, s := range sessions {
			if s.Profile != profile {
				continue
			}
			if s.Provider.AWS != nil {
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

const guardUsage = `usage: sidecar guard

A filtering proxy for the Docker socket: listens on GUARD_LISTEN and lets
through to GUARD_UPSTREAM only ping, version, inspecting the sidecar, and
` + "`docker exec`" + ` of GUARD_ALLOW_COMMANDS (default: sidecar tgauth; entries
PROGRAM or PROGRAM:SUBCOMMAND, a bare sidecar meaning its agent subcommands,
never serve, guard, health or keygen) in the sidecar container (compose
project GUARD_PROJECT, service GUARD_SERVICE), marked DEVICEGATE_CALLER=agent.
` + "`sidecar run -- TOOL`" + ` may start only the programs in GUARD_RUN_TOOLS
(default: none).`

func guard(ctx context.Context, args []string, stderr io.Writer) error {
	fs := cli.NewFlags("guard", stderr, guardUsage)
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("guard takes no arguments")
	}
	gc, err := config.LoadGuard()
	if err != nil {
		return err
	}
	cmds, err := dockerguard.ParseCommands(gc.AllowCommands)
	if err != nil {
		return &config.Error{Var: "GUARD_ALLOW_COMMANDS", Msg: err.Error()}
	}
	tools, err := dockerguard.ParseCommands(gc.RunTools)
	if err != nil {
		return &config.Error{Var: "GUARD_RUN_TOOLS", Msg: err.Error()}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if did, err := dropRoot(gc.Upstream); err != nil {
		return err
	} else if did != "" {
		log.Info("guard: " + did)
	}
	g, err := dockerguard.New(dockerguard.Config{
		Upstream:      gc.Upstream,
		AllowCommands: cmds,
		RunTools:      tools,
		Project:       gc.Project,
		Service:       gc.Service,
		MaxBodyBytes:  int64(gc.MaxBody),
		Logger:        log,
	})
	if err != nil {
		return cli.Exit(exitcode.Usage, err)
	}
	l, err := dockerguard.Listen(gc.Listen)
	if err != nil {
		return err
	}
	log.Info("guard listening", "listen", gc.Listen, "upstream", gc.Upstream, "project", gc.Project, "service", gc.Service, "run_tools", strings.Join(tools, " "))
	return g.Serve(ctx, l)
}

const healthUsage = `usage: sidecar health [--guard]

The container health check. Without flags: ok when sidecar serve has
completed a round recently. With --guard: ok when the guard's socket
(GUARD_LISTEN) answers a ping.`

func health(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("health", stderr, healthUsage)
	guardMode := fs.Bool("guard", false, "check the Docker socket guard")
	maxAge := fs.Duration("max-age", 3*keeper.DefaultTick, "how old the serve heartbeat may be")
	if _, _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *guardMode {
		gc, err := config.LoadGuard()
		if err != nil {
			return err
		}
		// As the guard itself, which owns its socket.
		if _, err := dropRoot(gc.Upstream); err != nil {
			return err
		}
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", gc.Listen)
			},
		}}
		// The host is a placeholder: the dialer above ignores it, so
		// the error names the socket instead of this URL.
		res, err := hc.Get("http://docker/_ping")
		if err != nil {
			var oe *net.OpError
			if errors.As(err, &oe) {
				err = oe.Err
			}
			return fmt.Errorf("guard: no answer on %s (GUARD_LISTEN): %w", gc.Listen, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("guard: ping answered %s", res.Status)
		}
		fmt.Fprintln(stdout, "ok")
		return nil
	}
	c, err := config.Load()
	if err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(c.DataDir, heartbeatName))
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("sidecar serve has not completed a round yet")
	}
	if err != nil {
		return err
	}
	if age := time.Since(fi.ModTime()); age > *maxAge {
		return fmt.Errorf("sidecar serve last completed a round %s ago", age.Round(time.Second))
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
