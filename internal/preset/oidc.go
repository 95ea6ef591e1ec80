package preset

import (
	"net/url"

	"github.com/devicegate/devicegate/internal/config"
)

// oidc: any OpenID provider, its endpoints discovered on first use
// (RFC 8628 §4, OpenID Connect Discovery 1.0) unless configured.
var oidc = &Preset{
	Kind:          "oidc",
	Title:         "OpenID",
	DefaultScopes: OpenIDScopes,
	Flows:         []string{config.FlowDevice, config.FlowCode},
	NeedsIssuer:   true,
	Discover:      true,
	AuthParams:    oidcAuthParams,
	User:          UserInfo,
}

// oidcAuthParams: an OpenID provider may drop offline_access unless
// prompt=consent (OpenID Connect Core 1.0 §11; the oidc-provider package
// does).
func oidcAuthParams(scopes []string, _ bool) url.Values {
	v := url.Values{}
	if ContainsFold(scopes, "offline_access") {
		v.Set("prompt", "consent")
	}
	return v
}
