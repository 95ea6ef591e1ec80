package preset

import "github.com/devicegate/devicegate/internal/config"

// keycloak: a Keycloak realm (OAUTH_ISSUER, .../realms/NAME).
var keycloak = &Preset{
	Kind:          "keycloak",
	Title:         "Keycloak",
	DefaultScopes: OpenIDScopes,
	Flows:         []string{config.FlowDevice, config.FlowCode},
	NeedsIssuer:   true,
	Endpoints: func(p *config.Profile) Endpoints {
		base := p.Issuer + "/protocol/openid-connect"
		return Endpoints{
			AuthURL:       base + "/auth",
			DeviceAuthURL: base + "/auth/device",
			TokenURL:      base + "/token",
			UserinfoURL:   base + "/userinfo",
			RevokeURL:     base + "/revoke",
		}
	},
	User: UserInfo,
}
