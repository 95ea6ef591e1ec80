package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/awssso"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// AWS IAM Identity Center signs in with the device authorization grant,
// but through its own JSON API (package awssso): a public client is
// registered first, and the access token is not what programs use — it
// buys short-lived role credentials for one account and role.

// registrationMargin: a registration this close to its end is replaced
// before a sign-in, so the sign-in's refresh token does not die with it.
// (botocore's SSOTokenFetcher, which `aws sso login` uses, caches the
// registration per start URL, region and scopes and replaces it 15 minutes
// before clientSecretExpiresAt; we keep refresh tokens, so we want more.)
const registrationMargin = 7 * 24 * time.Hour

func (s *Session) awsClient() *awssso.Client {
	a := s.Provider.AWS
	return &awssso.Client{HTTP: s.HTTP, OIDCURL: a.OIDCURL, PortalURL: a.PortalURL}
}

// awsRegistration returns a usable registered client: the cached one, or
// a new one when there is none or it is about to expire (registrations
// last about 90 days).
func (s *Session) awsRegistration(ctx context.Context, fresh bool) (*tokencache.AWS, error) {
	a := s.Provider.AWS
	if !fresh {
		if e, err := s.Store.Load(s.Profile); err == nil && e.AWS != nil && e.AWS.ClientID != "" &&
			e.AWS.Region == a.Region && e.AWS.StartURL == a.StartURL &&
			(e.AWS.RegistrationExpiresAt.IsZero() || e.AWS.RegistrationExpiresAt.After(s.now().Add(registrationMargin))) {
			return &tokencache.AWS{ClientID: e.AWS.ClientID, ClientSecret: e.AWS.ClientSecret, RegistrationExpiresAt: e.AWS.RegistrationExpiresAt}, nil
		}
	}
	reg, err := s.awsClient().Register(ctx, "devicegate-"+s.Profile, []string{awssso.ScopeAccountAccess})
	if err != nil {
		return nil, err
	}
	return &tokencache.AWS{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RegistrationExpiresAt: reg.Expiry()}, nil
}

