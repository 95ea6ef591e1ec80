// Package preset holds, in one value per provider, what devicegate knows
// about it without the network: what it demands of a profile, its default
// scopes, the variables its tools read the token from, whether a refresh
// may narrow scopes, which sign-in flows it supports and its quirks.
// internal/provider extends a Preset with endpoints and identity;
// internal/session picks the sign-in strategy it names.
//
// Adding a provider is one file here (its Preset and its checks), its
// name in the list below, and its tests: a complete profile in
// TestEveryPreset's table, which runs every preset through the same
// checks. config learns the kinds from Kinds, as a parameter of its Load. Only a provider whose user endpoint is not
// OpenID's userinfo (UserShape) or whose sign-in is not OAuth (Strategy)
// also touches internal/provider or internal/session.
//
// The package links nothing that talks to a network, so that everything
// that opens a profile, with or without a provider, refuses the same ones.
// The presets are package-level values the linker lays out: nothing is
// built at start.
package preset

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/devicegate/devicegate/internal/config"
)

// Preset is what one provider kind is, without the network.
type Preset struct {
	// Kind is the OAUTH_PROVIDER value.
	Kind string
	// Title names the provider the way people know it, for messages.
	Title string
	// DefaultScopes are asked for when OAUTH_SCOPES is unset. Callers
	// copy them before changing them.
	DefaultScopes []string
	// FixedScopes: the provider's scopes are DefaultScopes whatever is
	// configured (AWS: the registration's scope).
	FixedScopes bool
	// OfflineAccess: the provider issues a refresh token only for
	// offline_access, so every sign-in that wants one (not one-off) and
	// every refresh for other scopes asks for it (Microsoft; MSAL does
	// the same).
	OfflineAccess bool
	// ImplicitScopes are granted without being listed in the token
	// response's scope (Microsoft leaves out the OpenID scopes).
	ImplicitScopes []string
	// TokenEnv lists the variables `sidecar run` sets to the access
	// token besides ACCESS_TOKEN: the names the provider's tools read.
	TokenEnv []string
	// ToolEnv, when set, gives the extra token variable names and the
	// NAME=value pairs a tool needs for a profile's API base URL (GitHub
	// Enterprise Server: GH_ENTERPRISE_TOKEN and GH_HOST).
	ToolEnv func(apiURL string) (names, env []string)
	// TokenHosts, when set, lists the origins besides the API's that the
	// provider's tools send the same token to, for the tool proxy.
	TokenHosts func(apiURL string) []string
	// Accept is the Accept header of `sidecar api` requests; "" means
	// application/json.
	Accept string
	// NoScopedRefresh, when set, says why the provider cannot issue a
	// token for other scopes from a refresh token (RFC 6749 §6).
	NoScopedRefresh string

	// Flows are the sign-in flows the provider supports: config.FlowDevice
	// (RFC 8628) and config.FlowCode (RFC 6749 §4.1 with PKCE).
	Flows []string
	// CodeSecret, when set, says which client secret the code flow's
	// exchange requires (GitHub's OAuth apps).
	CodeSecret string
	// NeedsSecret: the provider refuses a client without a secret, even
	// on the device flow (Google).
	NeedsSecret bool
	// NeedsIssuer: the endpoints derive from OAUTH_ISSUER, unless both the
	// flow's first endpoint and the token endpoint are configured.
	NeedsIssuer bool
	// OwnClient: devicegate registers its own client at the provider, so
	// the profile has no client id (AWS IAM Identity Center).
	OwnClient bool
	// Discover: the endpoints come from OpenID Connect Discovery 1.0 on
	// first use (the generic oidc preset).
	Discover bool
	// Redirect is the code flow's default redirect address; "" means
	// DefaultRedirect.
	Redirect string
	// AuthParams, when set, adds the provider's parameters to the code
	// flow's authorization request (oneOff: no refresh token wanted).
	AuthParams func(scopes []string, oneOff bool) url.Values
	// DeviceAuthParams, when set, adds parameters to the device
	// authorization request (Auth0's audience).
	DeviceAuthParams func(p *config.Profile) url.Values
	// Endpoints are the provider's fixed endpoints for a profile (nil
	// when they are discovered).
	Endpoints func(p *config.Profile) Endpoints
	// User is the shape of the provider's user endpoint, which
	// internal/provider reads to find out who signed in.
	User UserShape
	// SignIn is how internal/session signs in, refreshes and signs out.
	SignIn Strategy
	// Check, when set, validates what the provider demands of a profile
	// beyond the rules the fields above express.
	Check func(p *config.Profile) error
}

// Endpoints are the URLs of one provider. Empty means unsupported.
type Endpoints struct {
	AuthURL       string // the authorization endpoint (code flow)
	DeviceAuthURL string
	TokenURL      string
	UserinfoURL   string
	RevokeURL     string
	APIURL        string
}

// UserShape is the shape of a provider's user endpoint.
type UserShape int

const (
	// UserInfo is OpenID Connect's userinfo (Core 1.0 §5.3).
	UserInfo UserShape = iota
	// GitHubUser is GitHub's GET /user (and /user/emails) on the API.
	GitHubUser
	// GraphMe is Microsoft Graph's /me.
	GraphMe
)

// Strategy is how a provider's sessions sign in, refresh and sign out.
type Strategy int

