package provider

import (
	"net/url"
	"strings"

	"github.com/devicegate/devicegate/internal/awssso"
	"github.com/devicegate/devicegate/internal/config"
)

// setupOf returns the setup of a preset: its endpoints, default scopes and
// quirks; nil for an unknown one. (A switch, not a map, so that nothing is
// built at start.)
func setupOf(kind string) func(pr *Provider, p *config.Profile) {
	switch kind {
	case "microsoft":
		return (*Provider).presetMicrosoft
	case "github":
		return (*Provider).presetGitHub
	case "google":
		return (*Provider).presetGoogle
	case "auth0":
		return (*Provider).presetAuth0
	case "okta":
		return (*Provider).presetOkta
	case "keycloak":
		return (*Provider).presetKeycloak
	case "aws":
		return (*Provider).presetAWS
	case "oidc":
		// Discovered on first use.
		return func(*Provider, *config.Profile) {}
	}
	return nil
}

func (pr *Provider) presetMicrosoft(p *config.Profile) {
	tenant := p.Tenant
	if tenant == "" {
		tenant = "consumers"
	}
	base := "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0"
	pr.static = Endpoints{
		AuthURL:       base + "/authorize",
		DeviceAuthURL: base + "/devicecode",
		TokenURL:      base + "/token",
		UserinfoURL:   "https://graph.microsoft.com/v1.0/me",
		APIURL:        "https://graph.microsoft.com/v1.0",
		// Microsoft has no RFC 7009 revocation endpoint.
	}
	if len(pr.Scopes) == 0 {
		pr.Scopes = []string{"openid", "profile", "email", "offline_access", "User.Read"}
	}
	// Without offline_access Microsoft returns no refresh token, and
	// the agent would need the person again within the hour.
	// (A one-off grant wants exactly that.)
	if !pr.OneOff && !containsFold(pr.Scopes, "offline_access") {
		pr.Scopes = append(pr.Scopes, "offline_access")
	}
}

func (pr *Provider) presetGitHub(p *config.Profile) {
	pr.static = Endpoints{
		AuthURL:       "https://github.com/login/oauth/authorize",
		DeviceAuthURL: "https://github.com/login/device/code",
		TokenURL:      "https://github.com/login/oauth/access_token",
		APIURL:        "https://api.github.com",
		// Revoking a GitHub token needs the client secret
		// (DELETE /applications/{client_id}/token), not RFC 7009.
	}
	if len(pr.Scopes) == 0 {
		pr.Scopes = []string{"repo", "read:org", "read:user", "user:email"}
	}
	pr.TokenEnv = []string{"GH_TOKEN", "GITHUB_TOKEN"}
	pr.Accept = "application/vnd.github+json"
	// GitHub's refresh grant takes no scope: a GitHub App's token has
	// the App's permissions, an OAuth App's the scopes of its sign-in.
	pr.noScopedRefresh = "GitHub does not issue a token for other scopes on refresh; sign in a second profile with the scopes you need (OAUTH_<NAME>_SCOPES)"
}

func (pr *Provider) presetGoogle(p *config.Profile) {
	pr.static = Endpoints{
		AuthURL:       "https://accounts.google.com/o/oauth2/v2/auth",
		DeviceAuthURL: "https://oauth2.googleapis.com/device/code",
		TokenURL:      "https://oauth2.googleapis.com/token",
		UserinfoURL:   "https://openidconnect.googleapis.com/v1/userinfo",
		RevokeURL:     "https://oauth2.googleapis.com/revoke",
		APIURL:        "https://www.googleapis.com",
	}
	if len(pr.Scopes) == 0 {
		// Google allows only a few scopes on the device flow.
		pr.Scopes = []string{"openid", "email", "profile"}
	}
	pr.TokenEnv = []string{"GOOGLE_OAUTH_ACCESS_TOKEN"}
}

func (pr *Provider) presetAuth0(p *config.Profile) {
	pr.static = Endpoints{
		AuthURL:       p.Issuer + "/authorize",
		DeviceAuthURL: p.Issuer + "/oauth/device/code",
		TokenURL:      p.Issuer + "/oauth/token",
		UserinfoURL:   p.Issuer + "/userinfo",
		RevokeURL:     p.Issuer + "/oauth/revoke",
		APIURL:        audienceURL(p.Audience),
	}
	if p.Audience != "" {
		pr.DeviceAuthParams = url.Values{"audience": {p.Audience}}
	}
}

func (pr *Provider) presetOkta(p *config.Profile) {
	pr.static = Endpoints{
		AuthURL:       p.Issuer + "/v1/authorize",
		DeviceAuthURL: p.Issuer + "/v1/device/authorize",
		TokenURL:      p.Issuer + "/v1/token",
		UserinfoURL:   p.Issuer + "/v1/userinfo",
		RevokeURL:     p.Issuer + "/v1/revoke",
	}
}

func (pr *Provider) presetKeycloak(p *config.Profile) {
	base := p.Issuer + "/protocol/openid-connect"
	pr.static = Endpoints{
		AuthURL:       base + "/auth",
		DeviceAuthURL: base + "/auth/device",
		TokenURL:      base + "/token",
		UserinfoURL:   base + "/userinfo",
		RevokeURL:     base + "/revoke",
	}
}

func (pr *Provider) presetAWS(p *config.Profile) {
	a := &AWS{
		StartURL: p.StartURL, Region: p.Region, AccountID: p.AccountID, RoleName: p.RoleName,
		OIDCURL: p.OidcURL, PortalURL: p.PortalURL,
	}
	if a.OIDCURL == "" {
		a.OIDCURL = awssso.OIDCURL(p.Region)
	}
	if a.PortalURL == "" {
		a.PortalURL = awssso.PortalURL(p.Region)
	}
	pr.AWS = a
	pr.static = Endpoints{
		DeviceAuthURL: a.OIDCURL + "/device_authorization",
		TokenURL:      a.OIDCURL + "/token",
		APIURL:        a.PortalURL,
	}
	// The registration's scope: with it, tokens come with refresh tokens.
	pr.Scopes = []string{awssso.ScopeAccountAccess}
	pr.noScopedRefresh = "AWS IAM Identity Center tokens have no scopes to narrow; choose the account and role with OAUTH_ACCOUNT_ID and OAUTH_ROLE_NAME (a second profile for another role)"
}

// audienceURL is an Auth0 audience as the API base URL: only when it is a
// URL (an audience may be any identifier, such as "my-api"); Check has
// already refused one that would carry the token over plain http.
func audienceURL(aud string) string {
	if !strings.Contains(aud, "://") {
		return ""
	}
	return aud
}
