package demoidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// errNotSupported answers the JWT profile grant, which this provider does
// not serve.
var errNotSupported = errors.New("demoidp: the JWT profile grant is not supported")

// storage is op.Storage and op.DeviceAuthorizationStorage in memory. A
// restart forgets every sign-in, as a demo should.
//
// Refresh tokens rotate on every use, and presenting a rotated one again
// revokes the whole grant (RFC 9700 §4.14.2): the behaviour that makes two
// clients refreshing at once lose the session, which devicegate's
// cross-process lock exists to prevent.
type storage struct {
	opts Options
	key  signingKey

	mu      sync.Mutex
	devices map[string]*device      // by device code
	codes   map[string]string       // user code -> device code
	access  map[string]*access      // by token ID
	refresh map[string]*refresh     // by the refresh token itself
	rotated map[string]string       // used refresh token -> grant ID
	auths   map[string]*authRequest // code flow, by request ID
}

type device struct {
	state    op.DeviceAuthorizationState
	userCode string
}

type access struct {
	id, grant, subject, clientID string
	scopes                       []string
	expires                      time.Time
}

type refresh struct {
	token, grant, subject, clientID string
	scopes                          []string
	amr                             []string
	authTime, expires               time.Time
}

func newStorage(o Options) (*storage, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &storage{
		opts:    o,
		key:     signingKey{id: randomID(), key: k},
		devices: map[string]*device{},
		codes:   map[string]string{},
		access:  map[string]*access{},
		refresh: map[string]*refresh{},
		rotated: map[string]string{},
		auths:   map[string]*authRequest{},
	}, nil
}

// randomID returns 32 random bytes, base64url: unguessable token IDs and
// refresh tokens.
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// --- device authorization (RFC 8628) ---

// StoreDeviceAuthorization keeps only the scopes this provider knows: a
// request for others is narrowed, not refused, as many providers do.
func (s *storage) StoreDeviceAuthorization(_ context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked()
	if _, ok := s.codes[userCode]; ok {
		return op.ErrDuplicateUserCode
	}
	var known []string
	for _, sc := range scopes {
		if slices.Contains(SupportedScopes, sc) && !slices.Contains(known, sc) {
			known = append(known, sc)
		}
	}
	s.devices[deviceCode] = &device{
		userCode: userCode,
		state:    op.DeviceAuthorizationState{ClientID: clientID, Scopes: known, Expires: expires},
	}
	s.codes[userCode] = deviceCode
	return nil
}

// purgeLocked forgets device authorizations a while after they expired, so
// that old user codes do not pile up (op.DeviceAuthorizationStorage asks
// for it) yet a late poll still gets expired_token.
func (s *storage) purgeLocked() {
	now := time.Now()
	for dc, d := range s.devices {
		if now.After(d.state.Expires.Add(10 * time.Minute)) {
			delete(s.codes, d.userCode)
			delete(s.devices, dc)
		}
	}
}

// GetDeviceAuthorizatonState (sic, the library's spelling) answers a poll.
// An approved authorization is handed out once: the device code is then
// spent and a second poll with it is refused.
func (s *storage) GetDeviceAuthorizatonState(_ context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[deviceCode]
	if !ok || d.state.ClientID != clientID {
		return nil, errors.New("unknown device code")
	}
	st := d.state
	if st.Done || st.Denied {
		delete(s.codes, d.userCode)
		delete(s.devices, deviceCode)
	}
	return &st, nil
}

// deviceByUserCode returns a copy of the pending authorization of a user
// code, or false when there is none (unknown, expired, or answered).
func (s *storage) deviceByUserCode(userCode string) (op.DeviceAuthorizationState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[s.codes[userCode]]
	if !ok || d.state.Done || d.state.Denied || time.Now().After(d.state.Expires) {
		return op.DeviceAuthorizationState{}, false
	}
	return d.state, true
}

// answer records the person's decision on a user code: granted scopes
// (each must have been requested) or, with deny, a refusal.
func (s *storage) answer(userCode, subject string, granted []string, deny bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[s.codes[userCode]]
	if !ok || d.state.Done || d.state.Denied || time.Now().After(d.state.Expires) {
		return errUnknownCode
	}
	if deny {
		d.state.Denied = true
		return nil
	}
	var scopes []string
	for _, sc := range granted {
		if slices.Contains(d.state.Scopes, sc) && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	d.state.Scopes = scopes
	d.state.Subject = subject
	d.state.AuthTime = time.Now()
	d.state.AMR = []string{"pwd"}
	d.state.Done = true
	return nil
}

var errUnknownCode = errors.New("unknown or expired code")

// --- tokens ---

// CreateAccessToken issues an access token without a refresh token (no
// offline_access granted).
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.newAccessLocked(randomID(), req.GetSubject(), clientIDOf(req), req.GetScopes())
	return a.id, a.expires, nil
}

func (s *storage) newAccessLocked(grant, subject, clientID string, scopes []string) *access {
	a := &access{
		id: randomID(), grant: grant, subject: subject, clientID: clientID,
		scopes: slices.Clone(scopes), expires: time.Now().Add(s.opts.AccessTokenTTL),
	}
	s.access[a.id] = a
	return a
}

