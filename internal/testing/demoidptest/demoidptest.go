// Package demoidptest runs the demo provider (internal/demoidp, built on
// ZITADEL's OpenID provider library) in the test process on 127.0.0.1, and
// plays the person at its pages over HTTP: the fast counterpart of the
// browser test in e2e/demo. It is the second, independent provider of the
// integration tests, next to internal/oidctest's oidc-provider.
package demoidptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/demoidp"
)

// Server is a running provider.
type Server struct {
	*demoidp.Provider
	Issuer   string // http://127.0.0.1:PORT
	ClientID string
	stop     func()
}

// Start serves a provider for one test; o.Issuer is set to its address.
func Start(t testing.TB, o demoidp.Options) *Server {
	t.Helper()
	return StartAt(t, "127.0.0.1:0", o)
}

// StartAt is Start at the address addr: after stopping a provider
// (Server.Stop), another one at the same issuer, e.g. with another
// person's account.
func StartAt(t testing.TB, addr string, o demoidp.Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	o.Issuer = "http://" + ln.Addr().String()
	p, err := demoidp.New(o)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
	t.Cleanup(stop)
	return &Server{Provider: p, Issuer: o.Issuer, ClientID: p.Options().ClientID, stop: stop}
}

// Stop stops serving and frees the address.
func (s *Server) Stop() { s.stop() }

// ErrRejected is returned when the pages refuse the user code or the
// password.
var ErrRejected = errors.New("demoidptest: sign-in page refused")

// Approve enters userCode and the account's password on the verification
// page and allows, leaving ticked only scopes (nil: all that were asked).
func (s *Server) Approve(ctx context.Context, userCode string, scopes []string) error {
	return s.answer(ctx, userCode, scopes, "allow", demoidp.TitleApproved)
}

// Deny signs in and denies.
func (s *Server) Deny(ctx context.Context, userCode string) error {
	return s.answer(ctx, userCode, nil, "deny", demoidp.TitleDeclined)
}

var (
	titleRe = regexp.MustCompile(`<title>([^<]*)</title>`)
	scopeRe = regexp.MustCompile(`name="scope" value="([^"]+)"`)
)

func (s *Server) answer(ctx context.Context, userCode string, scopes []string, decision, want string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	u := s.Provider.Options().User
	page, err := post(ctx, c, s.Issuer+demoidp.PathDevice, url.Values{
		"user_code": {userCode}, "username": {u.Login}, "password": {u.Password},
	})
	if err != nil {
		return err
	}
	if title(page) != demoidp.TitleConsent {
		return fmt.Errorf("%w: %s", ErrRejected, title(page))
	}
	form := url.Values{"decision": {decision}}
	for _, m := range scopeRe.FindAllStringSubmatch(page, -1) {
		if scopes == nil || contains(scopes, m[1]) {
			form.Add("scope", m[1])
		}
	}
	if page, err = post(ctx, c, s.Issuer+demoidp.PathConsent, form); err != nil {
		return err
	}
	if got := title(page); got != want {
		return fmt.Errorf("demoidptest: after %s: page %q, want %q", decision, got, want)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func title(page string) string {
	if m := titleRe.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

func post(ctx context.Context, c *http.Client, u string, form url.Values) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), err
}
