package awssso_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/awssso"
	"github.com/devicegate/devicegate/internal/testing/awsssotest"
)

func newClient(s *awsssotest.Server) *awssso.Client {
	return &awssso.Client{HTTP: s.Client(), OIDCURL: s.URL, PortalURL: s.URL}
}

func TestWholePath(t *testing.T) {
	ctx := context.Background()
	fake := awsssotest.Start(t, awsssotest.Options{})
	c := newClient(fake)

	reg, err := c.Register(ctx, "devicegate-test", []string{awssso.ScopeAccountAccess})
	if err != nil {
		t.Fatal(err)
	}
	if !reg.Usable(time.Now(), 24*time.Hour) || reg.Expiry().Before(time.Now().Add(89*24*time.Hour)) {
		t.Fatalf("registration expiry %v: want about 90 days", reg.Expiry())
	}
	da, err := c.StartDeviceAuthorization(ctx, reg, fake.StartURL())
	if err != nil {
		t.Fatal(err)
	}
	if da.Interval != 1 || da.ExpiresIn != 600 || !strings.Contains(da.VerificationURIComplete, da.UserCode) {
		t.Fatalf("device authorization %+v", da)
	}
	_, err = c.CreateToken(ctx, reg, da.DeviceCode)
	if !awssso.IsType(err, awssso.AuthorizationPending) {
		t.Fatalf("before approval: %v, want %s", err, awssso.AuthorizationPending)
	}
	var e *awssso.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != "authorization_pending" || e.Transient() {
		t.Fatalf("pending error %#v", err)
	}
	if err := fake.Approve(da.UserCode); err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(ctx, reg, da.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != 8*3600 || tok.TokenType != "Bearer" {
		t.Fatalf("token %+v", tok)
	}
	// The device code is spent.
	if _, err := c.CreateToken(ctx, reg, da.DeviceCode); !awssso.IsType(err, awssso.InvalidGrant) {
		t.Fatalf("second exchange: %v", err)
	}

	rc, err := c.RoleCredentials(ctx, tok.AccessToken, fake.AccountID(), fake.RoleName())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rc.AccessKeyID, "ASIA") || rc.SecretAccessKey == "" || rc.SessionToken == "" {
		t.Fatalf("credentials %+v", rc)
	}
	if left := time.Until(rc.Expiry()); left < 59*time.Minute || left > 61*time.Minute {
		t.Fatalf("credentials expire in %v, want 1h", left)
	}
	_, err = c.RoleCredentials(ctx, tok.AccessToken, fake.AccountID(), "Admin")
	if !awssso.IsType(err, awssso.ResourceNotFound) || !errors.As(err, &e) || e.Status != 404 {
		t.Fatalf("unknown role: %v", err)
	}

	// Refresh rotates; the spent refresh token is refused.
	tok2, err := c.Refresh(ctx, reg, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not issue new tokens")
	}
	if _, err := c.Refresh(ctx, reg, tok.RefreshToken); !awssso.IsType(err, awssso.InvalidGrant) {
		t.Fatalf("reused refresh token: %v", err)
	}

	if err := c.Logout(ctx, tok2.AccessToken); err != nil {
		t.Fatal(err)
	}
	if !fake.LoggedOut(tok2.AccessToken) {
		t.Fatal("logout did not end the session")
	}
	_, err = c.RoleCredentials(ctx, tok2.AccessToken, fake.AccountID(), fake.RoleName())
	if !awssso.IsType(err, awssso.Unauthorized) || !errors.As(err, &e) || e.Status != 401 {
		t.Fatalf("after logout: %v", err)
	}
}

