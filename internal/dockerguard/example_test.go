package dockerguard_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/devicegate/devicegate/internal/dockerguard"
)

// The guard's socket is what the agent container gets mounted as
// /var/run/docker.sock; the real socket stays in the guard's container.
func ExampleGuard_Serve() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	commands, err := dockerguard.ParseCommands(os.Getenv("GUARD_ALLOW_COMMANDS"))
	if err != nil {
		logger.Error("GUARD_ALLOW_COMMANDS", "err", err)
		return
	}
	g, err := dockerguard.New(dockerguard.Config{
		Upstream:      "/var/run/docker.sock",
		AllowCommands: commands, // nil: sidecar, tgauth
		Logger:        logger,
	})
	if err != nil {
		logger.Error("guard", "err", err)
		return
	}
	l, err := dockerguard.Listen("/run/guard/docker.sock")
	if err != nil {
		logger.Error("listen", "err", err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := g.Serve(ctx, l); err != nil {
		logger.Error("serve", "err", err)
	}
}
