package provider

import (
	"fmt"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/config"
	"golang.org/x/oauth2"
)

// NotGranted lists the requested scopes the provider did not grant.
// Microsoft answers with resource-qualified names and leaves out the
// OpenID scopes, so those are compared loosely; offline_access shows as a
// held refresh token rather than in the scope list.
func (p *Provider) NotGranted(requested, granted []string, hasRefresh bool) []string {
	norm := func(s string) string {
		s = strings.ToLower(s)
		return strings.TrimPrefix(s, "https://graph.microsoft.com/")
	}
	have := map[string]bool{}
	for _, g := range granted {
		have[norm(g)] = true
	}
	missing := []string{}
	for _, r := range requested {
		n := norm(r)
		switch {
		case have[n]:
		case n == "offline_access" && hasRefresh:
		case p.Kind == "microsoft" && (n == "openid" || n == "profile" || n == "email" || n == "offline_access"):
		default:
			missing = append(missing, r)
		}
	}
	return missing
}

// Title names a preset the way people know it, for messages.
func Title(kind string) string {
	switch kind {
	case "microsoft":
		return "Microsoft"
	case "github":
		return "GitHub"
	case "google":
		return "Google"
	case "auth0":
		return "Auth0"
	case "okta":
		return "Okta"
	case "keycloak":
		return "Keycloak"
	}
	return "OpenID"
}

// GrantedScopes reads the token response's scope (space separated; GitHub
// uses commas). nil means the provider did not say.
func GrantedScopes(tok *oauth2.Token) []string {
	raw, _ := tok.Extra("scope").(string)
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	return strings.FieldsFunc(raw, func(r rune) bool { return r == ' ' || r == ',' })
}

// RefreshExpiry is when the refresh token expires, from GitHub's
// refresh_token_expires_in; zero when the provider did not say.
func RefreshExpiry(tok *oauth2.Token, now time.Time) time.Time {
	var secs int64
	switch v := tok.Extra("refresh_token_expires_in").(type) {
	case float64:
		secs = int64(v)
	case string:
		fmt.Sscan(v, &secs)
	}
	if secs <= 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(secs) * time.Second)
}

// Check validates what a preset demands of its profile beyond the generic
// rules config enforces, naming the variable at fault (*config.Error):
// Google refuses a device client without a secret, Microsoft needs a
// tenant that fits in its URL, and the issuer-based presets need an issuer
// unless both endpoints are given.
func Check(p *config.Profile) error {
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
		if p.Issuer == "" && (p.DeviceAuthURL == "" || p.TokenURL == "") {
			return &config.Error{Var: p.Var("ISSUER"), Msg: fmt.Sprintf("is required for %s (or set both %s and %s)", p.Provider, p.Var("DEVICE_AUTH_URL"), p.Var("TOKEN_URL"))}
		}
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