func TestExceptions(t *testing.T) {
	ctx := context.Background()
	fake := awsssotest.Start(t, awsssotest.Options{})
	c := newClient(fake)
	reg, err := c.Register(ctx, "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no refresh token without scopes", func(t *testing.T) {
		da, err := c.StartDeviceAuthorization(ctx, reg, fake.StartURL())
		if err != nil {
			t.Fatal(err)
		}
		fake.Approve(da.UserCode)
		tok, err := c.CreateToken(ctx, reg, da.DeviceCode)
		if err != nil || tok.RefreshToken != "" {
			t.Fatalf("token %+v, %v", tok, err)
		}
	})
	t.Run("denied", func(t *testing.T) {
		da, _ := c.StartDeviceAuthorization(ctx, reg, fake.StartURL())
		fake.Deny(da.UserCode)
		if _, err := c.CreateToken(ctx, reg, da.DeviceCode); !awssso.IsType(err, awssso.AccessDenied) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("wrong start URL", func(t *testing.T) {
		_, err := c.StartDeviceAuthorization(ctx, reg, "https://d-0000000000.awsapps.com/start")
		if !awssso.IsType(err, awssso.InvalidRequest) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("internal error is transient", func(t *testing.T) {
		fake.FailNext("CreateToken", awssso.InternalServer)
		_, err := c.CreateToken(ctx, reg, "whatever")
		var e *awssso.Error
		if !errors.As(err, &e) || e.Type != awssso.InternalServer || e.Status != 500 || !e.Transient() {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("expired registration", func(t *testing.T) {
		fake.ExpireRegistrations()
		_, err := c.StartDeviceAuthorization(ctx, reg, fake.StartURL())
		var e *awssso.Error
		if !errors.As(err, &e) || e.Type != awssso.InvalidClient || e.Status != 401 {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := &awssso.Client{HTTP: http.DefaultClient, OIDCURL: "http://127.0.0.1:1", PortalURL: "http://127.0.0.1:1"}
		_, err := dead.Register(ctx, "x", nil)
		var e *awssso.Error
		if !errors.As(err, &e) || e.Status != 0 || !e.Transient() || !strings.Contains(err.Error(), "cannot reach 127.0.0.1:1") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSlowDown(t *testing.T) {
	ctx := context.Background()
	fake := awsssotest.Start(t, awsssotest.Options{SlowDown: true, Interval: 5 * time.Second})
	c := newClient(fake)
	reg, _ := c.Register(ctx, "x", nil)
	da, err := c.StartDeviceAuthorization(ctx, reg, fake.StartURL())
	if err != nil {
		t.Fatal(err)
	}
	c.CreateToken(ctx, reg, da.DeviceCode)
	if _, err := c.CreateToken(ctx, reg, da.DeviceCode); !awssso.IsType(err, awssso.SlowDown) {
		t.Fatalf("fast second poll: %v", err)
	}
}

func TestParseError(t *testing.T) {
	for _, tc := range []struct {
		name, header, body string
		wantType, wantDesc string
	}{
		{"header with namespace", "AuthorizationPendingException:http://internal.amazon.com/coral/com.amazonaws.swbup.oidc/",
			`{"error":"authorization_pending","error_description":null}`, "AuthorizationPendingException", ""},
		{"body code", "", `{"code":"SlowDownException","message":"slow"}`, "SlowDownException", "slow"},
		{"body __type with hash", "", `{"__type":"com.amazonaws#UnauthorizedException","message":"Session token not found or invalid"}`,
			"UnauthorizedException", "Session token not found or invalid"},
		{"header wins", "InvalidClientException", `{"__type":"Other"}`, "InvalidClientException", ""},
		{"description", "InvalidGrantException", `{"error":"invalid_grant","error_description":"Invalid refresh token provided"}`,
			"InvalidGrantException", "Invalid refresh token provided"},
		{"html", "", `<html>503</html>`, "", ""},
		{"control characters dropped", "", `{"code":"X\u001b[31mY","message":"a\nb"}`, "X[31mY", "ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set("x-amzn-ErrorType", tc.header)
			}
			e := awssso.ParseError("Op", 400, h, []byte(tc.body))
			if e.Type != tc.wantType || e.Description != tc.wantDesc {
				t.Fatalf("got type %q desc %q, want %q %q", e.Type, e.Description, tc.wantType, tc.wantDesc)
			}
		})
	}
}

func TestParseRoleCredentials(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"ok", `{"roleCredentials":{"accessKeyId":"ASIA1","secretAccessKey":"s","sessionToken":"t","expiration":1767225600000}}`, true},
		{"seconds, not milliseconds", `{"roleCredentials":{"accessKeyId":"ASIA1","secretAccessKey":"s","sessionToken":"t","expiration":1767225600}}`, false},
		{"missing session token", `{"roleCredentials":{"accessKeyId":"ASIA1","secretAccessKey":"s","expiration":1767225600000}}`, false},
		{"flat (older shape)", `{"accessKeyId":"ASIA1","secretAccessKey":"s","sessionToken":"t","expiration":1767225600000}`, false},
		{"wrong type", `{"roleCredentials":{"accessKeyId":1}}`, false},
		{"trailing data", `{"roleCredentials":{"accessKeyId":"ASIA1","secretAccessKey":"s","sessionToken":"t","expiration":1767225600000}} x`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := awssso.ParseRoleCredentials([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("got %+v, %v", c, err)
			}
			if err != nil && strings.Contains(err.Error(), `"s"`) {
				t.Fatalf("error echoes the secret: %v", err)
			}
		})
	}
}