func registration(a *tokencache.AWS) *awssso.Registration {
	return &awssso.Registration{ClientID: a.ClientID, ClientSecret: a.ClientSecret, ExpiresAt: unix(a.RegistrationExpiresAt)}
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// awsLogin is Login for AWS.
func (s *Session) awsLogin(ctx context.Context, o LoginOptions) (*tokencache.Entry, error) {
	var (
		tok *oauth2.Token
		reg *tokencache.AWS
		err error
	)
	for fresh := false; ; fresh = true {
		if reg, err = s.awsRegistration(ctx, fresh); err != nil {
			return nil, s.providerErr("registering the client with AWS", awsErr(err))
		}
		f := &deviceflow.Flow{
			Wire:     &awsWire{c: s.awsClient(), reg: registration(reg), startURL: s.Provider.AWS.StartURL},
			HTTP:     s.HTTP,
			Restarts: s.Restarts,
			Display:  o.Display,
			Retrying: o.Retrying,
		}
		tok, err = f.Run(ctx)
		// A cached registration AWS no longer knows: register anew, once.
		if !fresh && awssso.IsType(err, awssso.InvalidClient) {
			continue
		}
		break
	}
	if err != nil {
		return nil, s.loginErr(ctx, awsErr(err))
	}
	a := s.Provider.AWS
	// The refresh token cannot outlive the client it was issued to.
	e := s.signedIn(tok, s.Provider.Scopes, o.OneOff || s.Provider.OneOff, s.now(), reg.RegistrationExpiresAt)
	e.Account = AWSAccount(a.AccountID, a.RoleName)
	e.AWS = &tokencache.AWS{
		StartURL: a.StartURL, Region: a.Region, AccountID: a.AccountID, RoleName: a.RoleName,
		ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RegistrationExpiresAt: reg.RegistrationExpiresAt,
	}
	// Buy the role credentials now: a wrong account or role shows at once,
	// while the person is still at the sign-in, not at the agent's first use.
	rc, cerr := s.awsClient().RoleCredentials(ctx, e.AccessToken, a.AccountID, a.RoleName)
	if cerr == nil {
		e.AWS.Credentials = awsCredentials(rc)
	}
	if err := s.replace(ctx, e, o); err != nil {
		return nil, err
	}
	_ = s.Record(audit.Event{Action: audit.ActionSignIn, Decision: "ok", Detail: signInDetail(e, false)})
	if cerr != nil {
		return e, s.credentialsErr(cerr)
	}
	return e, nil
}

// AWSAccount names an AWS sign-in for people: the account and role it
// gives access to (IAM Identity Center says nothing else about the person).
func AWSAccount(accountID, roleName string) tokencache.Account {
	return tokencache.Account{
		Name:    fmt.Sprintf("role %s in AWS account %s", roleName, accountID),
		Subject: accountID + "/" + roleName,
	}
}

func awsCredentials(rc *awssso.RoleCredentials) *tokencache.AWSCredentials {
	return &tokencache.AWSCredentials{
		AccessKeyID: rc.AccessKeyID, SecretAccessKey: rc.SecretAccessKey, SessionToken: rc.SessionToken,
		Expiration: rc.Expiry().UTC(),
	}
}

// ErrNoRole means AWS gives the signed-in person no such role in the
// account: the profile's ROLE_NAME or ACCOUNT_ID is not one of theirs. It
// is returned in a *ProviderError whose Var names both settings.
var ErrNoRole = errors.New("no such role for the signed-in person")

// noRole is AWS's answer, marked as ErrNoRole.
type noRole struct{ err error }

func (e noRole) Error() string   { return e.err.Error() }
func (e noRole) Unwrap() []error { return []error{ErrNoRole, e.err} }

func (s *Session) credentialsErr(err error) error {
	a := s.Provider.AWS
	// The model says ResourceNotFoundException; real AWS answers a role the
	// person is not assigned with 403 ForbiddenException "No access".
	if awssso.IsType(err, awssso.ResourceNotFound) || awssso.IsType(err, awssso.Forbidden) || awssso.IsType(err, awssso.InvalidRequest) {
		role, account := s.Provider.Var("ROLE_NAME"), s.Provider.Var("ACCOUNT_ID")
		return &ProviderError{Profile: s.Profile, Var: role + " and " + account, Err: noRole{awsErr(err)},
			Doing: fmt.Sprintf("AWS gives the signed-in person no role %s (%s) in account %s (%s)", a.RoleName, role, a.AccountID, account)}
	}
	return s.providerErr("getting AWS role credentials", awsErr(err))
}

// awsRefresh trades the refresh token for a new access token, as
// botocore's SSOTokenProvider does. Refusals come back as invalid_grant
// RetrieveErrors, so refresh handles them like any provider's.
func (s *Session) awsRefresh(ctx context.Context, e *tokencache.Entry) (*oauth2.Token, error) {
	if e.AWS == nil || e.AWS.ClientID == "" {
		return nil, &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "no registered client is cached"}
	}
	if !e.AWS.RegistrationExpiresAt.IsZero() && !e.AWS.RegistrationExpiresAt.After(s.now()) {
		return nil, &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: "the client registration expired"}
	}
	t, err := s.awsClient().Refresh(ctx, registration(e.AWS), e.RefreshToken)
	if err != nil {
		var ae *awssso.Error
		if errors.As(err, &ae) && (ae.Type == awssso.InvalidGrant || ae.Type == awssso.InvalidClient || ae.Type == awssso.ExpiredToken) {
			return nil, &oauth2.RetrieveError{ErrorCode: "invalid_grant", ErrorDescription: ae.Type}
		}
		return nil, awsErr(err)
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken,
		Expiry: expiresAt(s.now(), t.ExpiresIn)}, nil
}

// AWSCredentials returns role credentials valid for at least minTTL: the
// cached ones, or new ones bought with the SSO access token (refreshed
// first if needed).
func (s *Session) AWSCredentials(ctx context.Context, minTTL time.Duration) (*tokencache.AWSCredentials, error) {
	if s.Provider.AWS == nil {
		return nil, &config.Error{Var: s.Provider.Var("PROVIDER"), Msg: fmt.Sprintf("profile %s is not an AWS profile (OAUTH_PROVIDER=aws)", s.Profile)}
	}
	e, err := s.Load()
	if err != nil {
		return nil, err
	}
	if !e.SignInRequired && e.AWS != nil && e.AWS.Credentials.Valid(s.now(), minTTL) && s.sameRole(e) {
		return e.AWS.Credentials, nil
	}
	// The access token only needs to last for the portal call.
	var stale *StaleError
	if _, err := s.Token(ctx, 30*time.Second); err != nil && !errors.As(err, &stale) {
		return nil, err
	}
	unlock, err := s.Store.Lock(ctx, s.Profile)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if e, err = s.Load(); err != nil {
		return nil, err
	}
	if e.SignInRequired {
		return nil, &SignInError{Profile: s.Profile, Reason: e.Reason}
	}
	if e.AWS != nil && e.AWS.Credentials.Valid(s.now(), minTTL) && s.sameRole(e) {
		return e.AWS.Credentials, nil
	}
	if !e.Valid(s.now(), 0) {
		return nil, &SignInError{Profile: s.Profile, Reason: "the AWS access token expired"}
	}
	a := s.Provider.AWS
	rc, err := s.awsClient().RoleCredentials(ctx, e.AccessToken, a.AccountID, a.RoleName)
	if err != nil {
		if awssso.IsType(err, awssso.Unauthorized) {
			// The portal refused a token that has not expired: the
			// session was ended (logout elsewhere, or by an administrator).
			e.SignInRequired = true
			e.Reason = "AWS refused the access token (UnauthorizedException)"
			if serr := s.Store.Save(e); serr != nil {
				return nil, serr
			}
			return nil, &SignInError{Profile: s.Profile, Reason: e.Reason}
		}
		return nil, s.credentialsErr(err)
	}
	if e.AWS == nil {
		e.AWS = &tokencache.AWS{}
	}
	e.AWS.AccountID, e.AWS.RoleName = a.AccountID, a.RoleName
	e.AWS.Credentials = awsCredentials(rc)
	if err := s.Store.Save(e); err != nil {
		return nil, err
	}
	return e.AWS.Credentials, nil
}

