package tokencache

import (
	"slices"
	"strings"
	"time"
)

// ScopedToken is an access token for a scope set other than the sign-in's
// own: narrower scopes (RFC 6749 §6 lets a refresh request ask for fewer),
// or another resource (Microsoft's v2 endpoint issues tokens for any
// consented resource, e.g. https://management.azure.com/.default, from the
// same refresh token). It has no refresh token of its own: the entry's
// one serves every scope set.
type ScopedToken struct {
	Scopes        []string  `json:"scopes"`
	AccessToken   string    `json:"access_token"`
	TokenType     string    `json:"token_type,omitempty"`
	Expiry        time.Time `json:"expiry,omitzero"`
	ScopesGranted []string  `json:"scopes_granted,omitempty"`
	RefreshedAt   time.Time `json:"refreshed_at,omitzero"`
}

// Valid reports whether the token is usable for at least ttl more.
func (t *ScopedToken) Valid(now time.Time, ttl time.Duration) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || t.Expiry.After(now.Add(ttl))
}

// ScopeKey names a scope set independently of order and repetition: the
// key of Entry.Scoped.
func ScopeKey(scopes []string) string {
	s := NormalizeScopes(scopes)
	return strings.Join(s, " ")
}

// NormalizeScopes sorts scopes and drops empty and repeated ones.
func NormalizeScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		out = append(out, strings.Fields(s)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ScopedFor returns the cached token for scopes, or nil.
func (e *Entry) ScopedFor(scopes []string) *ScopedToken {
	if e == nil {
		return nil
	}
	return e.Scoped[ScopeKey(scopes)]
}

// SetScoped stores t under its scope set.
func (e *Entry) SetScoped(t *ScopedToken) {
	if e.Scoped == nil {
		e.Scoped = map[string]*ScopedToken{}
	}
	t.Scopes = NormalizeScopes(t.Scopes)
	e.Scoped[ScopeKey(t.Scopes)] = t
}

// AWS is what an IAM Identity Center sign-in keeps besides the SSO access
// token (the entry's AccessToken) and its refresh token.
type AWS struct {
	StartURL  string `json:"start_url"`
	Region    string `json:"region"`
	AccountID string `json:"account_id"`
	RoleName  string `json:"role_name"`
	// The registered public client (SSO-OIDC RegisterClient). Its secret
	// is a credential; registrations expire (about 90 days).
	ClientID              string    `json:"client_id"`
	ClientSecret          string    `json:"client_secret"`
	RegistrationExpiresAt time.Time `json:"registration_expires_at,omitzero"`
	// Credentials are the role credentials last bought with the access
	// token (portal GetRoleCredentials).
	Credentials *AWSCredentials `json:"credentials,omitempty"`
}

// AWSCredentials are short-lived role credentials.
type AWSCredentials struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
}

// Valid reports whether the credentials are usable for at least ttl more.
func (c *AWSCredentials) Valid(now time.Time, ttl time.Duration) bool {
	return c != nil && c.AccessKeyID != "" && c.Expiration.After(now.Add(ttl))
}
