// Package awsssotest is a fake of AWS IAM Identity Center's SSO-OIDC and
// SSO portal APIs for tests, since no real AWS can be reached from them.
//
// It follows the documented API exactly as botocore's service models
// describe it (boto/botocore at 0e6e2404,
// botocore/data/sso-oidc/2019-06-10/service-2.json and
// botocore/data/sso/2019-06-10/service-2.json): the operations' methods
// and paths, JSON bodies with camelCase members, the query parameters
// account_id and role_name and the x-amz-sso_bearer_token header of the
// portal, and errors as exception types with their modelled HTTP status
// (AuthorizationPendingException 400, InvalidClientException 401,
// UnauthorizedException 401, ResourceNotFoundException 404, ...), named in
// the x-amzn-ErrorType header as AWS's rest-json services do, with the
// SSO-OIDC body {"error": ..., "error_description": ...} and the portal
// body {"message": ...}.
//
// One httptest server serves both APIs (their paths do not overlap). The
// person at the sign-in page is played by [Server.Approve] and
// [Server.Deny].
package awsssotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure the fake. Zero values keep AWS's documented defaults.
type Options struct {
	StartURL  string // the organisation's start URL; default https://d-1234567890.awsapps.com/start
	AccountID string // default 123456789012
	RoleName  string // default ReadOnly
	// NoAccess is the exception GetRoleCredentials answers for an account
	// or role the person is not assigned: default ResourceNotFoundException
	// (404), as botocore's model has it; real AWS sends ForbiddenException
	// (403) "No access", which aws-cli users report.
	NoAccess string

	RegistrationTTL time.Duration // clientSecretExpiresAt; default 90 days
	DeviceCodeTTL   time.Duration // expiresIn of a device code; default 10 min
	Interval        time.Duration // interval; default 1 s, as SSO-OIDC sends
	AccessTokenTTL  time.Duration // expiresIn of an access token; default 8 h
	CredentialsTTL  time.Duration // role credentials; default 1 h

	// SlowDown answers SlowDownException to a poll sooner than the interval.
	SlowDown bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Counts are how many requests of each operation the fake answered.
type Counts struct {
	RegisterClient, StartDeviceAuthorization, CreateToken, Refresh, GetRoleCredentials, Logout int
	// Pending and SlowDowns count those CreateToken answers.
	Pending, SlowDowns int
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	opt Options

	mu        sync.Mutex
	clients   map[string]*client // by clientId
	devices   map[string]*device // by deviceCode
	byUser    map[string]*device // by userCode
	access    map[string]time.Time
	refresh   map[string]string // refresh token -> clientId; spent ones are deleted
	spent     map[string]bool
	counts    Counts
	failNext  map[string]string // operation -> exception type for its next request
	issuedKey []string          // every access key id issued
}

type client struct {
	secret  string
	expires time.Time
	scopes  []string
}

type device struct {
	clientID string
	userCode string
	expires  time.Time
	state    string // pending, approved, denied, used
	lastPoll time.Time
	interval time.Duration
}

// Start starts a fake on 127.0.0.1; it stops when the test ends.
func Start(t interface {
	Helper()
	Cleanup(func())
}, o Options) *Server {
	t.Helper()
	s := New(o)
	t.Cleanup(s.Close)
	return s
}

// New starts a fake; the caller closes it.
func New(o Options) *Server {
	if o.StartURL == "" {
		o.StartURL = "https://d-1234567890.awsapps.com/start"
	}
	if o.NoAccess == "" {
		o.NoAccess = "ResourceNotFoundException"
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	if o.RoleName == "" {
		o.RoleName = "ReadOnly"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.RegistrationTTL, 90*24*time.Hour)
	def(&o.DeviceCodeTTL, 10*time.Minute)
	def(&o.Interval, time.Second)
	def(&o.AccessTokenTTL, 8*time.Hour)
	def(&o.CredentialsTTL, time.Hour)
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{
		opt:      o,
		clients:  map[string]*client{},
		devices:  map[string]*device{},
		byUser:   map[string]*device{},
		access:   map[string]time.Time{},
		refresh:  map[string]string{},
		spent:    map[string]bool{},
		failNext: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /client/register", s.register)
	mux.HandleFunc("POST /device_authorization", s.deviceAuthorization)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /federation/credentials", s.credentials)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /device", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>AWS access portal (fake): enter your code</body></html>")
	})
	// Handlers read s.URL: assign the server before it serves.
	s.Server = httptest.NewUnstartedServer(mux)
	s.Start()
	return s
}

// StartURL, AccountID and RoleName are what the fake accepts.
func (s *Server) StartURL() string  { return s.opt.StartURL }
func (s *Server) AccountID() string { return s.opt.AccountID }
func (s *Server) RoleName() string  { return s.opt.RoleName }

// ProfileEnv is the environment of a devicegate profile (variables named
// prefix_..., e.g. OAUTH) that signs in through the fake, in region
// eu-west-1: both the SSO-OIDC and the portal URL point at it.
func (s *Server) ProfileEnv(prefix string) []string {
	return []string{
		prefix + "_PROVIDER=aws",
		prefix + "_START_URL=" + s.StartURL(),
		prefix + "_REGION=eu-west-1",
		prefix + "_ACCOUNT_ID=" + s.AccountID(),
		prefix + "_ROLE_NAME=" + s.RoleName(),
		prefix + "_OIDC_URL=" + s.URL,
		prefix + "_PORTAL_URL=" + s.URL,
	}
}

// Counts returns the request counts so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// FailNext makes the next request of op (RegisterClient, CreateToken,
// GetRoleCredentials, Logout, ...) answer the exception typ.
func (s *Server) FailNext(op, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[op] = typ
}

// ExpireRegistrations makes every registered client expired, as after 90 days.
func (s *Server) ExpireRegistrations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.expires = s.opt.Now().Add(-time.Second)
	}
}

