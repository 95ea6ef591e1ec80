package oidctest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
)

// FollowLink plays the person who opened an authorization link (the code
// flow): it logs in as o.Login, answers the consent page (Allow, or Deny
// when allow is false) and returns the address the provider then sends the
// browser to: the redirect URI with code and state, or with
// error=access_denied. That address is on the loopback of the machine
// that asked, so a phone cannot load it; it is what the person copies.
// The browser does not go there: nothing need listen.
func (s *Server) FollowLink(ctx context.Context, link string, o ApproveOptions, allow bool) (string, error) {
	if o.Login == "" {
		o.Login = "alice"
	}
	lu, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("oidctest: link: %w", err)
	}
	issuer, _ := url.Parse(s.Issuer)
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	var landed string
	client := &http.Client{Jar: jar, Transport: s.http.Transport,
		CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Host != issuer.Host {
				landed = r.URL.String()
				return http.ErrUseLastResponse
			}
			return nil
		}}
	b := &browser{client: client}
	p, err := b.get(ctx, lu.String())
	for range maxPages {
		if landed != "" {
			return landed, nil
		}
		if err != nil {
			return "", fmt.Errorf("oidctest: follow link: %w", err)
		}
		var (
			f      *form
			button *field
		)
		switch {
		case p.formWith(fieldLogin) != nil:
			f = p.formWith(fieldLogin)
			f.field(fieldLogin).value = o.Login
			button = pickButton(f, nil)
		case p.formWith(fieldDecision) != nil:
			f = p.formWith(fieldDecision)
			if err := tickScopes(f, o.Scopes); err != nil {
				return "", fmt.Errorf("oidctest: follow link: %w: %s", err, p)
			}
			want := "allow"
			if !allow {
				want = "deny"
			}
			button = pickButton(f, func(b *field) bool { return b.name == fieldDecision && b.value == want })
		default:
			return "", fmt.Errorf("oidctest: follow link: unexpected page: %s", p)
		}
		p, err = b.submit(ctx, p, f, button)
	}
	if landed != "" {
		return landed, nil
	}
	return "", errors.New("oidctest: follow link: no redirect after the consent page")
}
