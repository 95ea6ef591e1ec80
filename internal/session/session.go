// Package session manages one profile's sign-in: signing in through the
// device flow, handing out valid access tokens, refreshing them safely
// across processes, reporting status and signing out.
//
// Refresh tokens rotate (RFC 9700 §4.14.2: public clients' refresh tokens
// must), and a provider that sees a rotated token reused revokes the whole
// grant. So a refresh happens only under the cache's cross-process lock,
// after re-reading the cache, and the new token is saved before the lock is
// released: any number of concurrent `sidecar token` processes cause one
// refresh, and nobody ever sends a spent refresh token.
//
// Outcomes are errors a caller branches on with errors.Is and errors.As:
// ErrSignInRequired (*SignInError), deviceflow.ErrDeclined,
// deviceflow.ErrExpired, ErrTimedOut, ErrCancelled, *ProviderError (with ErrNoRole for
// AWS), *StaleError, *KeyError and tokencache.ErrNeedKey. Turning them into exit codes and advice is the
// command line's job, not this package's.
//
// It is larger than most packages here because every part of a sign-in's
// life (the device flow, the refresh under the cache lock with rotation,
// tokens for other scopes, AWS role credentials, status, logout) works on
// one cache entry under one lock; the files split it by concern.
package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// ErrSignInRequired means no usable token exists and only a person can fix
// it by signing in again. It is returned wrapped in a *SignInError.
var ErrSignInRequired = errors.New("sign-in required")

// ReasonNotSignedIn is the Reason of a SignInError for a profile with no
// sign-in at all (rather than one that ended).
const ReasonNotSignedIn = "not signed in"

// SignInError says why a sign-in is required.
type SignInError struct {
	Profile string
	Reason  string
	Err     error // the underlying cause, if any
}

func (e *SignInError) Error() string {
	return fmt.Sprintf("profile %s: sign-in required: %s", e.Profile, e.Reason)
}
func (e *SignInError) Unwrap() []error { return []error{ErrSignInRequired, e.Err} }

// ErrTimedOut means the sign-in was not completed before the caller's
// deadline (tgauth --timeout) or a signal; the device code itself expiring
// is deviceflow.ErrExpired.
var ErrTimedOut = errors.New("the sign-in was not completed in time")

// ErrCancelled means the sign-in was stopped on purpose before it ended:
// Ctrl-C, a stop signal, or the person's client (the terminal, the
// `docker exec` connection) going away. The cause follows in the message.
var ErrCancelled = errors.New("the sign-in was cancelled")

// LoginError carries the profile of a failed sign-in, so that advice can
// name it (--profile NAME). Its text is the cause's.
type LoginError struct {
	Profile string
	Err     error
}

func (e *LoginError) Error() string { return e.Err.Error() }
func (e *LoginError) Unwrap() error { return e.Err }

// ProviderError is a failure at, or on the way to, the provider while
// signing in, refreshing or revoking. The cause is usually an
// *oauthhttp.Error.
type ProviderError struct {
	Profile string
	Doing   string // "refreshing the token", "signing in", ...
	// Var names the settings of the profile worth checking (its issuer or
	// endpoint URL, its client id, or AWS's role and account), for advice.
	Var string
	Err error
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("profile %s: %s: %v", e.Profile, e.Doing, e.Err)
}
func (e *ProviderError) Unwrap() error { return e.Err }

// KeyError means the profile's cache is encrypted and no key is set, so it
// cannot be read. It wraps tokencache.ErrNeedKey, which is also returned
// on its own when a write is refused (a plaintext cache would go next to
// encrypted ones): reading wants the key the cache was written with.
type KeyError struct {
	Profile string
	Err     error // tokencache.ErrNeedKey
}

func (e *KeyError) Error() string { return fmt.Sprintf("profile %s: %v", e.Profile, e.Err) }
func (e *KeyError) Unwrap() error { return e.Err }

// Session is one profile.
type Session struct {
	Profile  string
	Provider *provider.Provider
	Store    *tokencache.Store
	HTTP     *http.Client
	Restarts int // fresh codes allowed when one expires during Login

	// Detach, when set, makes Token refresh in another process: Detach
	// must run a refresh (Token with Detach unset) that survives the death
	// of this one, wait for it, and return its error. Then killing a
	// command mid-refresh (an agent's timeout, kill -9) never loses a
	// rotated refresh token: the detached process still saves it.
	// scopes is nil for the sign-in's own token, or the scope set of a
	// ScopedToken request.
	Detach func(ctx context.Context, minTTL time.Duration, scopes []string) error

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Policy is what an agent may do with this sign-in without asking
	// (OAUTH_POLICY); nil means the defaults. Commands apply it to agent
	// callers (Caller).
	Policy *policy.Policy

	// Audit, when set, records sign-ins, refreshes and logouts
	// (internal/audit), as done by Caller ("agent" or "owner").
	Audit  *audit.Log
	Caller string
}

