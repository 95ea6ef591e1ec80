package demoidp

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The authorization code flow with PKCE (RFC 7636) for native apps (RFC
// 8252): devicegate's OAUTH_FLOW=code. The one client may redirect to a
// loopback /callback on any port (the library ignores a native client's
// loopback port, RFC 8252 §7.3); the library asks this provider's sign-in
// page (PathLogin) to authenticate the person, and this file keeps the
// authorization requests and their codes.

// Paths of the code flow's pages.
const (
	PathLogin        = "/login"         // the client's LoginURL: sign in
	PathLoginConsent = "/login/consent" // allow or deny
)

// CodeRedirectURIs are the client's registered redirect addresses.
var CodeRedirectURIs = []string{"http://127.0.0.1/callback", "http://localhost/callback", "http://[::1]/callback"}

// authRequestTTL bounds an authorization request (and its code).
const authRequestTTL = 10 * time.Minute

type authRequest struct {
	id, code      string
	req           oidc.AuthRequest
	subject       string
	scopes        []string
	authenticated bool // the password was right; consent still to come
	done          bool // consented
	authTime      time.Time
	expires       time.Time
}

func (a *authRequest) GetID() string         { return a.id }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAMR() []string      { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.authTime
}
func (a *authRequest) GetClientID() string { return a.req.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }

// CreateAuthRequest keeps a validated authorization request; scopes this
// provider does not know are dropped, as for the device flow.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeAuthLocked()
	var known []string
	for _, sc := range req.Scopes {
		if slices.Contains(SupportedScopes, sc) && !slices.Contains(known, sc) {
			known = append(known, sc)
		}
	}
	a := &authRequest{id: randomID(), req: *req, scopes: known, expires: time.Now().Add(authRequestTTL)}
	s.auths[a.id] = a
	return a, nil
}

func (s *storage) purgeAuthLocked() {
	now := time.Now()
	for id, a := range s.auths {
		if now.After(a.expires) {
			delete(s.auths, id)
		}
	}
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[id]
	if !ok || time.Now().After(a.expires) {
		return nil, errors.New("unknown or expired authorization request")
	}
	c := *a
	return &c, nil
}

// AuthRequestByCode finds the request a code was issued for; a code is
// good once: DeleteAuthRequest follows its exchange.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.auths {
		if a.code != "" && subtle.ConstantTimeCompare([]byte(a.code), []byte(code)) == 1 && time.Now().Before(a.expires) {
			c := *a
			return &c, nil
		}
	}
	return nil, oidc.ErrInvalidGrant().WithDescription("unknown, used or expired code")
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[id]
	if !ok {
		return errors.New("unknown authorization request")
	}
	a.code = code
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.auths, id)
	return nil
}

// authenticate records the right password on a request.
func (s *storage) authenticate(id, subject string) (authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[id]
	if !ok || a.done || time.Now().After(a.expires) {
		return authRequest{}, false
	}
	a.subject, a.authenticated = subject, true
	return *a, true
}

// consent records the decision on an authenticated request: the granted
// scopes (each requested), or false for a denial. It returns the request.
func (s *storage) consent(id string, granted []string, allow bool) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[id]
	if !ok || !a.authenticated || a.done || time.Now().After(a.expires) {
		return nil, false
	}
	c := *a
	if !allow {
		delete(s.auths, id)
		return &c, true
	}
	a.scopes = slices.DeleteFunc(slices.Clone(a.scopes), func(sc string) bool { return !slices.Contains(granted, sc) })
	a.done, a.authTime = true, time.Now()
	c = *a
	return &c, true
}

// login is the client's LoginURL: the sign-in page of the code flow.
func (g *pages) login(w http.ResponseWriter, r *http.Request) {
	g.loginPage(w, http.StatusOK, r.URL.Query().Get("id"), "")
}

func (g *pages) loginPage(w http.ResponseWriter, status int, id, msg string) {
	d := pageData{Title: TitleSignInApp, Error: msg, AuthRequest: id}
	if g.p.opts.ShowPassword {
		d.ShowPassword, d.Login, d.Password = true, g.p.opts.User.Login, g.p.opts.User.Password
	}
	g.render(w, status, d)
}

func (g *pages) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		g.loginPage(w, http.StatusBadRequest, "", "That form could not be read; try again.")
		return
	}
	id := r.PostForm.Get("id")
	u := g.p.opts.User
	login, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if subtle.ConstantTimeCompare([]byte(login), []byte(u.Login))&subtle.ConstantTimeCompare([]byte(password), []byte(u.Password)) != 1 {
		g.loginPage(w, http.StatusUnauthorized, id, "Wrong user name or password.")
		return
	}
	a, ok := g.p.storage.authenticate(id, u.Login)
	if !ok {
		g.loginPage(w, http.StatusBadRequest, "", "This sign-in is unknown or has expired. Start again from the app.")
		return
	}
	g.render(w, http.StatusOK, pageData{Title: TitleConsent, Login: u.Login, Client: a.req.ClientID, Scopes: a.scopes, AuthRequest: id})
}

// loginConsent answers the consent page: back to the library, which sends
// the browser to the redirect address with a code (or access_denied).
func (g *pages) loginConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		g.loginPage(w, http.StatusBadRequest, "", "That form could not be read; try again.")
		return
	}
	allow := r.PostForm.Get("decision") == "allow"
	a, ok := g.p.storage.consent(r.PostForm.Get("id"), r.PostForm["scope"], allow)
	if !ok {
		g.loginPage(w, http.StatusBadRequest, "", "This sign-in is unknown or has expired. Start again from the app.")
		return
	}
	if !allow {
		op.AuthRequestError(w, r, a, oidc.ErrAccessDenied().WithDescription("the person denied the request"), g.op)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(g.op)(r.Context(), a.id), http.StatusFound)
}
