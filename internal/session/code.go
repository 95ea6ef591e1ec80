package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// codeLogin signs in with the authorization code flow and PKCE
// (OAUTH_FLOW=code): one attempt, finished by the first pasted address
// that carries its state. What it stores is the same entry the device flow
// stores, marked Flow "code", so refresh, rotation, status, logout, the
// policy and the keeper treat it alike.
func (s *Session) codeLogin(ctx context.Context, o LoginOptions) (*tokencache.Entry, error) {
	if o.Authorize == nil {
		return nil, errors.New("session: the code flow needs an Authorize hook")
	}
	cfg, err := s.Provider.OAuth2(ctx)
	if err != nil {
		return nil, s.providerErr("starting the sign-in", err)
	}
	oneOff := o.OneOff || s.Provider.OneOff
	c := *cfg
	c.Scopes = s.LoginScopes(oneOff)
	redirect := o.RedirectURI
	if redirect == "" {
		if redirect, err = codeflow.WithPort(s.Provider.Redirect()); err != nil {
			return nil, err
		}
	}
	f := &codeflow.Flow{
		Config:      &c,
		HTTP:        s.HTTP,
		RedirectURI: redirect,
		AuthParams:  s.Provider.AuthParams(c.Scopes, oneOff),
	}
	if s.Now != nil {
		f.SetClock(s.Now)
	}
	a, err := f.Start()
	if err != nil {
		return nil, err
	}
	pastes, err := o.Authorize(ctx, a.Link)
	if err != nil {
		return nil, err
	}
	tok, err := a.Wait(ctx, pastes)
	if err != nil {
		if errors.Is(err, codeflow.ErrExpired) {
			return nil, fmt.Errorf("%w: no address from the sign-in link arrived by %s", err, a.ExpiresAt.UTC().Format("15:04:05 UTC"))
		}
		return nil, s.loginErr(ctx, err)
	}
	return s.keep(ctx, tok, c.Scopes, oneOff, config.FlowCode, o)
}
