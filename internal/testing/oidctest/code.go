package oidctest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	var landed string
	b, err := s.newBrowser(func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host != issuer.Host {
			landed = r.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	p, err := b.get(ctx, lu.String())
	for range maxPages {
		if landed != "" {
			return landed, nil
		}
		if err != nil {
			return "", fmt.Errorf("oidctest: follow link: %w", err)
		}
		f, button, ferr := answerAccount(p, o, allow)
		if ferr != nil {
			return "", fmt.Errorf("oidctest: follow link: %w", ferr)
		}
		p, err = b.submit(ctx, p, f, button)
	}
	if landed != "" {
		return landed, nil
	}
	return "", errors.New("oidctest: follow link: no redirect after the consent page")
}