// CreateAccessAndRefreshTokens issues a new pair, after a device sign-in
// (current == "") or by rotating the refresh token current.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	grant := randomID()
	var authTime time.Time
	var amr []string
	if current != "" {
		old, ok := s.refresh[current]
		if !ok {
			// Lost a race with another refresh of the same token: that is
			// reuse, and it ends the grant.
			if g, used := s.rotated[current]; used {
				s.revokeGrantLocked(g)
			}
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
		}
		grant, authTime, amr = old.grant, old.authTime, old.amr
		delete(s.refresh, current)
		s.rotated[current] = grant
	} else if r, ok := req.(interface {
		GetAuthTime() time.Time
		GetAMR() []string
	}); ok {
		authTime, amr = r.GetAuthTime(), r.GetAMR()
	}
	a := s.newAccessLocked(grant, req.GetSubject(), clientIDOf(req), req.GetScopes())
	r := &refresh{
		token: randomID(), grant: grant, subject: req.GetSubject(), clientID: a.clientID,
		scopes: a.scopes, amr: amr, authTime: authTime,
		expires: time.Now().Add(s.opts.RefreshTokenTTL),
	}
	s.refresh[r.token] = r
	return a.id, r.token, a.expires, nil
}

func clientIDOf(req op.TokenRequest) string {
	if c, ok := req.(interface{ GetClientID() string }); ok {
		return c.GetClientID()
	}
	return ""
}

// TokenRequestByRefreshToken looks up a refresh token. A rotated one
// coming back is reuse (RFC 9700 §4.14.2): the whole grant is revoked.
func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[token]
	if !ok {
		if g, used := s.rotated[token]; used {
			s.revokeGrantLocked(g)
			return nil, errors.New("refresh token reused: grant revoked")
		}
		return nil, errors.New("unknown refresh token")
	}
	if time.Now().After(r.expires) {
		delete(s.refresh, token)
		return nil, errors.New("refresh token expired")
	}
	return &refreshRequest{r: *r, scopes: slices.Clone(r.scopes)}, nil
}

// revokeGrantLocked ends a sign-in: every access and refresh token of it.
func (s *storage) revokeGrantLocked(grant string) {
	for id, a := range s.access {
		if a.grant == grant {
			delete(s.access, id)
		}
	}
	for t, r := range s.refresh {
		if r.grant == grant {
			delete(s.refresh, t)
		}
	}
}

func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refresh {
		if r.subject == userID && r.clientID == clientID {
			s.revokeGrantLocked(r.grant)
		}
	}
	return nil
}

// GetRefreshTokenInfo: a refresh token is its own ID here.
func (s *storage) GetRefreshTokenInfo(_ context.Context, clientID, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[token]
	if !ok || r.clientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return r.subject, token, nil
}

// RevokeToken (RFC 7009): revoking a refresh token ends the grant, so the
// access tokens issued with it stop working too; revoking an access token
// ends only that token. Unknown tokens are not an error (RFC 7009 §2.2).
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.refresh[tokenOrID]; ok {
		if r.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		s.revokeGrantLocked(r.grant)
		return nil
	}
	if a, ok := s.access[tokenOrID]; ok {
		if a.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.access, tokenOrID)
	}
	return nil
}

// activeToken returns the live access token with id.
func (s *storage) activeToken(id string) (access, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.access[id]
	if !ok || time.Now().After(a.expires) {
		return access{}, errors.New("access token invalid or expired")
	}
	return *a, nil
}

type refreshRequest struct {
	r      refresh
	scopes []string
}

func (q *refreshRequest) GetAMR() []string             { return q.r.amr }
func (q *refreshRequest) GetAudience() []string        { return []string{q.r.clientID} }
func (q *refreshRequest) GetAuthTime() time.Time       { return q.r.authTime }
func (q *refreshRequest) GetClientID() string          { return q.r.clientID }
func (q *refreshRequest) GetScopes() []string          { return q.scopes }
func (q *refreshRequest) GetSubject() string           { return q.r.subject }
func (q *refreshRequest) SetCurrentScopes(sc []string) { q.scopes = sc }

// --- keys ---

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return &s.key, nil }
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{&s.key}}, nil
}

// --- clients and users ---

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.opts.ClientID {
		// invalid_client, not a plain error: the library turns those into
		// server_error (HTTP 500) on the device authorization endpoint.
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	return client{id: id, idTokenTTL: s.opts.AccessTokenTTL}, nil
}

// AuthorizeClientIDSecret: the only client is public (RFC 8628 §5.6: a
// device client cannot keep a secret), so no secret is ever right.
func (s *storage) AuthorizeClientIDSecret(context.Context, string, string) error {
	return errors.New("public client: no client secret")
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token (op.CanSetUserinfoFromRequest).
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	s.setUserinfo(ui, req.GetSubject(), scopes)
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, ui *oidc.UserInfo, tokenID, _, _ string) error {
	a, err := s.activeToken(tokenID)
	if err != nil {
		return err
	}
	s.setUserinfo(ui, a.subject, a.scopes)
	return nil
}

func (s *storage) setUserinfo(ui *oidc.UserInfo, subject string, scopes []string) {
	u := s.opts.User
	ui.Subject = subject
	if subject != u.Login {
		return
	}
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			ui.Name = u.Name
			ui.PreferredUsername = u.Login
		case oidc.ScopeEmail:
			ui.Email = u.Email
			ui.EmailVerified = true
		}
	}
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, in *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	a, err := s.activeToken(tokenID)
	if err != nil {
		return err
	}
	if a.clientID != clientID {
		return errors.New("token was not issued to this client")
	}
	in.Active = true
	in.Subject = subject
	in.ClientID = a.clientID
	in.Scope = a.scopes
	in.Expiration = oidc.FromTime(a.expires)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotSupported
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotSupported
}

func (s *storage) Health(context.Context) error { return nil }