// Registrations is how many clients were registered.
func (s *Server) Registrations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// LoggedOut reports whether accessToken was ended by POST /logout (or never issued).
func (s *Server) LoggedOut(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.access[accessToken]
	return !ok
}

// Approve plays the person approving userCode at the portal.
func (s *Server) Approve(userCode string) error { return s.decide(userCode, "approved") }

// Deny plays the person refusing userCode.
func (s *Server) Deny(userCode string) error { return s.decide(userCode, "denied") }

func (s *Server) decide(userCode, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.byUser[userCode]
	if d == nil || d.state != "pending" {
		return fmt.Errorf("awsssotest: no pending sign-in with user code %q", userCode)
	}
	d.state = state
	return nil
}

// oidcError writes an SSO-OIDC exception with its modelled status.
func oidcError(w http.ResponseWriter, typ, oauthCode, desc string) {
	status := http.StatusBadRequest
	switch typ {
	case "InvalidClientException":
		status = http.StatusUnauthorized
	case "InternalServerException":
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ+":http://internal.amazon.com/coral/com.amazonaws.swbup.oidc/")
	w.WriteHeader(status)
	b := map[string]any{"error": oauthCode}
	if desc != "" {
		b["error_description"] = desc
	} else {
		b["error_description"] = nil
	}
	json.NewEncoder(w).Encode(b)
}

// portalError writes an SSO portal exception with its modelled status.
func portalError(w http.ResponseWriter, typ, msg string) {
	status := map[string]int{
		"UnauthorizedException":     http.StatusUnauthorized,
		"ResourceNotFoundException": http.StatusNotFound,
		"ForbiddenException":        http.StatusForbidden,
		"TooManyRequestsException":  http.StatusTooManyRequests,
		"InvalidRequestException":   http.StatusBadRequest,
	}[typ]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ+":http://internal.amazon.com/coral/com.amazon.switchboard.portal/")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (s *Server) injected(w http.ResponseWriter, op string, portal bool) bool {
	typ, ok := s.failNext[op]
	if !ok {
		return false
	}
	delete(s.failNext, op)
	if portal {
		portalError(w, typ, "injected by the test")
	} else {
		oidcError(w, typ, "server_error", "injected by the test")
	}
	return true
}

// readJSON decodes a request body strictly: the SDKs send exactly the
// modelled members, so anything else is a client bug worth failing on.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/x-amz-json") {
		oidcError(w, "InvalidRequestException", "invalid_request", "Content-Type must be JSON")
		return false
	}
	d := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		oidcError(w, "InvalidRequestException", "invalid_request", "malformed request: "+err.Error())
		return false
	}
	return true
}

