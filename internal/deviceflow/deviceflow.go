// Package deviceflow runs the OAuth 2.0 Device Authorization Grant
// (RFC 8628) from the client side: it asks for a user code, hands it to a
// display hook, and polls the token endpoint until the person approves,
// declines, or the code runs out.
//
// The flow knows nothing about terminals or Telegram: callers plug in a
// Display function, as github.com/cli/oauth does, so the same flow serves
// `sidecar login`, JSON output and the Telegram bridge.
//
// It covers the gaps of x/oauth2's DeviceAccessToken: it adopts the
// interval a server sends with slow_down, survives network errors and 5xx
// while polling, notices expiry on its own clock, and starts a fresh code
// (telling the person) when one expires.
package deviceflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/oauthhttp"
)

// grantType is the device code grant type (RFC 8628 §3.4).
const grantType = "urn:ietf:params:oauth:grant-type:device_code"

const (
	// defaultInterval is used when the server sends none (RFC 8628 §3.2:
	// "If no value is provided, clients MUST use 5 as the default").
	defaultInterval = 5 * time.Second
	// slowDownStep is added to the interval on every slow_down (§3.5).
	slowDownStep = 5 * time.Second
	// defaultLifetime applies when a server omits the required expires_in.
	defaultLifetime = 5 * time.Minute
	// maxBackoff caps the wait after a network error or a 5xx.
	maxBackoff = 60 * time.Second
)

// Outcomes a caller branches on.
var (
	// ErrDeclined means the person refused the request (access_denied, or
	// Microsoft's authorization_declined).
	ErrDeclined = errors.New("the sign-in was declined")
	// ErrExpired means the last code expired and no restarts were left.
	ErrExpired = errors.New("the sign-in code expired")
)

// Code is what the person needs in order to sign in. The device code
// itself is deliberately absent: RFC 8628 §5.4 — it must never be shown.
type Code struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string // empty unless the provider gives one
	ExpiresAt               time.Time
	Interval                time.Duration
	// Attempt is 0 for the first code and n for the n-th fresh code after
	// an expiry; MaxAttempts is the last attempt number allowed.
	Attempt, MaxAttempts int
}

// Flow is one sign-in.
type Flow struct {
	Config           *oauth2.Config // ClientID, ClientSecret, Scopes, Endpoint
	HTTP             *http.Client
	DeviceAuthParams url.Values // extra device request parameters (Auth0 audience)
	Restarts         int        // fresh codes allowed after an expiry
	// Display shows a code to the person. It is called once per code; an
	// error from it ends the flow.
	Display func(ctx context.Context, c Code) error
	// Retrying, when set, is told about a transient polling failure and how
	// long the flow waits before the next poll.
	Retrying func(err error, wait time.Duration)
	// Wire, when set, carries the two requests instead of RFC 8628's
	// form-encoded POSTs to Config's endpoints (AWS IAM Identity Center
	// speaks JSON). Config is then unused.
	Wire Wire

	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// Wire is a provider's own transport for the device authorization grant.
// Polling, intervals, slow_down, expiry and retries stay the flow's.
type Wire interface {
	// Authorize starts a device authorization (RFC 8628 §3.1, §3.2), with
	// Expiry counted from when it asked.
	Authorize(ctx context.Context) (*oauth2.DeviceAuthResponse, error)
	// Exchange polls the token endpoint once (§3.4). Pending, slow_down,
	// denied and expired answers are a TokenResponse whose Error is the
	// §3.5 code; a *oauthhttp.Error whose Transient() is true is retried;
	// any other error ends the flow.
	Exchange(ctx context.Context, deviceCode string) (*oauthhttp.TokenResponse, error)
}

// Run signs the person in and returns the provider's token, with the full
// token response available through Token.Extra.
func (f *Flow) Run(ctx context.Context) (*oauth2.Token, error) {
	if f.now == nil {
		f.now = time.Now
	}
	if f.after == nil {
		f.after = time.After
	}
	for attempt := 0; ; attempt++ {
		da, err := f.authorize(ctx)
		if err != nil {
			return nil, err
		}
		code := f.code(da, attempt)
		if err := f.Display(ctx, code); err != nil {
			return nil, err
		}
		tok, err := f.poll(ctx, da.DeviceCode, code)
		if errors.Is(err, ErrExpired) && attempt < f.Restarts {
			continue
		}
		return tok, err
	}
}

func (f *Flow) code(da *oauth2.DeviceAuthResponse, attempt int) Code {
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = defaultInterval
	}
	expires := da.Expiry
	if expires.IsZero() {
		expires = f.now().Add(defaultLifetime)
	}
	return Code{
		UserCode:                da.UserCode,
		VerificationURI:         da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete,
		ExpiresAt:               expires,
		Interval:                interval,
		Attempt:                 attempt,
		MaxAttempts:             f.Restarts,
	}
}

