// Package codeflow runs the OAuth 2.0 authorization code grant with PKCE
// (RFC 6749 §4.1, RFC 7636) for a native app (RFC 8252), finished by hand:
// the person opens the authorization link on any device, allows, and the
// address their browser lands on (the redirect URI with code and state) is
// pasted back — into the chat, into a terminal, or received by a loopback
// listener when the browser runs on this machine.
//
// It is the sign-in for accounts the device flow cannot reach (Google's
// Gmail and Calendar scopes, Entra tenants that block the device code flow,
// GitHub apps without it). Like internal/deviceflow it knows nothing about
// terminals or Telegram: the caller shows Link and feeds pastes to Attempt.
//
// The secrets of an attempt (the PKCE verifier, the nonce) never leave it:
// Link carries only what may be shown (the URL holds the S256 challenge,
// which reveals nothing of the verifier, RFC 7636 §7.2).
package codeflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/provider"
)

// DefaultLifetime is how long an attempt waits for the pasted address. A
// provider's authorization code lives about as long (Google and Microsoft:
// 10 minutes; RFC 6749 §4.1.2 recommends at most 10).
const DefaultLifetime = 10 * time.Minute

// Outcomes a caller branches on. Declined and expired are the device
// flow's own sentinels, so that exit codes (3 and 5) and chat messages
// treat both flows alike.
var (
	// ErrDeclined: the pasted address carries error=access_denied.
	ErrDeclined = deviceflow.ErrDeclined
	// ErrExpired: no usable address arrived before the attempt expired.
	ErrExpired = deviceflow.ErrExpired
	// ErrPaste: a pasted text did not count (see *PasteError for why).
	// The attempt goes on waiting for a good one.
	ErrPaste = errors.New("the pasted address does not finish this sign-in")
)

// Why a paste did not count.
const (
	ReasonMalformed = "malformed" // no redirect address with code or error in it
	ReasonState     = "state"     // the state is not this sign-in's
	ReasonReused    = "reused"    // this sign-in's address, already used
	ReasonRedirect  = "redirect"  // an address, but not at the redirect URI
	ReasonProvider  = "provider"  // the provider sent an error other than access_denied
)

// PasteError says why a pasted text did not finish the sign-in. It never
// repeats the paste (it may hold a one-time code).
type PasteError struct {
	Reason string
	Msg    string
}

func (e *PasteError) Error() string { return e.Msg }
func (e *PasteError) Unwrap() error { return ErrPaste }

func pasteErr(reason, format string, a ...any) error {
	return &PasteError{Reason: reason, Msg: fmt.Sprintf(format, a...)}
}

// Flow is the configuration of code-flow sign-ins for one profile.
type Flow struct {
	// Config has ClientID, ClientSecret (sent on the exchange when set:
	// Google's installed-app clients and GitHub's OAuth apps demand it),
	// Scopes and Endpoint.AuthURL and TokenURL.
	Config      *oauth2.Config
	HTTP        *http.Client
	RedirectURI string // the loopback address, port included
	// AuthParams are extra authorization request parameters, the
	// provider's quirks (Google: access_type=offline, prompt=consent).
	AuthParams url.Values
	Lifetime   time.Duration // 0: DefaultLifetime

	now  func() time.Time
	rand io.Reader
}

// SetClock replaces the clock (tests).
func (f *Flow) SetClock(now func() time.Time) { f.now = now }

// Link is what the person needs: the address to open. It is safe to show
// and to print for an agent (RFC 7636 §7.2: the S256 challenge does not
// reveal the verifier).
type Link struct {
	URL         string
	RedirectURI string
	ExpiresAt   time.Time
	State       string // also in URL; the key a paste is routed by
}

// Attempt is one sign-in under way: its link and its secrets.
type Attempt struct {
	Link
	f        *Flow
	verifier string
	nonce    string // "" unless openid was asked for

	mu   sync.Mutex
	used bool
}

// Start makes a fresh attempt: a new PKCE verifier (RFC 7636 §4.1: 32
// random octets, base64url, 43 characters), a new state (RFC 6749 §10.12)
// and, for OpenID Connect, a nonce (OIDC Core §3.1.2.1), each of 256 bits.
func (f *Flow) Start() (*Attempt, error) {
	if f.Config == nil || f.Config.Endpoint.AuthURL == "" || f.Config.Endpoint.TokenURL == "" {
		return nil, errors.New("codeflow: the provider has no authorization or token endpoint")
	}
	if f.RedirectURI == "" {
		return nil, errors.New("codeflow: no redirect URI")
	}
	r := f.rand
	if r == nil {
		r = rand.Reader
	}
	verifier, err := random(r)
	if err != nil {
		return nil, err
	}
	state, err := random(r)
	if err != nil {
		return nil, err
	}
	a := &Attempt{f: f, verifier: verifier}
	if slices.Contains(f.Config.Scopes, "openid") {
		if a.nonce, err = random(r); err != nil {
			return nil, err
		}
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {f.Config.ClientID},
		"redirect_uri":          {f.RedirectURI},
		"state":                 {state},
		"code_challenge":        {Challenge(verifier)},
		"code_challenge_method": {"S256"},
	}
	if len(f.Config.Scopes) > 0 {
		q.Set("scope", strings.Join(f.Config.Scopes, " "))
	}
	if a.nonce != "" {
		q.Set("nonce", a.nonce)
	}
	for k, vs := range f.AuthParams {
		q[k] = vs
	}
	u := f.Config.Endpoint.AuthURL
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	life := f.Lifetime
	if life <= 0 {
		life = DefaultLifetime
	}
	a.Link = Link{
		URL:         u + sep + q.Encode(),
		RedirectURI: f.RedirectURI,
		ExpiresAt:   f.clock().Add(life),
		State:       state,
	}
	return a, nil
}

