package oidctest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrUserCodeRejected is returned by [Server.Approve] and [Server.Deny] when the device page
// refuses the user code: unknown, expired, or already approved or denied.
var ErrUserCodeRejected = errors.New("oidctest: user code rejected")

// ApproveOptions say how the person answers the sign-in pages.
type ApproveOptions struct {
	// Login is the account to sign in as; default "alice". The provider derives the claims
	// from it: sub "alice", name "Alice Example", email "alice@example.com".
	Login string

	// Scopes are the boxes left ticked on the consent page; nil grants everything requested.
	// Each must have been requested. Without offline_access no refresh token is issued.
	Scopes []string
}

// Page titles and controls of node/server.js's pages.
const (
	titleSuccess = "Sign-in success"
	titleDenied  = "Sign-in denied"

	fieldUserCode = "user_code" // the device page's code input
	fieldConfirm  = "confirm"   // the device confirmation form's hidden field
	fieldAbort    = "abort"     // the device confirmation form's Abort button
	fieldLogin    = "login"     // the login form's input
	fieldDecision = "decision"  // the consent form's Allow and Deny buttons
	fieldScope    = "scope"     // the consent form's checkboxes
)

// maxPages bounds a sign-in: code, confirmation, login, consent, result.
const maxPages = 10

// Approve signs in as a person would in a browser: it opens the device page, enters userCode,
// confirms the device, logs in and allows the request at the consent page, then checks that
// the last page reports success.
func (s *Server) Approve(ctx context.Context, userCode string, o ApproveOptions) error {
	if o.Login == "" {
		o.Login = "alice"
	}
	if err := s.signIn(ctx, userCode, o, true); err != nil {
		return fmt.Errorf("oidctest: approve: %w", err)
	}
	return nil
}

// Deny does what Approve does up to the consent page, as "alice", and clicks Deny there, so the
// device's next poll gets access_denied. It checks that the last page reports the denial.
func (s *Server) Deny(ctx context.Context, userCode string) error {
	if err := s.signIn(ctx, userCode, ApproveOptions{Login: "alice"}, false); err != nil {
		return fmt.Errorf("oidctest: deny: %w", err)
	}
	return nil
}

// signIn walks the pages with a fresh cookie jar (a new browser, so no earlier session or
// consent is reused). It acts on whichever page it gets, recognised by its form controls.
func (s *Server) signIn(ctx context.Context, userCode string, o ApproveOptions, allow bool) error {
	b, err := s.newBrowser(nil)
	if err != nil {
		return err
	}
	p, err := b.get(ctx, s.VerificationURI)
	if err != nil {
		return err
	}
	codeEntered := false
	for range maxPages {
		var (
			f      *form
			button *field
		)
		switch {
		case p.title == titleSuccess && allow:
			return nil
		case p.title == titleDenied && !allow:
			return nil
		case p.title == titleSuccess || p.title == titleDenied:
			return fmt.Errorf("unexpected outcome: %s", p)

		case p.formWith(fieldUserCode) != nil && p.formWith(fieldUserCode).field(fieldUserCode).typ != "hidden":
			if codeEntered {
				return fmt.Errorf("%w: %s", ErrUserCodeRejected, p)
			}
			f = p.formWith(fieldUserCode)
			f.field(fieldUserCode).value = userCode
			codeEntered = true

		case p.formWith(fieldConfirm) != nil:
			f = p.formWith(fieldConfirm)
			button = pickButton(f, func(b *field) bool { return b.name != fieldAbort })

		default:
			if f, button, err = answerAccount(p, o, allow); err != nil {
				return err
			}
		}
		if p, err = b.submit(ctx, p, f, button); err != nil {
			return err
		}
	}
	return fmt.Errorf("still no result after %d pages: %s", maxPages, p)
}

// answerAccount fills the two pages of every sign-in, whatever started it: the login page (as
// o.Login) and the consent page (o.Scopes left ticked, then Allow, or Deny when allow is false).
// Any other page is an error.
func answerAccount(p *page, o ApproveOptions, allow bool) (*form, *field, error) {
	switch {
	case p.formWith(fieldLogin) != nil:
		f := p.formWith(fieldLogin)
		f.field(fieldLogin).value = o.Login
		return f, pickButton(f, nil), nil
	case p.formWith(fieldDecision) != nil:
		f := p.formWith(fieldDecision)
		if err := tickScopes(f, o.Scopes); err != nil {
			return nil, nil, fmt.Errorf("%w: %s", err, p)
		}
		want := "allow"
		if !allow {
			want = "deny"
		}
		button := pickButton(f, func(b *field) bool { return b.name == fieldDecision && b.value == want })
		if button == nil {
			return nil, nil, fmt.Errorf("no %q button on the consent page: %s", want, p)
		}
		return f, button, nil
	}
	return nil, nil, fmt.Errorf("unexpected page: %s", p)
}

// pickButton returns the first submit button that ok accepts (nil: any), or nil.
func pickButton(f *form, ok func(*field) bool) *field {
	for _, b := range f.buttons() {
		if ok == nil || ok(b) {
			return b
		}
	}
	return nil
}

// tickScopes leaves ticked only the scope boxes in want, like a person unticking the rest;
// nil leaves every box as the page has it.
func tickScopes(f *form, want []string) error {
	if want == nil {
		return nil
	}
	var offered []string
	for _, fl := range f.fields {
		if fl.name == fieldScope && fl.typ == "checkbox" {
			offered = append(offered, fl.value)
			fl.checked = slices.Contains(want, fl.value)
		}
	}
	for _, w := range want {
		if !slices.Contains(offered, w) {
			return fmt.Errorf("scope %q is not offered on the consent page (offered: %s)", w, strings.Join(offered, " "))
		}
	}
	return nil
}

// browser is an HTTP client with cookies that reads HTML pages.
type browser struct {
	client *http.Client
}

// newBrowser is a new browser (a fresh cookie jar, so no earlier session or consent is reused)
// on the provider's transport; redirect, if not nil, is its client's CheckRedirect.
func (s *Server) newBrowser(redirect func(*http.Request, []*http.Request) error) (*browser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	return &browser{client: &http.Client{Jar: jar, Transport: s.http.Transport, CheckRedirect: redirect}}, nil
}

// maxPageSize bounds the pages read; the provider's are about 1 KB.
const maxPageSize = 1 << 20

func (b *browser) get(ctx context.Context, u string) (*page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

// submit sends the form as if the person clicked button (nil: pressed Enter).
func (b *browser) submit(ctx context.Context, p *page, f *form, button *field) (*page, error) {
	action, err := p.url.Parse(f.action)
	if err != nil {
		return nil, fmt.Errorf("form action %q: %w", f.action, err)
	}
	values := f.values(button).Encode()
	var req *http.Request
	if f.method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(values))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		action.RawQuery = values
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, action.String(), nil)
	}
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

// do sends req, follows redirects and parses the HTML page it ends on. An HTTP error status
// is an error that names the page; the provider's pages never show tokens.
func (b *browser) do(req *http.Request) (*page, error) {
	req.Header.Set("Accept", "text/html")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageSize))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, resp.Request.URL.Path, err)
	}
	p := parsePage(resp.Request.URL, string(body))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, resp.Request.URL.Path, resp.Status, p)
	}
	return p, nil
}

// String describes the page for error messages: its path, title and the start of its text.
func (p *page) String() string {
	const maxText = 300
	text := p.text
	if len(text) > maxText {
		cut := maxText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	path := ""
	if p.url != nil {
		path = p.url.Path
	}
	return fmt.Sprintf("page %s %q: %q", path, p.title, text)
}
