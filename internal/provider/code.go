package provider

import (
	"fmt"
	"net/url"

	"github.com/devicegate/devicegate/internal/config"
)

// Default code-flow redirect addresses (RFC 8252 §7.3: a loopback IP
// literal, any port; the port is picked at each sign-in). Entra's
// "Mobile and desktop applications" platform registers http://localhost
// and accepts any port there; Google's Desktop app clients and GitHub's
// OAuth apps accept 127.0.0.1 with any port, the path as registered.
const (
	DefaultRedirect          = "http://127.0.0.1/callback"
	DefaultMicrosoftRedirect = "http://localhost"
)

// Redirect is the code flow's redirect address, maybe without a port.
func (p *Provider) Redirect() string {
	switch {
	case p.RedirectURL != "":
		return p.RedirectURL
	case p.Kind == "microsoft":
		return DefaultMicrosoftRedirect
	}
	return DefaultRedirect
}

// AuthParams are the provider's quirks on the authorization request of the
// code flow, for a sign-in that asks for scopes (oneOff: no refresh token
// wanted).
//   - Google issues a refresh token only with access_type=offline, and on a
//     second sign-in only with prompt=consent as well.
//   - An OpenID provider may drop offline_access unless prompt=consent
//     (OpenID Connect Core 1.0 §11; the oidc-provider package does).
func (p *Provider) AuthParams(scopes []string, oneOff bool) url.Values {
	v := url.Values{}
	switch {
	case p.Kind == "google" && !oneOff:
		v.Set("access_type", "offline")
		v.Set("prompt", "consent")
	case p.Kind == "oidc" && containsFold(scopes, "offline_access"):
		v.Set("prompt", "consent")
	}
	return v
}

// UseFlow switches the flow of this run (`sidecar login --flow`), with the
// checks OAUTH_FLOW gets (preset.Check): AWS has the device flow only;
// GitHub's OAuth apps exchange a code only with the client secret.
func (p *Provider) UseFlow(flow string) error {
	switch flow {
	case config.FlowDevice:
	case config.FlowCode:
		switch {
		case p.AWS != nil:
			return &config.Error{Var: p.Var("FLOW"), Msg: "aws signs in with the device flow only"}
		case p.Kind == "github" && p.ClientSecret == "":
			return &config.Error{Var: p.Var("CLIENT_SECRET"), Msg: "is required for GitHub's code flow: the OAuth app's client secret"}
		}
	default:
		return &config.Error{Var: "--flow", Msg: fmt.Sprintf("unknown sign-in flow %q: use device or code", flow)}
	}
	p.Flow = flow
	return nil
}