func (f *Flow) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// random returns 32 random octets, base64url without padding.
func random(r io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("codeflow: reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Challenge is the S256 code challenge of a verifier (RFC 7636 §4.2).
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Finish takes a pasted text. A *PasteError (errors.Is ErrPaste) means it
// did not count and the attempt still waits; ErrDeclined and ErrExpired
// end the attempt; a token means signed in. A paste that reached the
// provider (right state, a code) uses the attempt up, whatever the
// provider answers: an authorization code is good once (RFC 6749 §4.1.2).
func (a *Attempt) Finish(ctx context.Context, text string) (*oauth2.Token, error) {
	r, err := ParseRedirect(text)
	if err != nil {
		return nil, err
	}
	if err := a.check(r); err != nil {
		return nil, err
	}
	if r.Error != "" {
		if r.Error == "access_denied" {
			return nil, ErrDeclined
		}
		msg := r.Error
		if r.ErrorDescription != "" {
			msg += ": " + oauthhttp.Clip(r.ErrorDescription, 200)
		}
		return nil, &oauthhttp.Error{Op: "authorize", Code: r.Error, Msg: "the provider refused the sign-in: " + msg}
	}
	return a.exchange(ctx, r.Code)
}

// check: the redirect belongs to this attempt (RFC 6749 §10.12: state
// binds the answer to the request, compared in constant time), arrived at
// our redirect URI, in time, and only once.
func (a *Attempt) check(r *Redirect) error {
	if subtle.ConstantTimeCompare([]byte(r.State), []byte(a.State)) != 1 {
		return pasteErr(ReasonState, "this address is not from the sign-in under way (its state does not match): send the address of the latest Sign in link")
	}
	if !sameEndpoint(r.URL, a.RedirectURI) {
		return pasteErr(ReasonRedirect, "this address is not at the redirect address %s", a.RedirectURI)
	}
	if !a.f.clock().Before(a.ExpiresAt) {
		return ErrExpired
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used {
		return pasteErr(ReasonReused, "this address was already used: a sign-in address works once")
	}
	a.used = true
	return nil
}

// Expired reports whether the attempt is past its time.
func (a *Attempt) Expired() bool { return !a.f.clock().Before(a.ExpiresAt) }

// sameEndpoint compares scheme, host, port and path (RFC 8252 §7.3: the
// loopback redirect is the registered one with our port). localhost and
// 127.0.0.1 are not the same address for this purpose: the pasted one is
// the one we sent.
func sameEndpoint(got *url.URL, want string) bool {
	w, err := url.Parse(want)
	if err != nil {
		return false
	}
	path := func(p string) string {
		if p == "" {
			return "/"
		}
		return p
	}
	return strings.EqualFold(got.Scheme, w.Scheme) && strings.EqualFold(got.Host, w.Host) && path(got.Path) == path(w.Path)
}

// exchange trades the code for tokens (RFC 6749 §4.1.3 with RFC 7636 §4.5's
// code_verifier), then checks the ID token's nonce when one comes back.
func (a *Attempt) exchange(ctx context.Context, code string) (*oauth2.Token, error) {
	c := a.f.Config
	v := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {a.RedirectURI},
		"client_id":     {c.ClientID},
		"code_verifier": {a.verifier},
	}
	if c.ClientSecret != "" {
		v.Set("client_secret", c.ClientSecret)
	}
	res, err := oauthhttp.PostForm(ctx, a.f.HTTP, c.Endpoint.TokenURL, v)
	if err != nil {
		return nil, fmt.Errorf("exchanging the code: %w", err)
	}
	// GitHub answers form-encoded, and with HTTP 200 even for an error
	// (bad_verification_code): ParseTokenResponse reads both shapes.
	tr, perr := oauthhttp.ParseTokenResponse(res.Header, res.Body)
	switch {
	case perr != nil:
		return nil, fmt.Errorf("exchanging the code: %w", &oauthhttp.Error{Op: "token", Status: res.Status,
			Msg: fmt.Sprintf("the provider answered HTTP %d%s", res.Status, oauthhttp.Snippet(res.Header, res.Body))})
	case tr.Error != "":
		msg := tr.Error
		if tr.ErrorDescription != "" {
			msg += ": " + oauthhttp.Clip(tr.ErrorDescription, 300)
		}
		return nil, fmt.Errorf("exchanging the code: %w", &oauthhttp.Error{Op: "token", Status: res.Status, Code: tr.Error, Msg: msg})
	case tr.AccessToken == "":
		return nil, fmt.Errorf("exchanging the code: %w", &oauthhttp.Error{Op: "token", Status: res.Status, Msg: "the provider's answer has no access_token"})
	}
	if err := a.checkNonce(tr.IDToken); err != nil {
		return nil, err
	}
	return deviceflow.Token(tr), nil
}

// ErrNonce means the ID token does not carry the nonce of this attempt: it
// was issued for another request (OIDC Core §3.1.3.7 step 11), a replay.
var ErrNonce = errors.New("the ID token was not issued for this sign-in (nonce mismatch)")

func (a *Attempt) checkNonce(idToken string) error {
	if idToken == "" || a.nonce == "" {
		return nil
	}
	var c struct {
		Nonce string `json:"nonce"`
	}
	if err := provider.DecodeIDToken(idToken, &c); err != nil {
		return fmt.Errorf("exchanging the code: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(a.nonce)) != 1 {
		return &oauthhttp.Error{Op: "token", Msg: ErrNonce.Error(), Err: ErrNonce}
	}
	return nil
}
