package main

import (
	"context"
	"log/slog"

	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/handoff"
)

// handOff serves the sign-in handoff (internal/handoff): tgauth's
// code-flow sign-ins wait there for the address the owner pastes into the
// chat serve reads. Without it those sign-ins cannot finish, but serve's
// own do: a failure is logged, not fatal. The returned func waits for it
// to stop after ctx ends.
func handOff(ctx context.Context, dataDir string, pastes *codeflow.Router, log *slog.Logger) func() {
	key, err := handoff.CreateKey(dataDir)
	if err != nil {
		log.Error("the code flow through tgauth is off: cannot make the handoff key", "err", err)
		return func() {}
	}
	l, err := handoff.Listen(dataDir)
	if err != nil {
		log.Error("the code flow through tgauth is off", "err", err)
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv := &handoff.Server{Router: pastes, Key: key, Log: log}
		if err := srv.Serve(ctx, l); err != nil {
			log.Error("the sign-in handoff stopped", "err", err)
		}
	}()
	return func() { <-done }
}