// Record appends an event about this profile to the audit log, if any. A
// log that cannot be written does not undo what was done: the session's
// own events ignore the error, commands warn.
func (s *Session) Record(e audit.Event) error {
	if s.Audit == nil {
		return nil
	}
	e.Profile, e.Caller = s.Profile, s.Caller
	if e.Caller == "" {
		e.Caller = audit.CallerOwner
	}
	return s.Audit.Append(e)
}

func (s *Session) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Load returns the cached entry, mapping cache problems to sign-in errors.
func (s *Session) Load() (*tokencache.Entry, error) {
	e, err := s.Store.Load(s.Profile)
	switch {
	case err == nil:
		return e, nil
	case errors.Is(err, tokencache.ErrNotFound):
		return nil, &SignInError{Profile: s.Profile, Reason: ReasonNotSignedIn, Err: err}
	case errors.Is(err, tokencache.ErrNeedKey):
		return nil, &KeyError{Profile: s.Profile, Err: err}
	case errors.Is(err, tokencache.ErrDamaged):
		return nil, &SignInError{Profile: s.Profile, Reason: err.Error(), Err: err}
	default:
		return nil, err
	}
}

// Token returns an entry whose access token is valid for at least minTTL,
// refreshing it if needed. The fast path reads the cache and nothing else.
func (s *Session) Token(ctx context.Context, minTTL time.Duration) (*tokencache.Entry, error) {
	e, err := s.Load()
	if err != nil {
		return nil, err
	}
	if e.Valid(s.now(), minTTL) {
		return e, nil
	}
	if s.Detach == nil {
		return s.refresh(ctx, minTTL, false)
	}
	return s.detached(ctx, minTTL, nil)
}

// detached runs a refresh in another process (Detach) and reads back the
// entry it saved. A *StaleError from it comes back with the entry, which
// is still usable; any other error comes back alone.
func (s *Session) detached(ctx context.Context, minTTL time.Duration, scopes []string) (*tokencache.Entry, error) {
	derr := s.Detach(ctx, minTTL, scopes)
	var stale *StaleError
	if derr != nil && !errors.As(derr, &stale) {
		return nil, derr
	}
	e, err := s.Load()
	if err != nil {
		return nil, err
	}
	return e, derr
}

// lockFresh takes the profile's cross-process lock and re-reads the cache
// under it, since someone may have refreshed while we waited. An entry the
// provider already refused is a *SignInError. On success the caller must
// call unlock, after saving what it refreshed.
func (s *Session) lockFresh(ctx context.Context) (e *tokencache.Entry, unlock func(), err error) {
	unlock, err = s.Store.Lock(ctx, s.Profile)
	if err != nil {
		return nil, nil, err
	}
	e, err = s.Load()
	if err == nil && e.SignInRequired {
		err = &SignInError{Profile: s.Profile, Reason: e.Reason}
	}
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return e, unlock, nil
}

// rotate keeps the refresh token a refresh returned in place of the one it
// spent (RFC 9700 §4.14.2), with its lifetime when the provider gave one
// (zero otherwise).
func rotate(e *tokencache.Entry, refreshToken string, now, expiresAt time.Time) {
	if refreshToken == "" || refreshToken == e.RefreshToken {
		return
	}
	e.RefreshToken = refreshToken
	e.RefreshIssuedAt = now
	e.RefreshExpiresAt = expiresAt
}

// saveRefreshed saves a refreshed entry (before the caller releases the
// lock) and records the refresh.
func (s *Session) saveRefreshed(e *tokencache.Entry, detail string) error {
	if err := s.Store.Save(e); err != nil {
		return err
	}
	_ = s.Record(audit.Event{Action: audit.ActionRefresh, Decision: "ok", Detail: detail})
	return nil
}

// Refresh refreshes the token now even if it is still valid, e.g. to keep a
// refresh token from expiring for disuse. It is a no-op without a refresh
// token.
func (s *Session) Refresh(ctx context.Context) (*tokencache.Entry, error) {
	return s.refresh(ctx, 0, true)
}

