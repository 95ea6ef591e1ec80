// Package awssso speaks AWS IAM Identity Center's two sign-in APIs: SSO-OIDC
// (client registration, device authorization, token) and the SSO portal
// (role credentials, logout).
//
// SSO-OIDC runs RFC 8628's device authorization grant, but not its wire
// format: requests and answers are JSON with camelCase fields, and errors
// are AWS exception types rather than RFC 6749 §5.2 codes. Shapes follow
// botocore's service models (boto/botocore at 0e6e2404,
// botocore/data/sso-oidc/2019-06-10/service-2.json and
// botocore/data/sso/2019-06-10/service-2.json); the error code is found
// the way botocore's RestJSONParser finds it (botocore/parsers.py:
// x-amzn-ErrorType header, then the body's "code", then "__type", each cut
// at ':' and after '#').
//
// Neither API is signed: botocore calls both with signature_version=UNSIGNED
// (botocore/tokens.py, botocore/credentials.py), the portal authenticating
// by the x-amz-sso_bearer_token header.
//
// The package is a leaf: it knows nothing about profiles, caches or
// Telegram, and it never puts a token, secret or device code in an error.
package awssso

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxBody bounds every answer we read.
const MaxBody = 1 << 20

// Grant types of CreateToken (service-2.json, CreateTokenRequest.grantType).
const (
	GrantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code" // RFC 8628 §3.4
	GrantRefreshToken = "refresh_token"                                // RFC 6749 §6
)

// ScopeAccountAccess is the scope a registration asks for so that
// CreateToken also returns a refresh token: botocore's SSO token provider
// refreshes only tokens of registrations with scopes
// (botocore/tokens.py, SSOTokenProvider; the AWS CLI registers with
// "sso:account:access" by default).
const ScopeAccountAccess = "sso:account:access"

// Exception types (service-2.json, shapes with "exception": true).
const (
	AuthorizationPending  = "AuthorizationPendingException"
	SlowDown              = "SlowDownException"
	AccessDenied          = "AccessDeniedException"
	ExpiredToken          = "ExpiredTokenException"
	InvalidClient         = "InvalidClientException"
	InvalidGrant          = "InvalidGrantException"
	InvalidRequest        = "InvalidRequestException"
	InvalidScope          = "InvalidScopeException"
	InvalidClientMetadata = "InvalidClientMetadataException"
	UnauthorizedClient    = "UnauthorizedClientException"
	UnsupportedGrantType  = "UnsupportedGrantTypeException"
	InternalServer        = "InternalServerException"
	Unauthorized          = "UnauthorizedException"     // portal: the access token is not accepted
	ResourceNotFound      = "ResourceNotFoundException" // portal: no such account or role for this person
	Forbidden             = "ForbiddenException"        // portal: "No access", what real AWS sends for a role not assigned
	TooManyRequests       = "TooManyRequestsException"
	InvalidRequestRegion  = "InvalidRequestRegionException"
	InvalidRedirectURI    = "InvalidRedirectUriException"
)

// OIDCURL is the SSO-OIDC endpoint of a region.
func OIDCURL(region string) string { return "https://oidc." + region + ".amazonaws.com" }

// PortalURL is the SSO portal endpoint of a region.
func PortalURL(region string) string { return "https://portal.sso." + region + ".amazonaws.com" }

// Client calls one region's SSO-OIDC and portal endpoints.
type Client struct {
	HTTP      *http.Client
	OIDCURL   string // e.g. https://oidc.eu-west-1.amazonaws.com
	PortalURL string // e.g. https://portal.sso.eu-west-1.amazonaws.com
}