func token(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientName   string   `json:"clientName"`
		ClientType   string   `json:"clientType"`
		Scopes       []string `json:"scopes"`
		RedirectURIs []string `json:"redirectUris"`
		GrantTypes   []string `json:"grantTypes"`
		IssuerURL    string   `json:"issuerUrl"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.RegisterClient++
	if s.injected(w, "RegisterClient", false) || !readJSON(w, r, &req) {
		return
	}
	if req.ClientName == "" || req.ClientType == "" {
		oidcError(w, "InvalidRequestException", "invalid_request", "clientName and clientType are required")
		return
	}
	if req.ClientType != "public" {
		oidcError(w, "InvalidClientMetadataException", "invalid_client_metadata", "clientType must be public")
		return
	}
	for _, sc := range req.Scopes {
		if !strings.HasPrefix(sc, "sso:") && !strings.HasPrefix(sc, "codewhisperer:") {
			oidcError(w, "InvalidScopeException", "invalid_scope", "unknown scope")
			return
		}
	}
	now := s.opt.Now()
	id, secret := token("cid-", 12), token("csec-", 24)
	c := &client{secret: secret, expires: now.Add(s.opt.RegistrationTTL), scopes: req.Scopes}
	s.clients[id] = c
	writeJSON(w, map[string]any{
		"clientId":              id,
		"clientSecret":          secret,
		"clientIdIssuedAt":      now.Unix(),
		"clientSecretExpiresAt": c.expires.Unix(),
	})
}

// client checks a clientId and clientSecret pair.
func (s *Server) client(w http.ResponseWriter, id, secret string) *client {
	c := s.clients[id]
	switch {
	case c == nil || c.secret != secret:
		oidcError(w, "InvalidClientException", "invalid_client", "Invalid client")
		return nil
	case !c.expires.After(s.opt.Now()):
		oidcError(w, "InvalidClientException", "invalid_client", "Client is expired")
		return nil
	}
	return c
}

func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		StartURL     string `json:"startUrl"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.StartDeviceAuthorization++
	if s.injected(w, "StartDeviceAuthorization", false) || !readJSON(w, r, &req) {
		return
	}
	if req.ClientID == "" || req.ClientSecret == "" || req.StartURL == "" {
		oidcError(w, "InvalidRequestException", "invalid_request", "clientId, clientSecret and startUrl are required")
		return
	}
	if s.client(w, req.ClientID, req.ClientSecret) == nil {
		return
	}
	if req.StartURL != s.opt.StartURL {
		oidcError(w, "InvalidRequestException", "invalid_request", "Invalid start URL")
		return
	}
	now := s.opt.Now()
	d := &device{clientID: req.ClientID, userCode: userCode(), expires: now.Add(s.opt.DeviceCodeTTL), state: "pending", interval: s.opt.Interval}
	dc := token("dc-", 24)
	s.devices[dc] = d
	s.byUser[d.userCode] = d
	verify := s.URL + "/device"
	writeJSON(w, map[string]any{
		"deviceCode":              dc,
		"userCode":                d.userCode,
		"verificationUri":         verify,
		"verificationUriComplete": verify + "?user_code=" + d.userCode,
		"expiresIn":               int64(s.opt.DeviceCodeTTL / time.Second),
		"interval":                int64(s.opt.Interval / time.Second),
	})
}

