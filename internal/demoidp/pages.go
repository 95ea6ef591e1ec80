package demoidp

import (
	"crypto/subtle"

	_ "embed"
	"github.com/zitadel/oidc/v3/pkg/op"
	"html/template"
	"net/http"
	"sync"
	"time"
)

//go:embed pages.html
var pagesHTML string

var tmpl = template.Must(template.New("pages").Parse(pagesHTML))

// Page titles, also what tests look for.
const (
	TitleSignIn = "Sign in to connect a device"
	// TitleSignInApp is the code flow's sign-in page.
	TitleSignInApp = "Sign in to connect an app"
	TitleConsent   = "Allow access?"
	TitleApproved  = "Device connected"
	TitleDeclined  = "Access declined"
)

// consentCookie carries the consent session between the sign-in and the
// consent page. SameSite=Strict keeps other sites from posting a decision.
const consentCookie = "demoidp_consent"

// pages are the person's side of the device flow: the verification page
// (code and password), then consent.
type pages struct {
	p  *Provider
	op *op.Provider // the code flow's callback URL and error redirects

	mu       sync.Mutex
	sessions map[string]consentSession // by cookie value
}

type consentSession struct {
	userCode, subject string
	expires           time.Time
}

type pageData struct {
	Title        string
	Error        string
	UserCode     string
	Login        string
	ShowPassword bool
	Password     string
	Client       string
	Scopes       []string
	AuthRequest  string // the code flow's request ID; "" for the device flow
}

func (g *pages) render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	tmpl.Execute(w, d)
}

func (g *pages) signInPage(w http.ResponseWriter, status int, userCode, msg string) {
	d := pageData{Title: TitleSignIn, Error: msg, UserCode: userCode}
	if g.p.opts.ShowPassword {
		d.ShowPassword, d.Login, d.Password = true, g.p.opts.User.Login, g.p.opts.User.Password
	}
	g.render(w, status, d)
}

// device is the verification_uri; verification_uri_complete adds
// ?user_code=, which fills the field in (RFC 8628 §3.3.1).
func (g *pages) device(w http.ResponseWriter, r *http.Request) {
	g.signInPage(w, http.StatusOK, normalizeCode(r.URL.Query().Get("user_code")), "")
}

// normalizeCode accepts what a person types: any case, with or without the
// dash, surrounding spaces (RFC 8628 §6.1). Codes are ASCII letters; other
// characters are dropped, and the result is at most 8 of them.
func normalizeCode(s string) string {
	b := make([]byte, 0, 9)
	for i := 0; i < len(s) && len(b) < 8; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			b = append(b, c-'a'+'A')
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b = append(b, c)
		}
	}
	if len(b) == 8 {
		return string(b[:4]) + "-" + string(b[4:])
	}
	return string(b)
}

func (g *pages) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		g.signInPage(w, http.StatusBadRequest, "", "That form could not be read; try again.")
		return
	}
	code := normalizeCode(r.PostForm.Get("user_code"))
	u := g.p.opts.User
	login, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if subtle.ConstantTimeCompare([]byte(login), []byte(u.Login))&subtle.ConstantTimeCompare([]byte(password), []byte(u.Password)) != 1 {
		g.signInPage(w, http.StatusUnauthorized, code, "Wrong user name or password.")
		return
	}
	st, ok := g.p.storage.deviceByUserCode(code)
	if !ok {
		g.signInPage(w, http.StatusBadRequest, code, "That code is unknown or has expired. Check it, or start again on your device.")
		return
	}
	id := randomID()
	g.mu.Lock()
	now := time.Now()
	for k, s := range g.sessions {
		if now.After(s.expires) {
			delete(g.sessions, k)
		}
	}
	g.sessions[id] = consentSession{userCode: code, subject: u.Login, expires: st.Expires}
	g.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: consentCookie, Value: id, Path: PathDevice, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, Expires: st.Expires,
	})
	g.render(w, http.StatusOK, pageData{Title: TitleConsent, Login: u.Login, Client: st.ClientID, Scopes: st.Scopes, UserCode: code})
}

func (g *pages) consent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	c, err := r.Cookie(consentCookie)
	if err != nil || r.ParseForm() != nil {
		g.signInPage(w, http.StatusBadRequest, "", "Your sign-in was lost; please sign in again.")
		return
	}
	g.mu.Lock()
	s, ok := g.sessions[c.Value]
	delete(g.sessions, c.Value)
	g.mu.Unlock()
	if !ok || time.Now().After(s.expires) {
		g.signInPage(w, http.StatusBadRequest, "", "Your sign-in was lost or has expired; please sign in again.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: consentCookie, Path: PathDevice, MaxAge: -1})
	deny := r.PostForm.Get("decision") != "allow"
	if err := g.p.storage.answer(s.userCode, s.subject, r.PostForm["scope"], deny); err != nil {
		g.signInPage(w, http.StatusBadRequest, "", "That code is unknown or has expired. Start again on your device.")
		return
	}
	if deny {
		g.render(w, http.StatusOK, pageData{Title: TitleDeclined})
		return
	}
	g.render(w, http.StatusOK, pageData{Title: TitleApproved, Login: s.subject})
}
