package demoidptest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"

	"github.com/devicegate/devicegate/internal/demoidp"
)

// FollowLink plays the person who opened an authorization link (the code
// flow): it signs in with the account's password, allows (leaving every
// scope ticked) or denies, and returns the address the provider then sends
// the browser to: the loopback redirect with code and state, or with
// error=access_denied. The browser does not go there (on a phone it could
// not): that address is what the person copies.
func (s *Server) FollowLink(ctx context.Context, link string, allow bool) (string, error) {
	issuer, _ := url.Parse(s.Issuer)
	jar, _ := cookiejar.New(nil)
	var landed string
	c := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host != issuer.Host {
			landed = r.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("id")
	if title(string(b)) != demoidp.TitleSignInApp || id == "" {
		return "", fmt.Errorf("%w: the link opened %q (HTTP %d)", ErrRejected, title(string(b)), resp.StatusCode)
	}
	u := s.Provider.Options().User
	page, err := post(ctx, c, s.Issuer+demoidp.PathLogin, url.Values{"id": {id}, "username": {u.Login}, "password": {u.Password}})
	if err != nil {
		return "", err
	}
	if title(page) != demoidp.TitleConsent {
		return "", fmt.Errorf("%w: %s", ErrRejected, title(page))
	}
	form := url.Values{"id": {id}, "decision": {"deny"}}
	if allow {
		form.Set("decision", "allow")
	}
	for _, m := range scopeRe.FindAllStringSubmatch(page, -1) {
		form.Add("scope", m[1])
	}
	if _, err := post(ctx, c, s.Issuer+demoidp.PathLoginConsent, form); err != nil {
		return "", err
	}
	if landed == "" {
		return "", fmt.Errorf("demoidptest: no redirect after the consent page")
	}
	return landed, nil
}