// awsToolEnv is ToolCredentials for AWS: role credentials valid for
// minTTL in the variables the AWS CLI and SDKs read, never the SSO access
// token, which would buy credentials for every account and role the
// person has.
func (s *Session) awsToolEnv(ctx context.Context, minTTL time.Duration) (env, secrets []string, err error) {
	c, err := s.AWSCredentials(ctx, minTTL)
	if err != nil {
		return nil, nil, err
	}
	r := s.Provider.AWS.Region
	return []string{
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + c.SessionToken,
		"AWS_REGION=" + r,
		"AWS_DEFAULT_REGION=" + r,
	}, []string{c.SecretAccessKey, c.SessionToken}, nil
}

// sameRole reports whether the cached credentials are for the configured
// account and role (the configuration may have changed since).
func (s *Session) sameRole(e *tokencache.Entry) bool {
	return e.AWS.AccountID == s.Provider.AWS.AccountID && e.AWS.RoleName == s.Provider.AWS.RoleName
}

// awsLogout ends the portal session (POST /logout). An access token that
// expired or that the portal no longer knows has nothing left to end (the
// AWS CLI's `aws sso logout` likewise ignores a refused logout,
// awscli/customizations/sso/logout.py).
func (s *Session) awsLogout(ctx context.Context, e *tokencache.Entry) (bool, error) {
	if !e.Valid(s.now(), 0) {
		return false, nil
	}
	err := s.awsClient().Logout(ctx, e.AccessToken)
	if awssso.IsType(err, awssso.Unauthorized) {
		return false, nil
	}
	if err != nil {
		return false, awsErr(err)
	}
	return true, nil
}

// awsErr turns an awssso failure into an *oauthhttp.Error, so exit codes,
// retries and hints treat AWS like every provider.
func awsErr(err error) error {
	var ae *awssso.Error
	if !errors.As(err, &ae) {
		return err
	}
	pe := &oauthhttp.Error{Op: ae.Op, Status: ae.Status, Code: ae.Type, Msg: "AWS " + ae.Error()}
	if ae.Transient() {
		pe.Code = ""
	}
	if ae.Status == 0 {
		pe.Host = ae.Host
	}
	return pe
}

// awsWire runs deviceflow's two requests through SSO-OIDC, translating
// AWS's exception types to RFC 8628 §3.5's error codes.
type awsWire struct {
	c        *awssso.Client
	reg      *awssso.Registration
	startURL string
}

func (w *awsWire) Authorize(ctx context.Context) (*oauth2.DeviceAuthResponse, error) {
	start := time.Now()
	da, err := w.c.StartDeviceAuthorization(ctx, w.reg, w.startURL)
	if err != nil {
		return nil, err
	}
	out := &oauth2.DeviceAuthResponse{
		DeviceCode: da.DeviceCode, UserCode: da.UserCode,
		VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		Interval: da.Interval, Expiry: expiresAt(start, da.ExpiresIn),
	}
	return out, nil
}

func (w *awsWire) Exchange(ctx context.Context, deviceCode string) (*oauthhttp.TokenResponse, error) {
	t, err := w.c.CreateToken(ctx, w.reg, deviceCode)
	if err != nil {
		var ae *awssso.Error
		if !errors.As(err, &ae) {
			return nil, err
		}
		code := map[string]string{
			awssso.AuthorizationPending: "authorization_pending",
			awssso.SlowDown:             "slow_down",
			awssso.AccessDenied:         "access_denied",
			awssso.ExpiredToken:         "expired_token",
		}[ae.Type]
		if code != "" {
			return &oauthhttp.TokenResponse{Error: code}, nil
		}
		if ae.Type == awssso.InvalidClient {
			return nil, err // the caller registers anew
		}
		return nil, awsErr(err)
	}
	raw := map[string]any{"access_token": t.AccessToken, "token_type": t.TokenType, "expires_in": float64(t.ExpiresIn)}
	if t.RefreshToken != "" {
		raw["refresh_token"] = t.RefreshToken
	}
	if t.IDToken != "" {
		raw["id_token"] = t.IDToken
	}
	return &oauthhttp.TokenResponse{
		AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken,
		ExpiresIn: t.ExpiresIn, IDToken: t.IDToken, Raw: raw,
	}, nil
}
