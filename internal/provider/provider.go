// Package provider extends a preset (internal/preset: what a provider kind
// is without the network, its quirks and flows) with a profile's
// endpoints, the OAuth configuration and how to find out who signed in,
// so that the device flow, the session and the Telegram messages treat
// every provider alike.
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
	"slices"
	"strings"
	"sync"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/preset"
)

// Endpoints are the URLs of one provider. Empty means unsupported.
type Endpoints = preset.Endpoints

// Provider is one configured account provider.
type Provider struct {
	Kind string // the preset's kind (OAUTH_PROVIDER; preset.All lists them)
	// Preset is what the provider kind is without the network: its
	// quirks, flows, tool variables (internal/preset).
	Preset   *preset.Preset
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
	// Flow is how sign-ins happen: config.FlowDevice or config.FlowCode.
	Flow string
	// RedirectURL is the configured code-flow redirect address
	// (OAUTH_REDIRECT_URL), "" for the preset's default (Redirect).
	RedirectURL string

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
		Flow:         p.Flow,
		RedirectURL:  p.RedirectURL,
		overrides: Endpoints{
			AuthURL:       p.AuthURL,
			DeviceAuthURL: p.DeviceAuthURL, TokenURL: p.TokenURL, UserinfoURL: p.UserinfoURL,
			RevokeURL: p.RevokeURL, APIURL: p.ApiURL,
		},
	}
	ps := preset.Lookup(p.Provider)
	if ps == nil {
		return nil, &config.Error{Var: p.Var("PROVIDER"), Msg: fmt.Sprintf("unknown provider %q", p.Provider)}
	}
	pr.setup(ps, p)
	if pr.Flow == "" {
		pr.Flow = config.FlowDevice
	}
	if len(pr.Scopes) == 0 {
		pr.Scopes = slices.Clone(preset.OpenIDScopes)
	}
	return pr, nil
}

// AWS is an aws profile's IAM Identity Center settings.
type AWS struct {
	StartURL, Region, AccountID, RoleName string
	OIDCURL, PortalURL                    string // SSO-OIDC and portal endpoints
}

// EndpointError means the provider's discovery document names an endpoint
// that fails the check a configured URL gets (https://, or plain http only
// to a loopback host; no user in the URL). It is the provider's fault, not
// the configuration's, so it does not unwrap to the *config.Error in Err.
type EndpointError struct {
	URL      string    // the discovery document
	Err      error     // what is wrong, naming the document's member
	Override [2]string // the variables that set the endpoints instead
}

func (e *EndpointError) Error() string { return e.URL + ": " + e.Err.Error() }

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
		start := p.overrides.DeviceAuthURL
		if p.Flow == config.FlowCode {
			start = p.overrides.AuthURL
		}
		if p.Preset.Discover && p.issuer != "" && (start == "" || p.overrides.TokenURL == "") {
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
			{&e.AuthURL, o.AuthURL}, {&e.DeviceAuthURL, o.DeviceAuthURL}, {&e.TokenURL, o.TokenURL}, {&e.UserinfoURL, o.UserinfoURL},
			{&e.RevokeURL, o.RevokeURL}, {&e.APIURL, o.APIURL},
		} {
			if f.src != "" {
				*f.dst = f.src
			}
		}
		switch {
		case p.Flow == config.FlowCode && e.AuthURL == "":
			p.err = fmt.Errorf("%s has no authorization endpoint for the code flow (no authorization_endpoint; set %s)", p.issuer, p.Var("AUTH_URL"))
			return
		case p.Flow != config.FlowCode && e.DeviceAuthURL == "":
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
			AuthURL:       e.AuthURL,
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
	AuthorizationEndpoint       string `json:"authorization_endpoint"`
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
	// Discovered endpoints carry device codes, tokens and client secrets
	// like configured ones: the same https:// check (plain http only to a
	// loopback host), or a hostile or broken document could send them in
	// the clear.
	for _, f := range []struct{ name, val string }{
		{"authorization_endpoint", d.AuthorizationEndpoint},
		{"device_authorization_endpoint", d.DeviceAuthorizationEndpoint}, {"token_endpoint", d.TokenEndpoint},
		{"userinfo_endpoint", d.UserinfoEndpoint}, {"revocation_endpoint", d.RevocationEndpoint},
	} {
		if f.val == "" {
			continue
		}
		if err := config.CheckURL(f.name, f.val); err != nil {
			return Endpoints{}, &EndpointError{URL: u, Err: err, Override: [2]string{p.Var("DEVICE_AUTH_URL"), p.Var("TOKEN_URL")}}
		}
	}
	return Endpoints{
		AuthURL:       d.AuthorizationEndpoint,
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
