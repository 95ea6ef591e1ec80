// Package preset checks what each provider preset demands of a profile
// beyond the generic rules internal/config enforces. It links nothing that
// talks to a network, so that everything that opens a profile, with or
// without a provider, refuses the same ones.
package preset

import (
	"errors"
	"fmt"
	"strings"

	"github.com/devicegate/devicegate/internal/config"
)

// Check validates what a preset demands of its profile beyond the generic
// rules config enforces, naming the variable at fault (*config.Error):
// Google refuses a device client without a secret, Microsoft needs a
// tenant that fits in its URL, and the issuer-based presets need an issuer
// unless both endpoints are given.
func Check(p *config.Profile) error {
	if err := checkFlow(p); err != nil {
		return err
	}
	switch p.Provider {
	case "google":
		sec, err := p.Secret()
		if err != nil {
			return err
		}
		if sec == "" {
			return &config.Error{Var: p.Var("CLIENT_SECRET"), Msg: fmt.Sprintf("is required for Google (set it or %s)", p.Var("CLIENT_SECRET_FILE"))}
		}
	case "microsoft":
		if p.Tenant != "" && !validTenant(p.Tenant) {
			return &config.Error{Var: p.Var("TENANT"), Msg: fmt.Sprintf("invalid tenant %q: use consumers, organizations, common, a tenant id or a domain", p.Tenant)}
		}
	case "auth0", "okta", "keycloak", "oidc":
		start, startVar := p.DeviceAuthURL, "DEVICE_AUTH_URL"
		if p.Flow == config.FlowCode {
			start, startVar = p.AuthURL, "AUTH_URL"
		}
		if p.Issuer == "" && (start == "" || p.TokenURL == "") {
			return &config.Error{Var: p.Var("ISSUER"), Msg: fmt.Sprintf("is required for %s (or set both %s and %s)", p.Provider, p.Var(startVar), p.Var("TOKEN_URL"))}
		}
		// Auth0's audience is the API base URL when OAUTH_API_URL is not
		// set: `sidecar api` sends the token there, so it gets the check
		// every other such URL gets.
		if p.Provider == "auth0" && p.ApiURL == "" && strings.Contains(p.Audience, "://") {
			if err := config.CheckURL(p.Var("AUDIENCE"), p.Audience); err != nil {
				var ce *config.Error
				if errors.As(err, &ce) {
					ce.Msg += fmt.Sprintf(" (it is the API base URL while %s is unset)", p.Var("API_URL"))
				}
				return err
			}
		}
	case "aws":
		return checkAWS(p)
	}
	return nil
}

// checkFlow: the code flow is for OAuth providers (AWS IAM Identity
// Center signs in with its device flow only), and GitHub's OAuth apps
// exchange a code only with the client secret.
func checkFlow(p *config.Profile) error {
	if p.Flow != config.FlowCode {
		return nil
	}
	switch p.Provider {
	case "aws":
		return &config.Error{Var: p.Var("FLOW"), Msg: "aws signs in with the device flow only: leave it unset or device"}
	case "github":
		sec, err := p.Secret()
		if err != nil {
			return err
		}
		if sec == "" {
			return &config.Error{Var: p.Var("CLIENT_SECRET"), Msg: fmt.Sprintf("is required for GitHub's code flow: the OAuth app's client secret (or set %s)", p.Var("CLIENT_SECRET_FILE"))}
		}
	}
	return nil
}

// checkAWS: IAM Identity Center needs the start URL, its region, and the
// account and role to get credentials for; no client id, because the
// client is registered with SSO-OIDC at the first sign-in.
func checkAWS(p *config.Profile) error {
	bad := func(name, format string, a ...any) error {
		return &config.Error{Var: p.Var(name), Msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case strings.TrimSpace(p.ClientID) != "":
		return bad("CLIENT_ID", "must be empty for aws: devicegate registers its own client with IAM Identity Center")
	case p.StartURL == "":
		return bad("START_URL", "is required for aws: your AWS access portal URL, e.g. https://d-1234567890.awsapps.com/start")
	case !validRegion(p.Region):
		return bad("REGION", "invalid or missing AWS region %q: the region of your IAM Identity Center, e.g. eu-west-1", p.Region)
	case len(p.AccountID) != 12 || strings.Trim(p.AccountID, "0123456789") != "":
		return bad("ACCOUNT_ID", "invalid or missing AWS account id %q: want its 12 digits", p.AccountID)
	case !validRole(p.RoleName):
		return bad("ROLE_NAME", "invalid or missing role name %q: the permission set's role, e.g. ReadOnly", p.RoleName)
	}
	return nil
}

// validRegion accepts AWS region names: lowercase words joined by hyphens,
// ending in a number (eu-west-1, us-gov-west-1, ap-southeast-5).
func validRegion(r string) bool {
	parts := strings.Split(r, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for i, w := range parts {
		if w == "" {
			return false
		}
		last := i == len(parts)-1
		for _, c := range w {
			if last && (c < '0' || c > '9') || !last && (c < 'a' || c > 'z') {
				return false
			}
		}
	}
	return len(parts[len(parts)-1]) <= 2
}

// validRole accepts IAM role names: 1-64 of letters, digits and +=,.@_-
// (IAM API Reference, CreateRole, RoleName).
func validRole(r string) bool {
	if len(r) == 0 || len(r) > 64 {
		return false
	}
	return strings.Trim(r, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") == ""
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