func (s *Session) refresh(ctx context.Context, minTTL time.Duration, force bool) (*tokencache.Entry, error) {
	e, unlock, err := s.lockFresh(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !force && e.Valid(s.now(), minTTL) {
		return e, nil
	}
	if e.RefreshToken == "" {
		if force || e.Valid(s.now(), 0) {
			return e, nil
		}
		return nil, &SignInError{Profile: s.Profile, Reason: "the access token expired and the provider gave no refresh token"}
	}
	cfg, err := s.Provider.OAuth2(ctx)
	if err != nil {
		return nil, s.providerErr("refreshing the token", err)
	}
	// Once sent, a refresh must be seen through: if the provider rotates
	// the refresh token and we stop listening (Ctrl-C, SIGTERM), the new
	// one is lost and the old one is spent. So the request ignores
	// cancellation; the HTTP client's timeout still bounds it.
	rctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, s.HTTP)
	tok, err := s.signer().refresh(rctx, cfg, e)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			// The grant is gone (revoked, expired, or rotated elsewhere).
			// Remember it, so status and serve can say so without asking.
			e.SignInRequired = true
			e.Reason = "the provider refused the refresh token (invalid_grant)"
			if re.ErrorDescription != "" {
				e.Reason += ": " + oauthhttp.Clip(re.ErrorDescription, 200)
			}
			if serr := s.Store.Save(e); serr != nil {
				return nil, serr
			}
			_ = s.Record(audit.Event{Action: audit.ActionRefresh, Decision: "refused", Detail: "invalid_grant: sign-in required"})
			return nil, &SignInError{Profile: s.Profile, Reason: e.Reason}
		}
		perr := s.providerErr("refreshing the token", err)
		if !force && e.Valid(s.now(), 0) {
			// Still usable: hand it out and let the caller warn.
			return e, &StaleError{Err: perr}
		}
		return nil, perr
	}
	now := s.now()
	e.AccessToken = tok.AccessToken
	e.TokenType = tok.TokenType
	e.Expiry = tok.Expiry
	e.RefreshedAt = now
	rotate(e, tok.RefreshToken, now, provider.RefreshExpiry(tok, now))
	if sc := provider.GrantedScopes(tok); sc != nil {
		e.ScopesGranted = sc
	}
	if id := provider.IDTokenIdentity(tok); id.Subject != "" {
		e.Account = id.Merge(e.Account)
	}
	if err := s.saveRefreshed(e, ""); err != nil {
		return nil, err
	}
	return e, nil
}

// StaleError is returned with a still-valid entry when a refresh failed
// for a reason that may pass (the provider was unreachable).
type StaleError struct{ Err error }

func (e *StaleError) Error() string {
	return "could not refresh, using the current token: " + e.Err.Error()
}
func (e *StaleError) Unwrap() error { return e.Err }

// LoginOptions are the hooks of an interactive sign-in.
type LoginOptions struct {
	Display  func(ctx context.Context, c deviceflow.Code) error
	Retrying func(err error, wait time.Duration)
	// OneOff keeps no refresh token (tgauth --once), as OAUTH_ONE_OFF does.
	OneOff bool

	// Authorize shows the link of a code-flow sign-in (OAUTH_FLOW=code)
	// and returns where the addresses the person pastes arrive; Login
	// reads it until the sign-in ends. Required for the code flow.
	Authorize func(ctx context.Context, l codeflow.Link) (<-chan codeflow.Paste, error)
	// RedirectURI is the code flow's redirect address with its port, set
	// by a caller that listens there; "" means the profile's
	// (Provider.Redirect) with a free loopback port filled in.
	RedirectURI string

	// ConfirmSwitch, when set, is called when the new sign-in names
	// another identity than the one it would replace
	// (tokencache.Account.SameIdentity), before anything is written; the
	// new tokens wait in memory meanwhile. An error keeps the old sign-in
	// and is Login's error (gate.ConfirmAccount asks the owner).
	ConfirmSwitch func(ctx context.Context, old, new tokencache.Account) error
}

// Login runs the device flow and stores the new sign-in. Every outcome is
// in the audit log: "ok" (recorded where the sign-in is saved), or
// "declined", "expired", "cancelled" or "failed"; errors come back in a
// *LoginError.
func (s *Session) Login(ctx context.Context, o LoginOptions) (*tokencache.Entry, error) {
	e, err := s.login(ctx, o)
	if err != nil && e == nil {
		// A refusal (the owner kept the old account) is recorded where it
		// is decided, with the rule; not twice.
		if !errors.Is(err, policy.ErrRefused) {
			_ = s.Record(audit.Event{Action: audit.ActionSignIn, Decision: SignInOutcome(err), Detail: err.Error()})
		}
		err = &LoginError{Profile: s.Profile, Err: err}
	}
	return e, err
}