// authorize asks for a device and user code (RFC 8628 §3.1).
func (f *Flow) authorize(ctx context.Context) (*oauth2.DeviceAuthResponse, error) {
	if f.Wire != nil {
		da, err := f.Wire.Authorize(ctx)
		if err != nil {
			return nil, fmt.Errorf("requesting a sign-in code: %w", err)
		}
		return da, nil
	}
	v := url.Values{"client_id": {f.Config.ClientID}}
	if len(f.Config.Scopes) > 0 {
		v.Set("scope", strings.Join(f.Config.Scopes, " "))
	}
	for k, vs := range f.DeviceAuthParams {
		v[k] = vs
	}
	u := f.Config.Endpoint.DeviceAuthURL
	start := f.now()
	res, err := oauthhttp.PostForm(ctx, f.HTTP, u, v)
	if err != nil {
		return nil, fmt.Errorf("requesting a sign-in code: %w", err)
	}
	if res.Status/100 != 2 {
		return nil, fmt.Errorf("requesting a sign-in code: %w", answerError(res))
	}
	da, err := parseDeviceAuth(res, start)
	if err != nil {
		return nil, fmt.Errorf("requesting a sign-in code: %w", err)
	}
	return da, nil
}

// parseDeviceAuth decodes a device authorization response (RFC 8628 §3.2).
// The lifetime counts on our clock from start, when we asked, so a slow
// answer cannot stretch it.
func parseDeviceAuth(res *oauthhttp.Response, start time.Time) (*oauth2.DeviceAuthResponse, error) {
	var da oauth2.DeviceAuthResponse
	// oauth2.DeviceAuthResponse's decoder also accepts Google's
	// verification_url.
	if err := json.Unmarshal(res.Body, &da); err != nil {
		return nil, &oauthhttp.Error{
			Op: "device_authorization", Status: res.Status,
			Msg: "the provider's answer is not a device authorization response (" + mediaType(res) + ")",
		}
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, &oauthhttp.Error{
			Op: "device_authorization", Status: res.Status,
			Msg: "the provider's answer lacks device_code, user_code or verification_uri",
		}
	}
	var life struct {
		ExpiresIn json.Number `json:"expires_in"`
	}
	_ = json.Unmarshal(res.Body, &life)
	da.Expiry = time.Time{}
	if n, err := life.ExpiresIn.Int64(); err == nil && n > 0 && n < 1e7 {
		da.Expiry = start.Add(time.Duration(n) * time.Second)
	}
	if da.Interval < 0 || da.Interval > 3600 {
		da.Interval = 0 // nonsense: use the RFC default
	}
	return &da, nil
}

// poll exchanges the device code for a token (RFC 8628 §3.4, §3.5).
func (f *Flow) poll(ctx context.Context, deviceCode string, c Code) (*oauth2.Token, error) {
	var v url.Values
	if f.Wire == nil {
		v = url.Values{
			"grant_type":  {grantType},
			"device_code": {deviceCode},
			"client_id":   {f.Config.ClientID},
		}
		if f.Config.ClientSecret != "" {
			v.Set("client_secret", f.Config.ClientSecret)
		}
	}
	interval := c.Interval
	backoff := time.Duration(0)
	for {
		wait := max(interval, backoff)
		left := c.ExpiresAt.Sub(f.now())
		if left <= 0 {
			return nil, ErrExpired
		}
		if wait > left {
			// One last poll right at expiry would be refused anyway; the
			// code is spent on our clock even if the server disagrees.
			wait = left
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.after(wait):
		}
		if !f.now().Before(c.ExpiresAt) {
			return nil, ErrExpired
		}
		tr, err := f.exchange(ctx, deviceCode, v)
		if err != nil {
			var (
				pe *oauthhttp.Error
				rt retryable
			)
			switch {
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.As(err, &rt):
				backoff = f.retry(rt.error, interval, backoff)
				continue
			case errors.As(err, &pe) && pe.Transient():
				backoff = f.retry(err, interval, backoff)
				continue
			}
			return nil, fmt.Errorf("waiting for approval: %w", err)
		}
		backoff = 0
		switch tr.Error {
		case "":
			return Token(tr), nil
		case "authorization_pending":
			// §3.5: keep polling at the current interval.
		case "slow_down":
			// §3.5: increase the interval by 5 s for this and all later
			// requests. GitHub sends the new interval: adopt it if larger.
			interval += slowDownStep
			if s := time.Duration(tr.Interval) * time.Second; s > interval {
				interval = s
			}
		case "access_denied", "authorization_declined":
			if blockedByPolicy(tr.ErrorDescription) {
				// Not the person's no: the tenant's Conditional Access
				// blocks the device code flow, which a retry cannot fix.
				return nil, fmt.Errorf("waiting for approval: %w",
					&oauthhttp.Error{Op: "token", Code: tr.Error, Msg: describe(tr)})
			}
			return nil, ErrDeclined
		case "expired_token":
			return nil, ErrExpired
		default:
			return nil, fmt.Errorf("waiting for approval: %w",
				&oauthhttp.Error{Op: "token", Code: tr.Error, Msg: describe(tr)})
		}
	}
}

