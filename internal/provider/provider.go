// Package provider knows the identity providers devicegate supports: their
// endpoints, default scopes, quirks, and how to find out who signed in.
// What differs between OAuth providers lives here, so that the device flow,
// the session and the Telegram messages treat them alike (AWS IAM Identity
// Center, whose credentials are not OAuth tokens, is the one the session
// handles apart).
//
// A Provider is built from a config.Profile without any network access, so
// that the hot path (printing a cached token) never waits on the provider.
// The generic "oidc" preset discovers its endpoints lazily, on first use
// (RFC 8628 §4, OpenID Connect Discovery 1.0).
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/awssso"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/oauthhttp"
)

// Endpoints are the URLs of one provider. Empty means unsupported.
type Endpoints struct {
	DeviceAuthURL string
	TokenURL      string
	UserinfoURL   string
	RevokeURL     string
	APIURL        string
}

// Provider is one configured account provider.
type Provider struct {
	Kind     string // the preset: microsoft, github, google, auth0, okta, keycloak, oidc, aws
	Profile  string
	ClientID string
	// ClientSecret is sent as a form parameter when set. A device client is
	// a public client (RFC 8628 §5.6), but Google insists on one.
	ClientSecret string
	Scopes       []string
	// DeviceAuthParams are extra parameters for the device authorization
	// request, e.g. Auth0's audience.
	DeviceAuthParams url.Values
	// TokenEnv lists the variables `sidecar run` sets to the access token,
	// besides ACCESS_TOKEN: the provider's usual names (GH_TOKEN, ...).
	TokenEnv []string
	// Accept is the Accept header for `sidecar api` requests.
	Accept string
	// OneOff: sign-ins keep no refresh token (OAUTH_ONE_OFF).
	OneOff bool
	// AWS is set for the aws preset (IAM Identity Center).
	AWS *AWS

	HTTP *http.Client

	prefix    string // of the profile's variables, e.g. OAUTH_WORK
	issuer    string
	overrides Endpoints
	static    Endpoints

	noScopedRefresh string // why the provider cannot narrow scope on refresh

	once     sync.Once
	resolved Endpoints
	err      error
}

