package session

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// States of a profile.
const (
	StateOK             = "ok"              // the access token is valid
	StateExpired        = "expired"         // expired, but a refresh token is held
	StateSignInRequired = "signin_required" // only a new sign-in helps
)

// Status describes a profile without touching the network.
type Status struct {
	Profile              string             `json:"profile"`
	Provider             string             `json:"provider"`
	State                string             `json:"state"`
	Reason               string             `json:"reason,omitempty"`
	Account              tokencache.Account `json:"account"`
	ScopesGranted        []string           `json:"scopes_granted"`
	ScopesRequested      []string           `json:"scopes_requested"`
	ScopesNotGranted     []string           `json:"scopes_not_granted"`
	AccessTokenExpiresAt *time.Time         `json:"access_token_expires_at"`
	HasRefreshToken      bool               `json:"has_refresh_token"`
	RefreshTokenIssuedAt *time.Time         `json:"refresh_token_issued_at,omitempty"`
	RefreshExpiresAt     *time.Time         `json:"refresh_token_expires_at,omitempty"`
	SignedInAt           *time.Time         `json:"signed_in_at,omitempty"`
	CacheEncrypted       bool               `json:"cache_encrypted"`
	// OneOff: a one-off grant, with no refresh token on purpose; access
	// ends at AccessTokenExpiresAt.
	OneOff bool `json:"one_off,omitempty"`
	// Flow is how the sign-in was made: "device" or "code" (OAUTH_FLOW).
	Flow string `json:"flow,omitempty"`
	// ScopedTokens are the access tokens held for other scope sets.
	ScopedTokens []ScopedStatus `json:"scoped_tokens,omitempty"`
	AWS          *AWSStatus     `json:"aws,omitempty"`
}

// ScopedStatus describes one cached token for a scope set (never the token).
type ScopedStatus struct {
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// AWSStatus describes an aws profile's account, role and credentials.
type AWSStatus struct {
	AccountID             string     `json:"account_id"`
	RoleName              string     `json:"role_name"`
	Region                string     `json:"region"`
	CredentialsExpireAt   *time.Time `json:"credentials_expire_at,omitempty"`
	RegistrationExpiresAt *time.Time `json:"registration_expires_at,omitempty"`
}

// Status reports the profile's state from the cache alone. The error is
// non-nil only for problems other than "not signed in" (which is a state).
func (s *Session) Status() (Status, error) {
	st := Status{
		Profile:          s.Profile,
		Provider:         s.Provider.Kind,
		ScopesRequested:  nonNil(s.Provider.Scopes),
		ScopesGranted:    []string{},
		ScopesNotGranted: []string{},
		CacheEncrypted:   s.Store.Encrypted(),
	}
	if a := s.Provider.AWS; a != nil {
		st.AWS = &AWSStatus{AccountID: a.AccountID, RoleName: a.RoleName, Region: a.Region}
	}
	e, err := s.Load()
	if err != nil {
		var se *SignInError
		if !errors.As(err, &se) {
			return st, err
		}
		st.State, st.Reason = StateSignInRequired, se.Reason
		return st, nil
	}
	st.CacheEncrypted = s.Store.IsEncryptedFile(s.Profile)
	st.Account = e.Account
	st.ScopesGranted = nonNil(e.ScopesGranted)
	if len(e.ScopesRequested) > 0 {
		st.ScopesRequested = e.ScopesRequested
	}
	st.ScopesNotGranted = s.Provider.NotGranted(st.ScopesRequested, st.ScopesGranted, e.RefreshToken != "")
	st.HasRefreshToken = e.RefreshToken != ""
	st.AccessTokenExpiresAt = timePtr(e.Expiry)
	st.RefreshTokenIssuedAt = timePtr(e.RefreshIssuedAt)
	st.RefreshExpiresAt = timePtr(e.RefreshExpiresAt)
	st.SignedInAt = timePtr(e.SignedInAt)
	st.OneOff = e.OneOff
	st.Flow = e.Flow
	if st.Flow == "" {
		st.Flow = config.FlowDevice
	}
	for _, k := range slices.Sorted(maps.Keys(e.Scoped)) {
		st.ScopedTokens = append(st.ScopedTokens, ScopedStatus{Scopes: e.Scoped[k].Scopes, ExpiresAt: timePtr(e.Scoped[k].Expiry)})
	}
	if a := s.Provider.AWS; a != nil {
		if e.AWS != nil {
			st.AWS.RegistrationExpiresAt = timePtr(e.AWS.RegistrationExpiresAt)
			if c := e.AWS.Credentials; c != nil && e.AWS.AccountID == a.AccountID && e.AWS.RoleName == a.RoleName {
				st.AWS.CredentialsExpireAt = timePtr(c.Expiration)
			}
		}
	}
	now := s.now()
	switch {
	case e.SignInRequired:
		st.State, st.Reason = StateSignInRequired, e.Reason
	case e.Valid(now, 0):
		st.State = StateOK
		if e.OneOff {
			st.Reason = "one-off grant: no refresh token is kept, access ends when the access token expires"
		}
	case e.OneOff:
		st.State, st.Reason = StateSignInRequired, "the one-off grant ended (its access token expired)"
	case e.RefreshToken != "" && (e.RefreshExpiresAt.IsZero() || e.RefreshExpiresAt.After(now)):
		st.State = StateExpired
	default:
		st.State, st.Reason = StateSignInRequired, "the access token expired and no usable refresh token is held"
	}
	return st, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// NotGranted lists the requested scopes the provider did not grant.
func (s *Session) NotGranted(e *tokencache.Entry) []string {
	req := e.ScopesRequested
	if len(req) == 0 {
		req = s.Provider.Scopes
	}
	return s.Provider.NotGranted(req, e.ScopesGranted, e.RefreshToken != "")
}