// exchange polls once over the Wire, or with RFC 8628's form POST. Errors
// worth a retry are *oauthhttp.Error with Transient() true.
func (f *Flow) exchange(ctx context.Context, deviceCode string, v url.Values) (*oauthhttp.TokenResponse, error) {
	if f.Wire != nil {
		return f.Wire.Exchange(ctx, deviceCode)
	}
	res, err := oauthhttp.PostForm(ctx, f.HTTP, f.Config.Endpoint.TokenURL, v)
	if err != nil {
		// No usable answer (unreachable, cut off, oversized): poll again.
		return nil, retryable{err}
	}
	tr, perr := oauthhttp.ParseTokenResponse(res.Header, res.Body)
	if perr != nil || (tr.Error == "" && tr.AccessToken == "") {
		e := answerError(res)
		if res.Status >= 500 || res.Status == http.StatusTooManyRequests {
			return nil, retryable{e}
		}
		return nil, e
	}
	return tr, nil
}

// blockedByPolicy reports whether Microsoft says Conditional Access blocked
// the sign-in (AADSTS53003, which tenants use to block the device code
// flow), as opposed to the person declining.
func blockedByPolicy(desc string) bool { return strings.Contains(desc, "AADSTS53003") }

// retryable marks a polling failure worth another poll.
type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

func describe(tr *oauthhttp.TokenResponse) string {
	msg := tr.Error
	if tr.ErrorDescription != "" {
		msg += ": " + oauthhttp.Clip(tr.ErrorDescription, 300)
	}
	return msg
}

// retry reports a transient failure and returns the next backoff: it
// starts at the interval and doubles up to maxBackoff.
func (f *Flow) retry(err error, interval, backoff time.Duration) time.Duration {
	next := interval
	if backoff > 0 {
		next = min(backoff*2, maxBackoff)
	}
	if f.Retrying != nil {
		f.Retrying(err, next)
	}
	return next
}

// Token turns a successful token response into an oauth2.Token that keeps
// every field of the answer in Extra (scope, id_token, ...).
func Token(tr *oauthhttp.TokenResponse) *oauth2.Token {
	t := &oauth2.Token{
		AccessToken:  tr.AccessToken,
		TokenType:    tr.TokenType,
		RefreshToken: tr.RefreshToken,
	}
	if tr.ExpiresIn > 0 {
		t.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
		t.ExpiresIn = tr.ExpiresIn
	}
	return t.WithExtra(tr.Raw)
}

// answerError describes a provider answer that is not what the protocol
// promises, without echoing it wholesale.
func answerError(res *oauthhttp.Response) error {
	if tr, err := oauthhttp.ParseTokenResponse(res.Header, res.Body); err == nil && tr.Error != "" {
		return oauthError(res, tr)
	}
	msg := fmt.Sprintf("the provider answered HTTP %d", res.Status)
	if len(res.Body) > 0 {
		msg += " with " + mediaType(res) + " instead of an OAuth response"
	}
	return &oauthhttp.Error{Op: "token", Status: res.Status, Msg: msg}
}

func oauthError(res *oauthhttp.Response, tr *oauthhttp.TokenResponse) error {
	msg := tr.Error
	if tr.ErrorDescription != "" {
		msg += ": " + oauthhttp.Clip(tr.ErrorDescription, 300)
	}
	return &oauthhttp.Error{Op: "token", Status: res.Status, Code: tr.Error, Msg: msg}
}

func mediaType(res *oauthhttp.Response) string {
	ct := res.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if ct == "" {
		return "a body of unknown type"
	}
	return strings.TrimSpace(ct)
}