// Error is an answer that is not the one asked for: an AWS exception, an
// HTTP error, a malformed body, or no answer at all. It never holds a
// token or secret: only the exception type, AWS's description, the status.
type Error struct {
	Op     string // RegisterClient, StartDeviceAuthorization, CreateToken, GetRoleCredentials, Logout
	Status int    // HTTP status; 0 when no answer arrived
	Type   string // the exception type, e.g. AuthorizationPendingException; "" when none was given
	// Code is the OAuth error field some exceptions carry (authorization_pending, ...).
	Code        string
	Description string // AWS's error_description or message, clipped
	Host        string // set when the host could not be reached at all
	Err         error  // transport or decoding failure
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	switch {
	case e.Type != "":
		b.WriteString(": " + e.Type)
	case e.Status != 0:
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether trying again later may help: no answer, a 5xx,
// InternalServerException or TooManyRequestsException.
func (e *Error) Transient() bool {
	return e.Status == 0 || e.Status >= 500 || e.Type == InternalServer || e.Type == TooManyRequests ||
		e.Status == http.StatusTooManyRequests
}

// IsType reports whether err is an *Error of the exception type t.
func IsType(err error, t string) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == t
}

// Registration is a registered public client (RegisterClientResponse). Its
// secret is a credential of this installation only, but still a secret:
// it is never printed.
type Registration struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	// IssuedAt and ExpiresAt are Unix seconds (LongTimeStampType).
	IssuedAt  int64 `json:"clientIdIssuedAt"`
	ExpiresAt int64 `json:"clientSecretExpiresAt"`
}

// Expiry is when the registration ends (zero if AWS did not say).
func (r *Registration) Expiry() time.Time {
	if r == nil || r.ExpiresAt <= 0 {
		return time.Time{}
	}
	return time.Unix(r.ExpiresAt, 0)
}

// Usable reports whether the registration can still be used for margin.
func (r *Registration) Usable(now time.Time, margin time.Duration) bool {
	if r == nil || r.ClientID == "" || r.ClientSecret == "" {
		return false
	}
	exp := r.Expiry()
	return exp.IsZero() || exp.After(now.Add(margin))
}

// DeviceAuthorization is StartDeviceAuthorizationResponse.
type DeviceAuthorization struct {
	DeviceCode              string `json:"deviceCode"`
	UserCode                string `json:"userCode"`
	VerificationURI         string `json:"verificationUri"`
	VerificationURIComplete string `json:"verificationUriComplete"`
	ExpiresIn               int64  `json:"expiresIn"`
	Interval                int64  `json:"interval"`
}