const (
	// OAuth is the OAuth 2.0 device or code flow, refresh tokens
	// (RFC 6749 §6) and RFC 7009 revocation.
	OAuth Strategy = iota
	// AWSSSO is AWS IAM Identity Center: a client registered with
	// SSO-OIDC, its device flow, and role credentials from the portal.
	AWSSSO
)

// Credentials names what the strategy's tools get in place of the access
// token, "" when they get the token (or a placeholder the tool proxy
// replaces with it).
func (s Strategy) Credentials() string {
	if s == AWSSSO {
		// SigV4 signs each request with the secret key: no proxy can
		// add them later, so they are handed over.
		return "role credentials"
	}
	return ""
}

// Bearer says whether the provider's API and tools take the access token
// as a bearer token (RFC 6750). When not, its token only buys the
// credentials its strategy names (Strategy.Credentials): `sidecar run`
// hands those over, every run a token export, and `sidecar api` has no
// API to call with the token.
func (p *Preset) Bearer() bool { return p.SignIn.Credentials() == "" }

// Default code-flow redirect addresses (RFC 8252 §7.3: a loopback IP
// literal, any port; the port is picked at each sign-in).
const DefaultRedirect = "http://127.0.0.1/callback"

// OpenIDScopes are the default scopes of an OpenID provider: who signed
// in, and a refresh token.
var OpenIDScopes = []string{"openid", "profile", "email", "offline_access"}

// all lists the presets, in the order messages name them.
var all = []*Preset{microsoft, github, google, auth0, okta, keycloak, oidc, aws}

// All returns every preset.
func All() []*Preset { return slices.Clone(all) }

// Kinds returns what config.Load checks of each preset, in All's order:
// config cannot import this package (the presets read config.Profile), so
// it takes them as a parameter, config.Load(preset.Kinds()).
func Kinds() []config.Kind {
	out := make([]config.Kind, len(all))
	for i, p := range all {
		out[i] = config.Kind{Name: p.Kind, OwnClient: p.OwnClient, RunExports: !p.Bearer()}
	}
	return out
}

// Lookup returns the preset of a kind, or nil.
func Lookup(kind string) *Preset {
	for _, p := range all {
		if p.Kind == kind {
			return p
		}
	}
	return nil
}

// Supports says whether the preset signs in with flow.
func (p *Preset) Supports(flow string) bool { return slices.Contains(p.Flows, flow) }

// RedirectURL is the code flow's default redirect address.
func (p *Preset) RedirectURL() string {
	if p.Redirect != "" {
		return p.Redirect
	}
	return DefaultRedirect
}

// FlowError says why the preset cannot sign in with flow under the
// profile's variables (prefix: e.g. OAUTH_WORK; secret: the client secret
// set), or nil. OAUTH_FLOW and `sidecar login --flow` share it; hint is
// added to the message (how to set the secret, what to leave the flow at).
func (p *Preset) FlowError(varOf func(string) string, flow, secret string, hint bool) error {
	if !p.Supports(flow) {
		msg := fmt.Sprintf("%s signs in with the %s flow only", p.Kind, p.Flows[0])
		if hint {
			msg += fmt.Sprintf(": leave it unset or %s", p.Flows[0])
		}
		return &config.Error{Var: varOf("FLOW"), Msg: msg}
	}
	if flow == config.FlowCode && p.CodeSecret != "" && secret == "" {
		msg := fmt.Sprintf("is required for %s's code flow: %s", p.Title, p.CodeSecret)
		if hint {
			msg += fmt.Sprintf(" (or set %s)", varOf("CLIENT_SECRET_FILE"))
		}
		return &config.Error{Var: varOf("CLIENT_SECRET"), Msg: msg}
	}
	return nil
}

// Check validates what the profile's preset demands of it beyond the
// generic rules config enforces, naming the variable at fault
// (*config.Error). An unknown kind passes: config refuses it.
func Check(p *config.Profile) error {
	ps := Lookup(p.Provider)
	if ps == nil {
		return nil
	}
	if p.Flow == config.FlowCode {
		sec := ""
		if ps.CodeSecret != "" {
			var err error
			if sec, err = p.Secret(); err != nil {
				return err
			}
		}
		if err := ps.FlowError(p.Var, p.Flow, sec, true); err != nil {
			return err
		}
	}
	if ps.NeedsSecret {
		sec, err := p.Secret()
		if err != nil {
			return err
		}
		if sec == "" {
			return &config.Error{Var: p.Var("CLIENT_SECRET"), Msg: fmt.Sprintf("is required for %s (set it or %s)", ps.Title, p.Var("CLIENT_SECRET_FILE"))}
		}
	}
	if ps.NeedsIssuer {
		start, startVar := p.DeviceAuthURL, "DEVICE_AUTH_URL"
		if p.Flow == config.FlowCode {
			start, startVar = p.AuthURL, "AUTH_URL"
		}
		if p.Issuer == "" && (start == "" || p.TokenURL == "") {
			return &config.Error{Var: p.Var("ISSUER"), Msg: fmt.Sprintf("is required for %s (or set both %s and %s)", p.Provider, p.Var(startVar), p.Var("TOKEN_URL"))}
		}
	}
	if ps.Check != nil {
		return ps.Check(p)
	}
	return nil
}

// ContainsFold says whether list holds s, ignoring case (scope names).
func ContainsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