// SignInOutcome names how a sign-in that returned err ended, as the audit
// log says it.
func SignInOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, deviceflow.ErrDeclined):
		return "declined"
	case errors.Is(err, deviceflow.ErrExpired), errors.Is(err, ErrTimedOut):
		return "expired"
	case errors.Is(err, ErrCancelled):
		return "cancelled"
	}
	return "failed"
}

func (s *Session) login(ctx context.Context, o LoginOptions) (*tokencache.Entry, error) {
	if err := s.Store.Writable(s.Profile); err != nil {
		return nil, err
	}
	return s.signer().login(ctx, o)
}

// deviceLogin is the OAuth device flow's sign-in (RFC 8628).
func (s *Session) deviceLogin(ctx context.Context, o LoginOptions) (*tokencache.Entry, error) {
	cfg, err := s.Provider.OAuth2(ctx)
	if err != nil {
		return nil, s.providerErr("starting the sign-in", err)
	}
	oneOff := o.OneOff || s.Provider.OneOff
	if oneOff {
		c := *cfg
		c.Scopes = s.LoginScopes(true)
		cfg = &c
	}
	f := &deviceflow.Flow{
		Config:           cfg,
		HTTP:             s.HTTP,
		DeviceAuthParams: s.Provider.DeviceAuthParams,
		Restarts:         s.Restarts,
		Display:          o.Display,
		Retrying:         o.Retrying,
	}
	tok, err := f.Run(ctx)
	if err != nil {
		return nil, s.loginErr(ctx, err)
	}
	return s.keep(ctx, tok, cfg.Scopes, oneOff, "", o)
}

// keep stores the sign-in that got tok in place of the current one
// (replace) and records it. flow is the cache entry's Flow ("" for the
// device flow).
func (s *Session) keep(ctx context.Context, tok *oauth2.Token, requested []string, oneOff bool, flow string, o LoginOptions) (*tokencache.Entry, error) {
	now := s.now()
	e := s.signedIn(tok, requested, oneOff, now, provider.RefreshExpiry(tok, now))
	e.Flow = flow
	// Who signed in is a label, not a condition: a failing user endpoint
	// does not undo the sign-in.
	e.Account, _ = s.Provider.Identity(ctx, tok)
	if err := s.replace(ctx, e, o); err != nil {
		return nil, err
	}
	_ = s.Record(audit.Event{Action: audit.ActionSignIn, Decision: "ok", Detail: signInDetail(e, oneOff)})
	return e, nil
}

// signedIn is the cache entry of a sign-in that got tok for the requested
// scopes at now. A one-off sign-in keeps no refresh token; a kept one
// expires at refreshExpiresAt (zero: the provider did not say).
func (s *Session) signedIn(tok *oauth2.Token, requested []string, oneOff bool, now, refreshExpiresAt time.Time) *tokencache.Entry {
	e := &tokencache.Entry{
		Profile:         s.Profile,
		Provider:        s.Provider.Kind,
		AccessToken:     tok.AccessToken,
		TokenType:       tok.TokenType,
		RefreshToken:    tok.RefreshToken,
		Expiry:          tok.Expiry,
		ScopesRequested: requested,
		ScopesGranted:   provider.GrantedScopes(tok),
		SignedInAt:      now,
	}
	if e.ScopesGranted == nil {
		// RFC 6749 §5.1: scope is omitted when identical to the request.
		e.ScopesGranted = slices.Clone(requested)
	}
	if oneOff {
		// Kept nowhere, so access ends with the access token. It is not
		// revoked: many providers revoke the whole grant with it (RFC 7009
		// §2.1 allows that), which would end the access token too.
		e.RefreshToken = ""
		e.OneOff = true
	}
	if e.RefreshToken != "" {
		e.RefreshIssuedAt = now
		e.RefreshExpiresAt = refreshExpiresAt
	}
	return e
}

