package provider

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/preset"
)

// NotGranted lists the requested scopes the provider did not grant.
// Microsoft answers with resource-qualified names and leaves out the
// OpenID scopes (its preset's ImplicitScopes), so those are compared
// loosely; offline_access shows as a held refresh token rather than in
// the scope list.
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
		case p.Preset != nil && containsFold(p.Preset.ImplicitScopes, n):
		default:
			missing = append(missing, r)
		}
	}
	return missing
}

// Title names a preset the way people know it, for messages.
func Title(kind string) string {
	if ps := preset.Lookup(kind); ps != nil {
		return ps.Title
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
