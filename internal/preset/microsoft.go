package preset

import (
	"fmt"
	"net/url"

	"github.com/devicegate/devicegate/internal/config"
)

// DefaultMicrosoftRedirect is Entra's code-flow redirect: the "Mobile and
// desktop applications" platform registers http://localhost and accepts
// any port there.
const DefaultMicrosoftRedirect = "http://localhost"

// microsoft: Entra ID (login.microsoftonline.com) and Microsoft Graph.
var microsoft = &Preset{
	Kind:           "microsoft",
	Title:          "Microsoft",
	DefaultScopes:  []string{"openid", "profile", "email", "offline_access", "User.Read"},
	OfflineAccess:  true,
	ImplicitScopes: []string{"openid", "profile", "email", "offline_access"},
	Flows:          []string{config.FlowDevice, config.FlowCode},
	Redirect:       DefaultMicrosoftRedirect,
	Endpoints:      microsoftEndpoints,
	User:           GraphMe,
	Check:          checkMicrosoft,
}

func microsoftEndpoints(p *config.Profile) Endpoints {
	tenant := p.Tenant
	if tenant == "" {
		tenant = "consumers"
	}
	base := "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0"
	return Endpoints{
		AuthURL:       base + "/authorize",
		DeviceAuthURL: base + "/devicecode",
		TokenURL:      base + "/token",
		UserinfoURL:   "https://graph.microsoft.com/v1.0/me",
		APIURL:        "https://graph.microsoft.com/v1.0",
		// Microsoft has no RFC 7009 revocation endpoint.
	}
}

// checkMicrosoft: the tenant must fit in the login URL.
func checkMicrosoft(p *config.Profile) error {
	if p.Tenant != "" && !validTenant(p.Tenant) {
		return &config.Error{Var: p.Var("TENANT"), Msg: fmt.Sprintf("invalid tenant %q: use consumers, organizations, common, a tenant id or a domain", p.Tenant)}
	}
	return nil
}

// validTenant accepts what fits Microsoft's login URL: a letter or digit,
// then up to 253 letters, digits, dots and hyphens (a tenant id, a domain,
// or consumers/organizations/common). Written out rather than as a regular
// expression so that nothing is compiled at start.
func validTenant(t string) bool {
	if len(t) == 0 || len(t) > 254 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '-')) {
			return false
		}
	}
	return true
}