// LoginScopes are the scopes a sign-in asks for. A one-off grant asks for
// no refresh token where that is how one is asked for (offline_access:
// OpenID Connect Core §11, Microsoft, Auth0); one that comes anyway is
// dropped.
func (s *Session) LoginScopes(oneOff bool) []string {
	if !oneOff && !s.Provider.OneOff {
		return s.Provider.Scopes
	}
	return slices.DeleteFunc(slices.Clone(s.Provider.Scopes), func(sc string) bool { return strings.EqualFold(sc, "offline_access") })
}

// ErrAccountChanged means the profile's sign-in changed to yet another
// account while the owner was asked to confirm a change of account: the
// answer was about another one, so nothing is replaced.
var ErrAccountChanged = errors.New("the profile's sign-in changed while the owner was asked; nothing was replaced")

// replace stores the new sign-in e in place of the profile's current one.
// When the current one names another identity, o.ConfirmSwitch (if set)
// decides first, without the lock held (the owner may take minutes, and
// the current sign-in keeps serving meanwhile); e is written only after
// it agreed, so a refusal or a crash leaves the old sign-in whole.
func (s *Session) replace(ctx context.Context, e *tokencache.Entry, o LoginOptions) error {
	var confirmed *tokencache.Account
	if o.ConfirmSwitch != nil {
		// A cache that cannot be read names nobody to compare with; its
		// sign-in is lost anyway, and the new one is announced.
		if old, err := s.Store.Load(s.Profile); err == nil && !old.Account.SameIdentity(e.Account) {
			if err := o.ConfirmSwitch(ctx, old.Account, e.Account); err != nil {
				return err
			}
			confirmed = &old.Account
		}
	}
	unlock, err := s.Store.Lock(ctx, s.Profile)
	if err != nil {
		return err
	}
	defer unlock()
	if o.ConfirmSwitch != nil {
		cur, err := s.Store.Load(s.Profile)
		if err == nil && !cur.Account.SameIdentity(e.Account) && (confirmed == nil || !cur.Account.SameIdentity(*confirmed)) {
			return fmt.Errorf("profile %s: %w", s.Profile, ErrAccountChanged)
		}
	}
	return s.Store.Save(e)
}

// loginErr gives a failed sign-in its exit code.
func (s *Session) loginErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, deviceflow.ErrDeclined):
		return err
	case errors.Is(err, deviceflow.ErrExpired):
		return fmt.Errorf("%w (%d fresh codes were offered)", err, s.Restarts)
	case errors.Is(ctx.Err(), context.Canceled):
		// A signal, or the client gone (the cause says which).
		if cause := context.Cause(ctx); cause != context.Canceled {
			return fmt.Errorf("%w: %w", ErrCancelled, cause)
		}
		return ErrCancelled
	case ctx.Err() != nil:
		// Our own deadline (tgauth --timeout), not a request timeout
		// (those are provider errors).
		return fmt.Errorf("%w: %w", ErrTimedOut, ctx.Err())
	}
	var pe *oauthhttp.Error
	if errors.As(err, &pe) {
		return s.providerErr("signing in", err)
	}
	return err
}

// LogoutResult says what Logout did.
type LogoutResult int

const (
	NotSignedIn  LogoutResult = iota // there was nothing to forget
	Revoked                          // the provider revoked the grant; the cache is gone
	NotRevocable                     // the provider has no revocation endpoint; the cache is gone
	Forgotten                        // revocation failed or was moot, but --force deleted the cache
)

// Logout revokes the refresh token (or, without one, the access token) at
// the provider's RFC 7009 endpoint when it has one, then deletes the cache.
// If revocation fails the cache is kept, unless force is set.
func (s *Session) Logout(ctx context.Context, force bool) (LogoutResult, error) {
	unlock, err := s.Store.Lock(ctx, s.Profile)
	if err != nil {
		return NotSignedIn, err
	}
	defer unlock()
	e, lerr := s.Load()
	if errors.Is(lerr, tokencache.ErrNotFound) {
		return NotSignedIn, nil
	}
	if lerr != nil && !force {
		return NotSignedIn, lerr
	}
	res := Forgotten
	if e != nil && !e.SignInRequired {
		ok, err := s.revoke(ctx, e)
		switch {
		case err != nil && !force:
			return NotSignedIn, s.providerErr("revoking the token", err)
		case err == nil && ok:
			res = Revoked
		case err == nil:
			res = NotRevocable
		}
	}
	if err := s.Store.Delete(s.Profile); err != nil {
		return res, err
	}
	_ = s.Record(audit.Event{Action: audit.ActionLogout, Decision: res.String()})
	return res, nil
}

