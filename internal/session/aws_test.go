package session_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/testing/awsssotest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

func awsSession(t *testing.T, fake *awsssotest.Server, role string, store *tokencache.Store) *session.Session {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	pr, err := provider.New(&config.Profile{Name: "aws", Prefix: "OAUTH_AWS", Provider: "aws",
		StartURL: fake.StartURL(), Region: "eu-west-1", AccountID: fake.AccountID(), RoleName: role,
		OidcURL: fake.URL, PortalURL: fake.URL}, hc)
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		store, _ = tokencache.Open(t.TempDir(), nil)
	}
	return &session.Session{Profile: "aws", Provider: pr, Store: store, HTTP: hc, Restarts: 1}
}

// awsPerson approves (or denies) every code at the fake portal.
func awsPerson(t *testing.T, fake *awsssotest.Server, deny bool) session.LoginOptions {
	return session.LoginOptions{Display: func(ctx context.Context, c deviceflow.Code) error {
		if !strings.HasPrefix(c.VerificationURIComplete, fake.URL) || !strings.Contains(c.VerificationURIComplete, c.UserCode) {
			t.Errorf("code %+v", c)
		}
		go func() {
			time.Sleep(1500 * time.Millisecond) // a pending poll first (the interval is 1 s)
			if deny {
				fake.Deny(c.UserCode)
			} else if err := fake.Approve(c.UserCode); err != nil {
				t.Error(err)
			}
		}()
		return nil
	}}
}

func TestAWSWholePath(t *testing.T) {
	t.Parallel()
	fake := awsssotest.Start(t, awsssotest.Options{})
	s := awsSession(t, fake, fake.RoleName(), nil)
	ctx := context.Background()

	e, err := s.Login(ctx, awsPerson(t, fake, false))
	if err != nil {
		t.Fatal(err)
	}
	if e.AccessToken == "" || e.RefreshToken == "" || e.AWS == nil || e.AWS.ClientID == "" || !e.AWS.Credentials.Valid(time.Now(), 50*time.Minute) {
		t.Fatalf("entry %+v", e)
	}
	if got := e.Account.String(); got != "role ReadOnly in AWS account 123456789012" {
		t.Fatalf("account %q", got)
	}
	c := fake.Counts()
	if c.RegisterClient != 1 || c.Pending == 0 || c.GetRoleCredentials != 1 {
		t.Fatalf("counts %+v", c)
	}

	// Cached credentials while they last for --min-ttl; new ones after.
	cr, err := s.AWSCredentials(ctx, time.Minute)
	if err != nil || cr.AccessKeyID != e.AWS.Credentials.AccessKeyID || fake.Counts().GetRoleCredentials != 1 {
		t.Fatalf("cached credentials: %v", err)
	}
	cr2, err := s.AWSCredentials(ctx, 2*time.Hour) // longer than they last: renewed
	if err != nil || cr2.AccessKeyID == cr.AccessKeyID || fake.Counts().GetRoleCredentials != 2 {
		t.Fatalf("renewed credentials: %v", err)
	}

	// What `sidecar run` gives the tool: the cached role credentials in
	// the AWS variables, never the SSO access token.
	env, secrets, err := s.ToolCredentials(ctx, time.Minute)
	want := []string{"AWS_ACCESS_KEY_ID=" + cr2.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + cr2.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + cr2.SessionToken, "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"}
	if err != nil || !slices.Equal(env, want) || !slices.Equal(secrets, []string{cr2.SecretAccessKey, cr2.SessionToken}) {
		t.Fatalf("tool credentials %q %v", env, err)
	}
	if s.Provider.Preset.Bearer() || fake.Counts().GetRoleCredentials != 2 {
		t.Fatalf("bearer %v, role credentials bought %d times", s.Provider.Preset.Bearer(), fake.Counts().GetRoleCredentials)
	}

	// Refresh through SSO-OIDC's refresh_token grant, rotation kept.
	r, err := s.Refresh(ctx)
	if err != nil || r.RefreshToken == e.RefreshToken || r.AccessToken == e.AccessToken || fake.Counts().Refresh != 1 {
		t.Fatalf("refresh: %v", err)
	}
	st, _ := s.Status()
	if st.State != session.StateOK || st.AWS == nil || st.AWS.RoleName != "ReadOnly" || st.AWS.CredentialsExpireAt == nil || st.AWS.RegistrationExpiresAt == nil {
		t.Fatalf("status %+v", st)
	}

	// A second sign-in reuses the registered client.
	if _, err := s.Login(ctx, awsPerson(t, fake, false)); err != nil {
		t.Fatal(err)
	}
	if fake.Registrations() != 1 {
		t.Fatalf("%d registrations, want the cached one reused", fake.Registrations())
	}
	// A registration AWS no longer accepts is replaced.
	fake.ExpireRegistrations()
	e3, err := s.Login(ctx, awsPerson(t, fake, false))
	if err != nil || fake.Registrations() != 2 {
		t.Fatalf("after expiry at AWS: %v, %d registrations", err, fake.Registrations())
	}

	// Logout ends the portal session.
	res, err := s.Logout(ctx, false)
	if err != nil || res != session.Revoked || !fake.LoggedOut(e3.AccessToken) || fake.Counts().Logout != 1 {
		t.Fatalf("logout: %v, %v", res, err)
	}
	if _, err := s.Load(); !errors.Is(err, session.ErrSignInRequired) {
		t.Fatalf("cache after logout: %v", err)
	}
}