// New builds the provider of a validated profile (config's rules and
// Check's). client is used for
// discovery and identity requests.
func New(p *config.Profile, client *http.Client) (*Provider, error) {
	secret, err := p.Secret()
	if err != nil {
		return nil, err
	}
	pr := &Provider{
		Kind:         p.Provider,
		Profile:      p.Name,
		prefix:       p.Prefix,
		ClientID:     strings.TrimSpace(p.ClientID),
		ClientSecret: secret,
		Scopes:       p.ScopeList(),
		HTTP:         client,
		issuer:       p.Issuer,
		Accept:       "application/json",
		OneOff:       bool(p.OneOff),
		overrides: Endpoints{
			DeviceAuthURL: p.DeviceAuthURL, TokenURL: p.TokenURL, UserinfoURL: p.UserinfoURL,
			RevokeURL: p.RevokeURL, APIURL: p.ApiURL,
		},
	}
	oidcDefaults := []string{"openid", "profile", "email", "offline_access"}
	is := p.Issuer
	switch p.Provider {
	case "microsoft":
		tenant := p.Tenant
		if tenant == "" {
			tenant = "consumers"
		}
		base := "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0"
		pr.static = Endpoints{
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
	case "github":
		pr.static = Endpoints{
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
	case "google":
		pr.static = Endpoints{
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
	case "auth0":
		pr.static = Endpoints{
			DeviceAuthURL: is + "/oauth/device/code",
			TokenURL:      is + "/oauth/token",
			UserinfoURL:   is + "/userinfo",
			RevokeURL:     is + "/oauth/revoke",
			APIURL:        p.Audience,
		}
		if p.Audience != "" {
			pr.DeviceAuthParams = url.Values{"audience": {p.Audience}}
		}
	case "okta":
		pr.static = Endpoints{
			DeviceAuthURL: is + "/v1/device/authorize",
			TokenURL:      is + "/v1/token",
			UserinfoURL:   is + "/v1/userinfo",
			RevokeURL:     is + "/v1/revoke",
		}
	case "keycloak":
		base := is + "/protocol/openid-connect"
		pr.static = Endpoints{
			DeviceAuthURL: base + "/auth/device",
			TokenURL:      base + "/token",
			UserinfoURL:   base + "/userinfo",
			RevokeURL:     base + "/revoke",
		}
	case "aws":
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
	case "oidc":
		// discovered lazily
	default:
		return nil, &config.Error{Var: p.Var("PROVIDER"), Msg: fmt.Sprintf("unknown provider %q", p.Provider)}
	}
	if len(pr.Scopes) == 0 {
		pr.Scopes = oidcDefaults
	}
	return pr, nil
}

// AWS is an aws profile's IAM Identity Center settings.
type AWS struct {
	StartURL, Region, AccountID, RoleName string
	OIDCURL, PortalURL                    string // SSO-OIDC and portal endpoints
}

// ScopedRefreshError says why the provider cannot issue a token for other
// scopes from a refresh token (RFC 6749 §6's scope parameter), or nil.
func (p *Provider) ScopedRefreshError() error {
	if p.noScopedRefresh == "" {
		return nil
	}
	return errors.New(p.noScopedRefresh)
}

// Var names a setting of this profile, e.g. Var("CLIENT_ID") is
// OAUTH_WORK_CLIENT_ID for the work profile, so messages name the variable
// the person actually set.
func (p *Provider) Var(name string) string {
	prefix := p.prefix
	if prefix == "" {
		prefix = "OAUTH"
	}
	return prefix + "_" + name
}

// AddressVar names the setting that says where the provider is (its
// issuer, or its token URL), or "" for a preset with fixed public
// endpoints.
func (p *Provider) AddressVar() string {
	switch {
	case p.issuer != "":
		return p.Var("ISSUER")
	case p.overrides.TokenURL != "":
		return p.Var("TOKEN_URL")
	}
	return ""
}

// Endpoints returns the provider's endpoints, discovering them first for
// the oidc preset. Overrides from the configuration always win.
func (p *Provider) Endpoints(ctx context.Context) (Endpoints, error) {
	p.once.Do(func() {
		e := p.static
		if p.Kind == "oidc" && p.issuer != "" && (p.overrides.DeviceAuthURL == "" || p.overrides.TokenURL == "") {
			d, err := p.discover(ctx)
			if err != nil {
				p.err = err
				return
			}
			e = d
		}
		o := p.overrides
		for _, f := range []struct {
			dst *string
			src string
		}{
			{&e.DeviceAuthURL, o.DeviceAuthURL}, {&e.TokenURL, o.TokenURL}, {&e.UserinfoURL, o.UserinfoURL},
			{&e.RevokeURL, o.RevokeURL}, {&e.APIURL, o.APIURL},
		} {
			if f.src != "" {
				*f.dst = f.src
			}
		}
		if e.DeviceAuthURL == "" {
			p.err = fmt.Errorf("%s does not support the device authorization grant (no device_authorization_endpoint)", p.issuer)
			return
		}
		p.resolved = e
	})
	return p.resolved, p.err
}

// OAuth2 returns the x/oauth2 configuration of the provider.
func (p *Provider) OAuth2(ctx context.Context) (*oauth2.Config, error) {
	e, err := p.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret,
		Scopes:       p.Scopes,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: e.DeviceAuthURL,
			TokenURL:      e.TokenURL,
			// Always in the body: a device client is public, and with
			// AuthStyleAutoDetect x/oauth2 sends every failed request twice.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}, nil
}

// discovery is the part of the OpenID Provider Metadata we use.
type discovery struct {
	Issuer                      string `json:"issuer"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
	UserinfoEndpoint            string `json:"userinfo_endpoint"`
	RevocationEndpoint          string `json:"revocation_endpoint"`
}

func (p *Provider) discover(ctx context.Context) (Endpoints, error) {
	u := p.issuer + "/.well-known/openid-configuration"
	var d discovery
	if err := oauthhttp.GetJSON(ctx, p.HTTP, u, nil, &d); err != nil {
		return Endpoints{}, fmt.Errorf("discovering endpoints of %s: %w", p.issuer, err)
	}
	if d.TokenEndpoint == "" {
		return Endpoints{}, &oauthhttp.Error{Op: "discovery", Msg: fmt.Sprintf("%s has no token_endpoint in its openid-configuration", u)}
	}
	return Endpoints{
		DeviceAuthURL: d.DeviceAuthorizationEndpoint,
		TokenURL:      d.TokenEndpoint,
		UserinfoURL:   d.UserinfoEndpoint,
		RevokeURL:     d.RevocationEndpoint,
	}, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
