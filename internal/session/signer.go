package session

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/preset"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// signer is how a session signs in, refreshes and signs out at its
// provider: one strategy for every OAuth provider, and one for AWS IAM
// Identity Center (aws.go), whose client is registered at the first
// sign-in and whose token only buys role credentials. The preset names
// the strategy (preset.Strategy), so the rest of the session does not ask
// which provider it talks to.
type signer interface {
	// login signs in (the flow's whole conversation) and saves the entry.
	login(ctx context.Context, o LoginOptions) (*tokencache.Entry, error)
	// refresh sends the refresh request for e (ctx is already detached
	// from cancellation: once sent, a refresh must be seen through).
	refresh(ctx context.Context, cfg *oauth2.Config, e *tokencache.Entry) (*oauth2.Token, error)
	// logout ends the grant at the provider; false when there was nothing
	// it could end.
	logout(ctx context.Context, e *tokencache.Entry) (bool, error)
	// toolCredentials returns what a tool gets in place of the access
	// token (preset.Strategy.Credentials): see ToolCredentials.
	toolCredentials(ctx context.Context, minTTL time.Duration) (env, secrets []string, err error)
}

// ToolCredentials returns what `sidecar run` gives the tool of a provider
// whose API takes no bearer token (preset.Preset.Bearer): its variables,
// "NAME=value", with credentials valid for at least minTTL, and the
// secret values among them, which the tool's output must not show. A
// provider whose tools take the access token has none: an error.
func (s *Session) ToolCredentials(ctx context.Context, minTTL time.Duration) (env, secrets []string, err error) {
	return s.signer().toolCredentials(ctx, minTTL)
}

func (s *Session) signer() signer {
	if s.Provider.Preset.SignIn == preset.AWSSSO {
		return awsSigner{s}
	}
	return oauthSigner{s}
}

// oauthSigner: the device or code flow, the refresh grant (RFC 6749 §6),
// RFC 7009 revocation.
type oauthSigner struct{ s *Session }

func (o oauthSigner) login(ctx context.Context, lo LoginOptions) (*tokencache.Entry, error) {
	if o.s.Provider.Flow == config.FlowCode {
		return o.s.codeLogin(ctx, lo)
	}
	return o.s.deviceLogin(ctx, lo)
}

func (o oauthSigner) refresh(ctx context.Context, cfg *oauth2.Config, e *tokencache.Entry) (*oauth2.Token, error) {
	return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: e.RefreshToken}).Token()
}

func (o oauthSigner) logout(ctx context.Context, e *tokencache.Entry) (bool, error) {
	return o.s.oauthRevoke(ctx, e)
}

func (o oauthSigner) toolCredentials(context.Context, time.Duration) ([]string, []string, error) {
	return nil, nil, &config.Error{Var: o.s.Provider.Var("PROVIDER"), Msg: fmt.Sprintf("profile %s's tools take the access token, not credentials of their own", o.s.Profile)}
}

// awsSigner: IAM Identity Center's registration, device flow, refresh
// and portal logout (aws.go).
type awsSigner struct{ s *Session }

func (a awsSigner) login(ctx context.Context, o LoginOptions) (*tokencache.Entry, error) {
	return a.s.awsLogin(ctx, o)
}

func (a awsSigner) refresh(ctx context.Context, _ *oauth2.Config, e *tokencache.Entry) (*oauth2.Token, error) {
	return a.s.awsRefresh(ctx, e)
}

func (a awsSigner) logout(ctx context.Context, e *tokencache.Entry) (bool, error) {
	return a.s.awsLogout(ctx, e)
}

func (a awsSigner) toolCredentials(ctx context.Context, minTTL time.Duration) ([]string, []string, error) {
	return a.s.awsToolEnv(ctx, minTTL)
}
