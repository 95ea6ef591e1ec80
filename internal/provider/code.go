package provider

import (
	"net/url"
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