// Token is CreateTokenResponse.
type Token struct {
	AccessToken  string `json:"accessToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int64  `json:"expiresIn"`
	RefreshToken string `json:"refreshToken"`
	IDToken      string `json:"idToken"`
}

// RoleCredentials is GetRoleCredentialsResponse.roleCredentials.
type RoleCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
	// Expiration is Unix milliseconds (ExpirationTimestampType is a long;
	// botocore's SSOCredentialFetcher divides it by 1000).
	Expiration int64 `json:"expiration"`
}

// Expiry is when the credentials end.
func (c *RoleCredentials) Expiry() time.Time { return time.UnixMilli(c.Expiration) }

// Register registers a public client (POST /client/register). With scopes
// (ScopeAccountAccess) its tokens come with refresh tokens.
func (c *Client) Register(ctx context.Context, name string, scopes []string) (*Registration, error) {
	const op = "RegisterClient"
	body := map[string]any{"clientName": name, "clientType": "public"}
	if len(scopes) > 0 {
		body["scopes"] = scopes
	}
	res, err := c.do(ctx, op, http.MethodPost, c.OIDCURL+"/client/register", nil, body)
	if err != nil {
		return nil, err
	}
	return ParseRegistration(res.Body)
}

// StartDeviceAuthorization asks for a device and user code for the
// organisation's start URL (POST /device_authorization).
func (c *Client) StartDeviceAuthorization(ctx context.Context, reg *Registration, startURL string) (*DeviceAuthorization, error) {
	const op = "StartDeviceAuthorization"
	body := map[string]any{"clientId": reg.ClientID, "clientSecret": reg.ClientSecret, "startUrl": startURL}
	res, err := c.do(ctx, op, http.MethodPost, c.OIDCURL+"/device_authorization", nil, body)
	if err != nil {
		return nil, err
	}
	return ParseDeviceAuthorization(res.Body)
}

// CreateToken polls once for the device code's token (POST /token). While
// the person has not approved, the error is an *Error of type
// AuthorizationPendingException (or SlowDownException).
func (c *Client) CreateToken(ctx context.Context, reg *Registration, deviceCode string) (*Token, error) {
	return c.token(ctx, map[string]any{
		"clientId": reg.ClientID, "clientSecret": reg.ClientSecret,
		"grantType": GrantDeviceCode, "deviceCode": deviceCode,
	})
}

// Refresh trades a refresh token for a new access token, as botocore's
// SSOTokenProvider does (grantType refresh_token). The answer may carry a
// new refresh token; callers keep the old one otherwise.
func (c *Client) Refresh(ctx context.Context, reg *Registration, refreshToken string) (*Token, error) {
	return c.token(ctx, map[string]any{
		"clientId": reg.ClientID, "clientSecret": reg.ClientSecret,
		"grantType": GrantRefreshToken, "refreshToken": refreshToken,
	})
}

func (c *Client) token(ctx context.Context, body map[string]any) (*Token, error) {
	res, err := c.do(ctx, "CreateToken", http.MethodPost, c.OIDCURL+"/token", nil, body)
	if err != nil {
		return nil, err
	}
	return ParseToken(res.Body)
}

// RoleCredentials buys short-lived credentials for a role in an account
// (GET /federation/credentials).
func (c *Client) RoleCredentials(ctx context.Context, accessToken, accountID, roleName string) (*RoleCredentials, error) {
	q := url.Values{"account_id": {accountID}, "role_name": {roleName}}
	res, err := c.do(ctx, "GetRoleCredentials", http.MethodGet, c.PortalURL+"/federation/credentials?"+q.Encode(),
		http.Header{"X-Amz-Sso_bearer_token": {accessToken}}, nil)
	if err != nil {
		return nil, err
	}
	return ParseRoleCredentials(res.Body)
}

// Logout ends the portal session of the access token (POST /logout), which
// also invalidates the role credentials' session in the portal.
func (c *Client) Logout(ctx context.Context, accessToken string) error {
	_, err := c.do(ctx, "Logout", http.MethodPost, c.PortalURL+"/logout",
		http.Header{"X-Amz-Sso_bearer_token": {accessToken}}, nil)
	return err
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends one request and returns a 2xx answer, or an *Error.
func (c *Client) do(ctx context.Context, op, method, u string, h http.Header, body any) (*response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("bad endpoint URL")}
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{Op: op, Host: hostOf(u), Err: fmt.Errorf("cannot reach %s: %w", hostOf(u), err)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxBody+1))
	if err != nil {
		return nil, &Error{Op: op, Status: res.StatusCode, Err: fmt.Errorf("reading the answer of %s: %w", hostOf(u), err)}
	}
	if len(b) > MaxBody {
		return nil, &Error{Op: op, Status: res.StatusCode, Err: fmt.Errorf("%s answered more than %d bytes", hostOf(u), MaxBody)}
	}
	if res.StatusCode/100 != 2 {
		return nil, ParseError(op, res.StatusCode, res.Header, b)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// ParseError reads an error answer the way botocore's RestJSONParser does:
// the type from the x-amzn-ErrorType header, else the body's "code"
// ("Code"), else "__type"; "Type:namespace" and "namespace#Type" are cut
// down to Type. The description is SSO-OIDC's error_description or the
// portal's message.
func ParseError(op string, status int, h http.Header, body []byte) *Error {
	e := &Error{Op: op, Status: status}
	var b struct {
		Code        any    `json:"code"`
		CodeUpper   any    `json:"Code"`
		Type        any    `json:"__type"`
		Error       any    `json:"error"`
		Description any    `json:"error_description"`
		Message     any    `json:"message"`
		MessageUp   any    `json:"Message"`
		Reason      string `json:"reason"`
	}
	_ = json.Unmarshal(body, &b) // a non-JSON body leaves only the status
	t := h.Get("X-Amzn-Errortype")
	for _, v := range []any{b.Code, b.CodeUpper, b.Type} {
		if t != "" {
			break
		}
		t, _ = v.(string)
	}
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	e.Type = clip(printable(t), 100)
	e.Code, _ = b.Error.(string)
	e.Code = clip(printable(e.Code), 100)
	desc, _ := b.Description.(string)
	for _, v := range []any{b.Message, b.MessageUp} {
		if desc != "" {
			break
		}
		desc, _ = v.(string)
	}
	e.Description = clip(printable(desc), 300)
	return e
}

// ParseRegistration decodes RegisterClientResponse.
func ParseRegistration(body []byte) (*Registration, error) {
	var r Registration
	if err := decode(body, &r); err != nil {
		return nil, &Error{Op: "RegisterClient", Status: 200, Err: err}
	}
	if r.ClientID == "" || r.ClientSecret == "" {
		return nil, &Error{Op: "RegisterClient", Status: 200, Err: errors.New("the answer lacks clientId or clientSecret")}
	}
	return &r, nil
}

// ParseDeviceAuthorization decodes StartDeviceAuthorizationResponse.
func ParseDeviceAuthorization(body []byte) (*DeviceAuthorization, error) {
	var d DeviceAuthorization
	if err := decode(body, &d); err != nil {
		return nil, &Error{Op: "StartDeviceAuthorization", Status: 200, Err: err}
	}
	if d.DeviceCode == "" || d.UserCode == "" || d.VerificationURI == "" {
		return nil, &Error{Op: "StartDeviceAuthorization", Status: 200, Err: errors.New("the answer lacks deviceCode, userCode or verificationUri")}
	}
	if d.ExpiresIn < 0 || d.ExpiresIn > 1e7 {
		d.ExpiresIn = 0
	}
	if d.Interval < 0 || d.Interval > 3600 {
		d.Interval = 0
	}
	return &d, nil
}

// ParseToken decodes CreateTokenResponse.
func ParseToken(body []byte) (*Token, error) {
	var t Token
	if err := decode(body, &t); err != nil {
		return nil, &Error{Op: "CreateToken", Status: 200, Err: err}
	}
	if t.AccessToken == "" {
		return nil, &Error{Op: "CreateToken", Status: 200, Err: errors.New("the answer lacks accessToken")}
	}
	if t.ExpiresIn < 0 || t.ExpiresIn > 1e9 {
		t.ExpiresIn = 0
	}
	return &t, nil
}

// ParseRoleCredentials decodes GetRoleCredentialsResponse.
func ParseRoleCredentials(body []byte) (*RoleCredentials, error) {
	var r struct {
		RoleCredentials *RoleCredentials `json:"roleCredentials"`
	}
	if err := decode(body, &r); err != nil {
		return nil, &Error{Op: "GetRoleCredentials", Status: 200, Err: err}
	}
	c := r.RoleCredentials
	if c == nil || c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" {
		return nil, &Error{Op: "GetRoleCredentials", Status: 200, Err: errors.New("the answer lacks roleCredentials with accessKeyId, secretAccessKey and sessionToken")}
	}
	// Before 2001 or after 5138: not milliseconds (seconds by mistake?).
	if c.Expiration < 1e12 || c.Expiration > 1e14 {
		return nil, &Error{Op: "GetRoleCredentials", Status: 200, Err: errors.New("the answer's expiration is not a time in Unix milliseconds")}
	}
	return c, nil
}

// decode reads a JSON object. Unknown fields are allowed: AWS adds fields
// (the response shapes have grown before) and the SDKs ignore them.
func decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return fmt.Errorf("field %s has the wrong type", printable(ute.Field))
		}
		return errors.New("the answer is not a JSON object")
	}
	if d.More() {
		return errors.New("the answer has data after its JSON object")
	}
	return nil
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return "AWS"
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// printable drops control characters, so an answer cannot move a
// terminal's cursor or forge a second log line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
