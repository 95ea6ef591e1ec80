package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/handoff"
	"github.com/devicegate/devicegate/internal/session"
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

// serveCallback takes the code flow's redirects itself on addr
// (SIDECAR_CALLBACK_LISTEN) for the profiles whose OAUTH_REDIRECT_URL is
// an https:// address of the owner's own that forwards there: no paste
// needed. Without addr it does nothing. The returned func waits for it to
// stop after ctx ends.
func serveCallback(ctx context.Context, addr string, sessions []*session.Session, pastes *codeflow.Router, log *slog.Logger) func() {
	if addr == "" {
		return func() {}
	}
	var redirects []string
	for _, s := range sessions {
		if s.Provider.Flow == config.FlowCode && strings.HasPrefix(s.Provider.RedirectURL, "https://") {
			redirects = append(redirects, s.Provider.RedirectURL)
		}
	}
	if len(redirects) == 0 {
		log.Warn("SIDECAR_CALLBACK_LISTEN is set but no code-flow profile has an https:// OAUTH_REDIRECT_URL: not listening")
		return func() {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("cannot take the code flow's redirects; pasting still works", "listen", addr, "err", err)
		return func() {}
	}
	srv := &http.Server{Handler: codeflow.CallbackHandler(redirects, pastes), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("the code flow's callback stopped", "err", err)
		}
	}()
	log.Info("taking the code flow's redirects", "listen", addr, "redirects", strings.Join(redirects, " "))
	return func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-done
	}
}