// When the cached registration runs out, its refresh token dies with it:
// the sign-in is required again, and said so, without asking AWS.
func TestAWSRegistrationExpired(t *testing.T) {
	t.Parallel()
	fake := awsssotest.Start(t, awsssotest.Options{})
	s := awsSession(t, fake, fake.RoleName(), nil)
	e, err := s.Login(context.Background(), awsPerson(t, fake, false))
	if err != nil {
		t.Fatal(err)
	}
	later := *s
	later.Now = func() time.Time { return e.AWS.RegistrationExpiresAt.Add(time.Minute) }
	before := fake.Counts().Refresh
	_, err = later.Token(context.Background(), time.Minute)
	if !errors.Is(err, session.ErrSignInRequired) || !strings.Contains(err.Error(), "registration expired") || fake.Counts().Refresh != before {
		t.Fatalf("got %v", err)
	}
}

func TestAWSFailures(t *testing.T) {
	t.Parallel()
	fake := awsssotest.Start(t, awsssotest.Options{})
	ctx := context.Background()
	t.Run("denied", func(t *testing.T) {
		_, err := awsSession(t, fake, fake.RoleName(), nil).Login(ctx, awsPerson(t, fake, true))
		if cli.Code(err) != exitcode.Declined {
			t.Fatalf("got %v (exit %d)", err, cli.Code(err))
		}
	})
	// The model's ResourceNotFoundException, and the ForbiddenException "No
	// access" that real AWS sends: both are the no-role outcome.
	for _, noAccess := range []string{"ResourceNotFoundException", "ForbiddenException"} {
		t.Run("no such role "+noAccess, func(t *testing.T) {
			fake := awsssotest.Start(t, awsssotest.Options{NoAccess: noAccess})
			_, err := awsSession(t, fake, "Admin", nil).Login(ctx, awsPerson(t, fake, false))
			if cli.Code(err) != exitcode.Provider || !strings.Contains(err.Error(), "OAUTH_AWS_ROLE_NAME") || !strings.Contains(err.Error(), noAccess) {
				t.Fatalf("got %v", err)
			}
			// The message says what AWS answered; what to check is a hint.
			hint := "check OAUTH_AWS_ROLE_NAME and OAUTH_AWS_ACCOUNT_ID: the role must be one assigned to the person who signs in, in that account"
			if !errors.Is(err, session.ErrNoRole) || strings.Contains(err.Error(), "check") || !slices.Equal(cli.Sidecar.Hints(err), []string{hint}) {
				t.Fatalf("got %v, hints %q", err, cli.Sidecar.Hints(err))
			}
		})
	}
	t.Run("session ended elsewhere", func(t *testing.T) {
		s := awsSession(t, fake, fake.RoleName(), nil)
		e, err := s.Login(ctx, awsPerson(t, fake, false))
		if err != nil {
			t.Fatal(err)
		}
		// Someone logs the token out; the cached credentials run out.
		other := awsSession(t, fake, fake.RoleName(), s.Store)
		other.Logout(ctx, true)
		if !fake.LoggedOut(e.AccessToken) {
			t.Fatal("not logged out")
		}
		if _, err := s.AWSCredentials(ctx, time.Minute); !errors.Is(err, session.ErrSignInRequired) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("portal unavailable", func(t *testing.T) {
		s := awsSession(t, fake, fake.RoleName(), nil)
		if _, err := s.Login(ctx, awsPerson(t, fake, false)); err != nil {
			t.Fatal(err)
		}
		fake.FailNext("GetRoleCredentials", "TooManyRequestsException")
		_, err := s.AWSCredentials(ctx, 2*time.Hour)
		if cli.Code(err) != exitcode.Provider || !strings.Contains(err.Error(), "TooManyRequestsException") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("scope", func(t *testing.T) {
		_, err := awsSession(t, fake, fake.RoleName(), nil).ScopedToken(ctx, 0, []string{"sso:account:access"})
		if !errors.Is(err, session.ErrNoScopedRefresh) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("one-off", func(t *testing.T) {
		s := awsSession(t, fake, fake.RoleName(), nil)
		o := awsPerson(t, fake, false)
		o.OneOff = true
		e, err := s.Login(ctx, o)
		if err != nil || e.RefreshToken != "" || !e.OneOff || e.AWS.Credentials == nil {
			t.Fatalf("one-off: %+v, %v", e, err)
		}
	})
}

// A provider whose tools take the access token has no credentials of
// their own to hand out: ToolCredentials says so, naming the variable.
func TestToolCredentialsBearer(t *testing.T) {
	pr, err := provider.New(&config.Profile{Name: "gh", Prefix: "OAUTH_GH", Provider: "github", ClientID: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &session.Session{Profile: "gh", Provider: pr}
	env, _, err := s.ToolCredentials(context.Background(), time.Minute)
	var ce *config.Error
	if !pr.Preset.Bearer() || env != nil || !errors.As(err, &ce) || ce.Var != "OAUTH_GH_PROVIDER" {
		t.Fatalf("bearer %v, env %q, err %v", pr.Preset.Bearer(), env, err)
	}
}
