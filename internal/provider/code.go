package provider

import (
	"fmt"
	"net/url"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/preset"
)

// Default code-flow redirect addresses (RFC 8252 §7.3: a loopback IP
// literal, any port; the port is picked at each sign-in), as the presets
// name them: Entra's "Mobile and desktop applications" platform registers
// http://localhost and accepts any port there; Google's Desktop app
// clients and GitHub's OAuth apps accept 127.0.0.1 with any port, the path
// as registered.
const (
	DefaultRedirect          = preset.DefaultRedirect
	DefaultMicrosoftRedirect = preset.DefaultMicrosoftRedirect
)

// Redirect is the code flow's redirect address, maybe without a port.
func (p *Provider) Redirect() string {
	if p.RedirectURL != "" {
		return p.RedirectURL
	}
	return p.Preset.RedirectURL()
}

// AuthParams are the provider's quirks on the authorization request of the
// code flow, for a sign-in that asks for scopes (oneOff: no refresh token
// wanted): the preset's AuthParams (Google's access_type=offline, an
// OpenID provider's prompt=consent for offline_access).
func (p *Provider) AuthParams(scopes []string, oneOff bool) url.Values {
	if p.Preset.AuthParams == nil {
		return url.Values{}
	}
	return p.Preset.AuthParams(scopes, oneOff)
}

// UseFlow switches the flow of this run (`sidecar login --flow`), with the
// checks OAUTH_FLOW gets (preset.Check): the flows the preset supports,
// and the client secret a preset's code flow requires.
func (p *Provider) UseFlow(flow string) error {
	switch flow {
	case config.FlowDevice, config.FlowCode:
		if err := p.Preset.FlowError(p.Var, flow, p.ClientSecret, false); err != nil {
			return err
		}
	default:
		return &config.Error{Var: "--flow", Msg: fmt.Sprintf("unknown sign-in flow %q: use device or code", flow)}
	}
	p.Flow = flow
	return nil
}
