package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// Outcomes of ScopedToken a caller branches on.
var (
	// ErrScopeRefused means the provider would not issue a token for the
	// requested scopes from this sign-in: a scope that was not granted
	// (invalid_scope) or a resource not consented. Only a sign-in with
	// those scopes helps.
	ErrScopeRefused = errors.New("the provider refused a token for these scopes")
	// ErrNoScopedRefresh means this sign-in cannot get tokens for other
	// scopes at all: the provider's refresh grant takes no scope (GitHub,
	// AWS), or no refresh token is held (a one-off grant).
	ErrNoScopedRefresh = errors.New("no token for other scopes from this sign-in")
)

// ScopedToken returns an access token for just scopes, valid for at least
// minTTL: from the cache when one is held for that scope set, otherwise by
// a refresh request carrying scope (RFC 6749 §6: "The requested scope MUST
// NOT include any scope not originally granted", so it can narrow). On
// Microsoft's v2 endpoint the same request also gets tokens for another
// consented resource (https://management.azure.com/.default), which is
// how MSAL serves several APIs from one sign-in.
//
// Every scope set keeps its own access token; the refresh token stays one.
// A scoped refresh spends it like any other, so it runs under the same
// lock, and a rotated refresh token it returns replaces the stored one.
func (s *Session) ScopedToken(ctx context.Context, minTTL time.Duration, scopes []string) (*tokencache.ScopedToken, error) {
	scopes = tokencache.NormalizeScopes(scopes)
	if len(scopes) == 0 {
		return nil, errors.New("no scopes given")
	}
	if err := s.Provider.ScopedRefreshError(); err != nil {
		return nil, fmt.Errorf("profile %s: %w: %w", s.Profile, ErrNoScopedRefresh, err)
	}
	e, err := s.Load()
	if err != nil {
		return nil, err
	}
	if t := e.ScopedFor(scopes); !e.SignInRequired && t.Valid(s.now(), minTTL) {
		return t, nil
	}
	if s.Detach == nil {
		return s.refreshScoped(ctx, minTTL, scopes)
	}
	e, err = s.detached(ctx, minTTL, scopes)
	if e == nil {
		return nil, err
	}
	t := e.ScopedFor(scopes)
	if t == nil {
		return nil, fmt.Errorf("profile %s: the refresh saved no token for %q", s.Profile, strings.Join(scopes, " "))
	}
	return t, err
}

// refreshScoped is refresh for a scope set: under the same lock, it spends
// the one refresh token on a token for scopes and keeps whatever refresh
// token comes back.
func (s *Session) refreshScoped(ctx context.Context, minTTL time.Duration, scopes []string) (*tokencache.ScopedToken, error) {
	e, unlock, err := s.lockFresh(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old := e.ScopedFor(scopes)
	if old.Valid(s.now(), minTTL) {
		return old, nil
	}
	if e.RefreshToken == "" {
		why := "the provider gave no refresh token"
		if e.OneOff {
			why = "it is a one-off grant"
		}
		return nil, fmt.Errorf("profile %s: %w: it holds no refresh token (%s); sign in with %s including %s instead",
			s.Profile, ErrNoScopedRefresh, why, s.Provider.Var("SCOPES"), strings.Join(scopes, " "))
	}
	tr, transient, err := s.scopedGrant(ctx, e.RefreshToken, scopes)
	if err != nil {
		if transient && old.Valid(s.now(), 0) {
			// Still usable: hand it out and let the caller warn.
			return old, &StaleError{Err: err}
		}
		return nil, err
	}
	now := s.now()
	t := &tokencache.ScopedToken{
		Scopes:      scopes,
		AccessToken: tr.AccessToken,
		TokenType:   tr.TokenType,
		RefreshedAt: now,
		Expiry:      expiresAt(now, tr.ExpiresIn),
	}
	if sc := strings.FieldsFunc(tr.Scope, func(r rune) bool { return r == ' ' || r == ',' }); len(sc) > 0 {
		t.ScopesGranted = sc
	}
	rotate(e, tr.RefreshToken, now, expiresAt(now, tr.RefreshTokenExpiresIn))
	e.SetScoped(t)
	if err := s.saveRefreshed(e, "scopes: "+strings.Join(scopes, " ")); err != nil {
		return nil, err
	}
	return t, nil
}

// scopedGrant sends the refresh request for scopes (RFC 6749 §6) and
// returns the provider's successful answer. A failure that may pass (no
// answer, HTTP 5xx or 429) is transient: a still-valid token may then be
// handed out instead.
func (s *Session) scopedGrant(ctx context.Context, refreshToken string, scopes []string) (tr *oauthhttp.TokenResponse, transient bool, err error) {
	doing := "getting a token for " + strings.Join(scopes, " ")
	ep, err := s.Provider.Endpoints(ctx)
	if err != nil {
		return nil, false, s.providerErr("refreshing the token", err)
	}
	req := scopes
	if s.Provider.Preset.OfflineAccess && !containsFold(req, "offline_access") {
		// As MSAL does: without offline_access Microsoft may answer
		// without a new refresh token, and ours rotates on every use.
		req = append(append([]string(nil), req...), "offline_access")
	}
	v := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
		"client_id":     {s.Provider.ClientID},
		"scope":         {strings.Join(req, " ")},
	}
	if s.Provider.ClientSecret != "" {
		v.Set("client_secret", s.Provider.ClientSecret)
	}
	// Once sent, see it through (see refresh): a rotated refresh token
	// must be saved even if we were told to stop.
	res, err := oauthhttp.PostForm(context.WithoutCancel(ctx), s.HTTP, ep.TokenURL, v)
	if err != nil {
		return nil, true, s.providerErr(doing, err)
	}
	tr, perr := oauthhttp.ParseTokenResponse(res.Header, res.Body)
	if perr != nil || (tr.Error == "" && tr.AccessToken == "") {
		err := &oauthhttp.Error{Op: "token", Status: res.Status,
			Msg: fmt.Sprintf("the provider answered HTTP %d%s", res.Status, oauthhttp.Snippet(res.Header, res.Body))}
		return nil, res.Status >= 500 || res.Status == http.StatusTooManyRequests, s.providerErr(doing, err)
	}
	switch tr.Error {
	case "":
		return tr, false, nil
	case "invalid_scope", "invalid_grant", "consent_required", "interaction_required":
		// invalid_grant here is not taken as a lost sign-in: Microsoft
		// answers it for a resource without consent (AADSTS65001) while
		// the refresh token stays good for everything else. A truly dead
		// refresh token shows at the next plain refresh.
		return nil, false, fmt.Errorf("profile %s: %w %q (%s); only scopes granted at sign-in can be asked for — sign in with them in %s",
			s.Profile, ErrScopeRefused, strings.Join(scopes, " "), described(tr.Error, tr.ErrorDescription), s.Provider.Var("SCOPES"))
	default:
		return nil, false, s.providerErr("getting a scoped token",
			&oauthhttp.Error{Op: "token", Status: res.Status, Code: tr.Error, Msg: described(tr.Error, tr.ErrorDescription)})
	}
}

// expiresAt turns a lifetime in seconds (expires_in) into a time; zero
// when the provider gave none.
func expiresAt(now time.Time, seconds int64) time.Time {
	if seconds <= 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(seconds) * time.Second)
}

// described joins an OAuth error code and its error_description (RFC 6749
// §5.2), clipped: the description is the provider's free text.
func described(code, description string) string {
	if description == "" {
		return code
	}
	return code + ": " + oauthhttp.Clip(description, 300)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