func userCode() string {
	const letters = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID     string   `json:"clientId"`
		ClientSecret string   `json:"clientSecret"`
		GrantType    string   `json:"grantType"`
		DeviceCode   string   `json:"deviceCode"`
		Code         string   `json:"code"`
		RefreshToken string   `json:"refreshToken"`
		Scope        []string `json:"scope"`
		RedirectURI  string   `json:"redirectUri"`
		CodeVerifier string   `json:"codeVerifier"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.CreateToken++
	if s.injected(w, "CreateToken", false) || !readJSON(w, r, &req) {
		return
	}
	if req.ClientID == "" || req.ClientSecret == "" || req.GrantType == "" {
		oidcError(w, "InvalidRequestException", "invalid_request", "clientId, clientSecret and grantType are required")
		return
	}
	c := s.client(w, req.ClientID, req.ClientSecret)
	if c == nil {
		return
	}
	now := s.opt.Now()
	switch req.GrantType {
	case "urn:ietf:params:oauth:grant-type:device_code":
		d := s.devices[req.DeviceCode]
		if d == nil || d.clientID != req.ClientID {
			oidcError(w, "InvalidGrantException", "invalid_grant", "Invalid device code provided")
			return
		}
		if !d.expires.After(now) {
			oidcError(w, "ExpiredTokenException", "expired_token", "Device code has expired")
			return
		}
		if s.opt.SlowDown && !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval {
			d.lastPoll = now
			d.interval += 5 * time.Second
			s.counts.SlowDowns++
			oidcError(w, "SlowDownException", "slow_down", "")
			return
		}
		d.lastPoll = now
		switch d.state {
		case "pending":
			s.counts.Pending++
			oidcError(w, "AuthorizationPendingException", "authorization_pending", "")
			return
		case "denied":
			oidcError(w, "AccessDeniedException", "access_denied", "")
			return
		case "used":
			oidcError(w, "InvalidGrantException", "invalid_grant", "Device code has been used")
			return
		}
		d.state = "used"
		s.issue(w, c, req.ClientID)
	case "refresh_token":
		s.counts.Refresh++
		owner, ok := s.refresh[req.RefreshToken]
		if !ok || owner != req.ClientID {
			oidcError(w, "InvalidGrantException", "invalid_grant", "Invalid refresh token provided")
			return
		}
		delete(s.refresh, req.RefreshToken)
		s.spent[req.RefreshToken] = true
		s.issue(w, c, req.ClientID)
	default:
		oidcError(w, "UnsupportedGrantTypeException", "unsupported_grant_type", "")
	}
}

// issue answers CreateTokenResponse. A refresh token comes only for
// registrations with scopes, as with AWS.
func (s *Server) issue(w http.ResponseWriter, c *client, clientID string) {
	at := token("aoa", 32)
	s.access[at] = s.opt.Now().Add(s.opt.AccessTokenTTL)
	out := map[string]any{
		"accessToken": at,
		"tokenType":   "Bearer",
		"expiresIn":   int64(s.opt.AccessTokenTTL / time.Second),
	}
	if len(c.scopes) > 0 {
		rt := token("aor", 32)
		s.refresh[rt] = clientID
		out["refreshToken"] = rt
	}
	writeJSON(w, out)
}

// bearer checks the portal's x-amz-sso_bearer_token header.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (string, bool) {
	at := r.Header.Get("x-amz-sso_bearer_token")
	exp, ok := s.access[at]
	if at == "" || !ok || !exp.After(s.opt.Now()) {
		portalError(w, "UnauthorizedException", "Session token not found or invalid")
		return "", false
	}
	return at, true
}

func (s *Server) credentials(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.GetRoleCredentials++
	if s.injected(w, "GetRoleCredentials", true) {
		return
	}
	q := r.URL.Query()
	if q.Get("account_id") == "" || q.Get("role_name") == "" {
		portalError(w, "InvalidRequestException", "account_id and role_name are required")
		return
	}
	if _, ok := s.bearer(w, r); !ok {
		return
	}
	if q.Get("account_id") != s.opt.AccountID || q.Get("role_name") != s.opt.RoleName {
		portalError(w, s.opt.NoAccess, "No access")
		return
	}
	key := "ASIA" + strings.ToUpper(token("", 8))
	s.issuedKey = append(s.issuedKey, key)
	writeJSON(w, map[string]any{"roleCredentials": map[string]any{
		"accessKeyId":     key,
		"secretAccessKey": token("", 20),
		"sessionToken":    token("IQoJb3JpZ2luX2Vj", 48),
		"expiration":      s.opt.Now().Add(s.opt.CredentialsTTL).UnixMilli(),
	}})
}

// IssuedKeys lists the access key ids handed out so far.
func (s *Server) IssuedKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issuedKey)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Logout++
	if s.injected(w, "Logout", true) {
		return
	}
	at, ok := s.bearer(w, r)
	if !ok {
		return
	}
	delete(s.access, at)
	w.WriteHeader(http.StatusOK)
}
