package preset

import "github.com/devicegate/devicegate/internal/config"

// okta: an Okta authorization server (OAUTH_ISSUER, e.g.
// https://example.okta.com/oauth2/default).
var okta = &Preset{
	Kind:          "okta",
	Title:         "Okta",
	DefaultScopes: OpenIDScopes,
	Flows:         []string{config.FlowDevice, config.FlowCode},
	NeedsIssuer:   true,
	Endpoints: func(p *config.Profile) Endpoints {
		return Endpoints{
			AuthURL:       p.Issuer + "/v1/authorize",
			DeviceAuthURL: p.Issuer + "/v1/device/authorize",
			TokenURL:      p.Issuer + "/v1/token",
			UserinfoURL:   p.Issuer + "/v1/userinfo",
			RevokeURL:     p.Issuer + "/v1/revoke",
		}
	},
	User: UserInfo,
}
