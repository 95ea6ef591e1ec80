package main

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/dockerguard"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/subcommand"
)

// guardUsage is `sidecar guard --help`; the subcommands it names as never
// allowed are the table's (internal/subcommand).
func guardUsage() string {
	return `usage: sidecar guard

A filtering proxy for the Docker socket: listens on GUARD_LISTEN and lets
through to GUARD_UPSTREAM only ping, version, inspecting the sidecar, and
` + "`docker exec`" + ` of GUARD_ALLOW_COMMANDS (default: sidecar tgauth; entries
PROGRAM or PROGRAM:SUBCOMMAND, a bare sidecar meaning its agent subcommands,
never ` + strings.Join(subcommand.Names(func(s subcommand.Subcommand) bool { return s.Never != "" }), ", ") + `) in the sidecar container
(compose project GUARD_PROJECT, service GUARD_SERVICE), marked
DEVICEGATE_CALLER=agent. ` + "`sidecar run -- TOOL`" + ` may start only the programs
in GUARD_RUN_TOOLS (default: none).`
}

func guard(ctx context.Context, args []string, stderr io.Writer) error {
	fs := cli.NewFlags("guard", stderr, guardUsage())
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
