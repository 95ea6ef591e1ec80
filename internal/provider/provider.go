// Package provider knows the identity providers devicegate supports: their
// endpoints, default scopes, quirks, and how to find out who signed in.
//
// A Provider is built from a config.Profile without any network access, so
// that the hot path (printing a cached token) never waits on the provider.
// The generic "oidc" preset discovers its endpoints lazily, on first use
// (RFC 8628 §4, OpenID Connect Discovery 1.0).
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/awssso"
	"github.com/devicegate/devicegate/internal/config"
)

// MaxBody bounds every provider response we read: a broken or hostile
// server must not make us buffer an unbounded body.
const MaxBody = 1 << 20

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
	// Prefix is the profile's variable prefix (OAUTH, OAUTH_GH), for messages.
	Prefix string

	HTTP *http.Client

	issuer    string
	overrides Endpoints
	static    Endpoints

	noScopedRefresh string // why the provider cannot narrow scope on refresh

	once     sync.Once
	resolved Endpoints
	err      error
}

// New builds the provider of a validated profile. client is used for
// discovery and identity requests.
func New(p *config.Profile, client *http.Client) (*Provider, error) {
	secret, err := p.Secret()
	if err != nil {
		return nil, err
	}
	pr := &Provider{
		Kind:         p.Provider,
		Profile:      p.Name,
		ClientID:     strings.TrimSpace(p.ClientID),
		ClientSecret: secret,
		Scopes:       p.ScopeList(),
		HTTP:         client,
		issuer:       p.Issuer,
		Accept:       "application/json",
		OneOff:       bool(p.OneOff),
		Prefix:       p.Prefix,
		overrides: Endpoints{
			DeviceAuthURL: p.DeviceAuthURL, TokenURL: p.TokenURL, UserinfoURL: p.UserinfoURL,
			RevokeURL: p.RevokeURL, APIURL: p.ApiURL,
		},
	}
	oidcDefaults := []string{"openid", "profile", "email", "offline_access"}
	is := p.Issuer
	switch p.Provider {
	case "microsoft":
		base := "https://login.microsoftonline.com/" + url.PathEscape(p.Tenant) + "/oauth2/v2.0"
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
		return nil, fmt.Errorf("unknown provider %q", p.Provider)
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

// Var names a setting of this profile's, e.g. Var("ROLE_NAME") is
// OAUTH_ROLE_NAME for the default profile.
func (p *Provider) Var(name string) string {
	if p.Prefix == "" {
		return "OAUTH_" + name
	}
	return p.Prefix + "_" + name
}

// ScopedRefreshError says why the provider cannot issue a token for other
// scopes from a refresh token (RFC 6749 §6's scope parameter), or nil.
func (p *Provider) ScopedRefreshError() error {
	if p.noScopedRefresh == "" {
		return nil
	}
	return errors.New(p.noScopedRefresh)
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
	if err := GetJSON(ctx, p.HTTP, u, nil, &d); err != nil {
		return Endpoints{}, fmt.Errorf("discovering endpoints of %s: %w", p.issuer, err)
	}
	if d.TokenEndpoint == "" {
		return Endpoints{}, &Error{Op: "discovery", Msg: fmt.Sprintf("%s has no token_endpoint in its openid-configuration", u)}
	}
	return Endpoints{
		DeviceAuthURL: d.DeviceAuthorizationEndpoint,
		TokenURL:      d.TokenEndpoint,
		UserinfoURL:   d.UserinfoEndpoint,
		RevokeURL:     d.RevocationEndpoint,
	}, nil
}

// Error is an error answered by, or about, the provider: unreachable, an
// HTTP error, a body that is not what the protocol promises. Op says what
// we were doing.
type Error struct {
	Op     string
	Status int    // HTTP status, 0 when no answer arrived
	Code   string // the OAuth error code, when one was given
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether retrying may help: no answer, or a 5xx, or 429.
func (e *Error) Transient() bool {
	return e.Status == 0 && e.Code == "" || e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// GetJSON GETs u with a bearer token (when non-empty) and decodes the JSON
// answer into v, reading at most MaxBody bytes.
func GetJSON(ctx context.Context, c *http.Client, u string, header http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return &Error{Op: "get", Msg: "cannot reach " + HostOf(u), Err: stripURL(err)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxBody+1))
	if err != nil {
		return &Error{Op: "get", Status: res.StatusCode, Msg: "reading the answer of " + HostOf(u), Err: stripURL(err)}
	}
	if len(body) > MaxBody {
		return &Error{Op: "get", Status: res.StatusCode, Msg: fmt.Sprintf("%s answered more than %d bytes", HostOf(u), MaxBody)}
	}
	if res.StatusCode/100 != 2 {
		return &Error{Op: "get", Status: res.StatusCode, Msg: fmt.Sprintf("%s answered HTTP %d%s", HostOf(u), res.StatusCode, Snippet(res.Header, body))}
	}
	if !IsJSON(res.Header) && !json.Valid(body) {
		return &Error{Op: "get", Status: res.StatusCode, Msg: fmt.Sprintf("%s answered %s, not JSON", HostOf(u), mediaType(res.Header))}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Op: "get", Status: res.StatusCode, Msg: "malformed JSON from " + HostOf(u), Err: err}
	}
	return nil
}

// IsJSON reports whether the response says it is JSON.
func IsJSON(h http.Header) bool {
	mt := mediaType(h)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt == "" {
		return "an unknown content type"
	}
	return mt
}

// Snippet summarises an error body for a message: the OAuth error fields
// when the body is JSON, or the content type otherwise. It never echoes an
// HTML page into the terminal.
func Snippet(h http.Header, body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Error != "" && e.Description != "":
			return fmt.Sprintf(": %s: %s", e.Error, Clip(e.Description, 300))
		case e.Error != "":
			return ": " + e.Error
		case e.Message != "":
			return ": " + Clip(e.Message, 300)
		}
	}
	if len(body) == 0 {
		return ""
	}
	return " (" + mediaType(h) + " body)"
}

// Clip shortens s to at most n bytes on a rune boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// HostOf names the host of u for messages ("the provider" if u has none).
func HostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return "the provider"
}

// stripURL drops the URL from a *url.Error: our URLs carry no secrets, but
// the messages read better as "cannot reach host: connection refused".
func stripURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
