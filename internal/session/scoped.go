package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
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
	derr := s.Detach(ctx, minTTL, scopes)
	var stale *StaleError
	if derr != nil && !errors.As(derr, &stale) {
		return nil, derr
	}
	if e, err = s.Load(); err != nil {
		return nil, err
	}
	t := e.ScopedFor(scopes)
	if t == nil {
		return nil, fmt.Errorf("profile %s: the refresh saved no token for %q", s.Profile, strings.Join(scopes, " "))
	}
	return t, derr
}

func (s *Session) refreshScoped(ctx context.Context, minTTL time.Duration, scopes []string) (*tokencache.ScopedToken, error) {
	unlock, err := s.Store.Lock(ctx, s.Profile)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e, err := s.Load()
	if err != nil {
		return nil, err
	}
	if e.SignInRequired {
		return nil, &SignInError{Profile: s.Profile, Reason: e.Reason}
	}
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
	ep, err := s.Provider.Endpoints(ctx)
	if err != nil {
		return nil, s.providerErr("refreshing the token", err)
	}
	req := scopes
	if s.Provider.Kind == "microsoft" && !containsFold(req, "offline_access") {
		// As MSAL does: without offline_access Microsoft may answer
		// without a new refresh token, and ours rotates on every use.
		req = append(append([]string(nil), req...), "offline_access")
	}
	v := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {e.RefreshToken},
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
		perr := s.providerErr("getting a token for "+strings.Join(scopes, " "), err)
		if old.Valid(s.now(), 0) {
			return old, &StaleError{Err: perr}
		}
		return nil, perr
	}
	tr, perr := oauthhttp.ParseTokenResponse(res.Header, res.Body)
	if perr != nil || (tr.Error == "" && tr.AccessToken == "") {
		err := &oauthhttp.Error{Op: "token", Status: res.Status,
			Msg: fmt.Sprintf("the provider answered HTTP %d%s", res.Status, oauthhttp.Snippet(res.Header, res.Body))}
		if (res.Status >= 500 || res.Status == http.StatusTooManyRequests) && old.Valid(s.now(), 0) {
			return old, &StaleError{Err: s.providerErr("getting a scoped token", err)}
		}
		return nil, s.providerErr("getting a token for "+strings.Join(scopes, " "), err)
	}
	switch tr.Error {
	case "":
	case "invalid_scope", "invalid_grant", "consent_required", "interaction_required":
		// invalid_grant here is not taken as a lost sign-in: Microsoft
		// answers it for a resource without consent (AADSTS65001) while
		// the refresh token stays good for everything else. A truly dead
		// refresh token shows at the next plain refresh.
		msg := tr.Error
		if tr.ErrorDescription != "" {
			msg += ": " + oauthhttp.Clip(tr.ErrorDescription, 300)
		}
		return nil, fmt.Errorf("profile %s: %w %q (%s); only scopes granted at sign-in can be asked for — sign in with them in %s",
			s.Profile, ErrScopeRefused, strings.Join(scopes, " "), msg, s.Provider.Var("SCOPES"))
	default:
		msg := tr.Error
		if tr.ErrorDescription != "" {
			msg += ": " + oauthhttp.Clip(tr.ErrorDescription, 300)
		}
		return nil, s.providerErr("getting a scoped token", &oauthhttp.Error{Op: "token", Status: res.Status, Code: tr.Error, Msg: msg})
	}
	now := s.now()
	t := &tokencache.ScopedToken{
		Scopes:      scopes,
		AccessToken: tr.AccessToken,
		TokenType:   tr.TokenType,
		RefreshedAt: now,
	}
	if tr.ExpiresIn > 0 {
		t.Expiry = now.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if sc := strings.FieldsFunc(tr.Scope, func(r rune) bool { return r == ' ' || r == ',' }); len(sc) > 0 {
		t.ScopesGranted = sc
	}
	if tr.RefreshToken != "" && tr.RefreshToken != e.RefreshToken {
		e.RefreshToken = tr.RefreshToken
		e.RefreshIssuedAt = now
		e.RefreshExpiresAt = time.Time{}
		if tr.RefreshTokenExpiresIn > 0 {
			e.RefreshExpiresAt = now.Add(time.Duration(tr.RefreshTokenExpiresIn) * time.Second)
		}
	}
	e.SetScoped(t)
	if err := s.Store.Save(e); err != nil {
		return nil, err
	}
	_ = s.Record(audit.Event{Action: audit.ActionRefresh, Decision: "ok", Detail: "scopes: " + strings.Join(scopes, " ")})
	return t, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