// String names a LogoutResult in the audit log.
func (r LogoutResult) String() string {
	switch r {
	case Revoked:
		return "revoked"
	case NotRevocable:
		return "forgotten_not_revocable"
	case Forgotten:
		return "forgotten"
	}
	return "not_signed_in"
}

// signInDetail says who signed in, for the audit log: the account's
// email or name and whether it was a one-off grant.
func signInDetail(e *tokencache.Entry, oneOff bool) string {
	d := e.Account.Email
	if d == "" {
		d = e.Account.Name
	}
	if oneOff {
		d += " (one-off)"
	}
	return strings.TrimSpace(d)
}

func (s *Session) revoke(ctx context.Context, e *tokencache.Entry) (bool, error) {
	return s.signer().logout(ctx, e)
}

// oauthRevoke ends an OAuth grant at the provider's RFC 7009 revocation
// endpoint, if it has one.
func (s *Session) oauthRevoke(ctx context.Context, e *tokencache.Entry) (bool, error) {
	ep, err := s.Provider.Endpoints(ctx)
	if err != nil {
		return false, err
	}
	if ep.RevokeURL == "" {
		return false, nil
	}
	tok, hint := e.RefreshToken, "refresh_token"
	if tok == "" {
		tok, hint = e.AccessToken, "access_token"
	}
	v := url.Values{"token": {tok}, "token_type_hint": {hint}, "client_id": {s.Provider.ClientID}}
	if s.Provider.ClientSecret != "" {
		v.Set("client_secret", s.Provider.ClientSecret)
	}
	res, err := oauthhttp.PostForm(ctx, s.HTTP, ep.RevokeURL, v)
	if err != nil {
		return false, err
	}
	// RFC 7009 §2.2: 200 whether or not the token was valid.
	if res.Status != http.StatusOK {
		return false, &oauthhttp.Error{Op: "revoke", Status: res.Status,
			Msg: fmt.Sprintf("the provider refused the revocation (HTTP %d%s)", res.Status, oauthhttp.Snippet(res.Header, res.Body))}
	}
	return true, nil
}

// providerErr describes a provider failure for a person: the host once,
// the OAuth error fields, never an HTML page, and the setting to check.
func (s *Session) providerErr(doing string, err error) error {
	v := s.Provider.AddressVar()
	var ue *url.Error
	if errors.As(err, &ue) {
		err = oauthhttp.Unreachable(ue.URL, ue.Err)
	}
	// The device authorization request (internal/deviceflow) answers an
	// *oauthhttp.Error with the OAuth code: a client id the provider does
	// not know is the setting to check (ZITADEL's library answers
	// invalid_client with HTTP 401 there).
	var oe *oauthhttp.Error
	if errors.As(err, &oe) && (oe.Code == "invalid_client" || oe.Code == "unauthorized_client") {
		v = s.Provider.Var("CLIENT_ID")
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := re.ErrorCode
		if msg == "" && re.Response != nil {
			msg = fmt.Sprintf("the provider answered HTTP %d%s", re.Response.StatusCode, oauthhttp.Snippet(re.Response.Header, re.Body))
		}
		msg = described(msg, re.ErrorDescription)
		if re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" {
			v = s.Provider.Var("CLIENT_ID")
			msg += " (check " + v + " and the app registration at the provider)"
		}
		err = &oauthhttp.Error{Op: "token", Code: re.ErrorCode, Msg: msg}
	}
	return &ProviderError{Profile: s.Profile, Doing: doing, Var: v, Err: err}
}

// ClaimNotice reports whether the person should now be told that this
// profile needs a sign-in, and why. It records the notice in the cache, so
// that it happens once per lost sign-in and not on every check (nor again
// after a restart of `sidecar serve`). Without a cache there is nowhere to
// record it: then recorded is false and the caller must remember.
func (s *Session) ClaimNotice(ctx context.Context) (tell bool, reason string, recorded bool, err error) {
	unlock, err := s.Store.Lock(ctx, s.Profile)
	if err != nil {
		return false, "", false, err
	}
	defer unlock()
	e, err := s.Load()
	if err != nil {
		var se *SignInError
		if errors.As(err, &se) {
			return true, se.Reason, false, nil
		}
		return false, "", false, err
	}
	st, _ := s.Status()
	if st.State != StateSignInRequired || !e.NotifiedAt.IsZero() {
		return false, "", true, nil
	}
	e.NotifiedAt = s.now()
	if err := s.Store.Save(e); err != nil {
		return false, "", false, err
	}
	return true, st.Reason, true, nil
}
