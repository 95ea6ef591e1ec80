package local

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/testing/configtest"
)

func TestOpen(t *testing.T) {
	configtest.ClearEnv(t)
	t.Setenv("OAUTH_PROVIDER", "github")
	t.Setenv("OAUTH_CLIENT_ID", "Iv1.local")
	t.Setenv("OAUTH_POLICY", "allow token")
	t.Setenv(audit.CallerVar, audit.CallerAgent)
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Open("")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "default" || p.Caller != audit.CallerAgent || p.Audit.Dir != s.Config.DataDir || s.Store.Dir() != s.Config.DataDir {
		t.Fatalf("profile %+v, setup %+v", p, s)
	}
	if v := p.Policy.Decide(policy.Request{Action: policy.ActionToken}); v.Decision != policy.Allow {
		t.Fatalf("policy decides %v for token, want allow", v.Decision)
	}
}

func TestAWSPresetValid(t *testing.T) {
	configtest.ClearEnv(t)
	for k, v := range configtest.AWSEnv("OAUTH_ONE_OFF", "true") {
		t.Setenv(k, v)
	}
	// A region with three words and a role with every character IAM allows.
	t.Setenv("OAUTH_REGION", "us-gov-west-1")
	t.Setenv("OAUTH_ROLE_NAME", "Read.Only+x@y=z,_-")
	if _, err := Load(); err != nil {
		t.Fatal(err)
	}
}

// The checks the full sidecar makes, each naming the variable of the
// profile at fault. What a preset demands is checked at load time, like
// every other variable.
func TestRefuses(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		profile string
		wantVar string
	}{
		{"google without a secret", map[string]string{"OAUTH_PROVIDER": "google"}, "", "OAUTH_CLIENT_SECRET"},
		{"a tenant outside Microsoft's URL", map[string]string{"OAUTH_PROVIDER": "microsoft", "OAUTH_TENANT": "a/b"}, "", "OAUTH_TENANT"},
		{"oidc without an issuer", map[string]string{"OAUTH_PROVIDER": "oidc"}, "", "OAUTH_ISSUER"},
		{"a named profile's issuer", map[string]string{"SIDECAR_PROFILES": "work", "OAUTH_WORK_PROVIDER": "okta", "OAUTH_WORK_CLIENT_ID": "x"}, "", "OAUTH_WORK_ISSUER"},
		{"aws with a client id", configtest.AWSEnv("OAUTH_CLIENT_ID", "x"), "", "OAUTH_CLIENT_ID"},
		{"aws without a start URL", configtest.AWSEnv("OAUTH_START_URL", ""), "", "OAUTH_START_URL"},
		{"aws without a region", configtest.AWSEnv("OAUTH_REGION", ""), "", "OAUTH_REGION"},
		{"aws region Europe", configtest.AWSEnv("OAUTH_REGION", "Europe"), "", "OAUTH_REGION"},
		{"aws region eu-west-x", configtest.AWSEnv("OAUTH_REGION", "eu-west-x"), "", "OAUTH_REGION"},
		{"aws short account", configtest.AWSEnv("OAUTH_ACCOUNT_ID", "1234"), "", "OAUTH_ACCOUNT_ID"},
		{"aws account with a letter", configtest.AWSEnv("OAUTH_ACCOUNT_ID", "12345678901x"), "", "OAUTH_ACCOUNT_ID"},
		{"aws without a role", configtest.AWSEnv("OAUTH_ROLE_NAME", ""), "", "OAUTH_ROLE_NAME"},
		{"aws role with a space", configtest.AWSEnv("OAUTH_ROLE_NAME", "a role"), "", "OAUTH_ROLE_NAME"},
		{"a bad policy", map[string]string{"OAUTH_POLICY": "frobnicate"}, "", "OAUTH_POLICY"},
		{"a malformed cache key", map[string]string{"SIDECAR_CACHE_KEY": "short"}, "", "SIDECAR_CACHE_KEY"},
		{"an unreadable secret file", map[string]string{"OAUTH_CLIENT_SECRET_FILE": filepath.Join(t.TempDir(), "missing")}, "", "OAUTH_CLIENT_SECRET_FILE"},
		{"an unknown profile", nil, "nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configtest.ClearEnv(t)
			t.Setenv("OAUTH_PROVIDER", "github")
			t.Setenv("OAUTH_CLIENT_ID", "Iv1.local")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			s, err := Load()
			if err == nil {
				_, err = s.Open(tt.profile)
			}
			var ce *config.Error
			if !errors.As(err, &ce) || tt.wantVar != "" && (ce.Var != tt.wantVar || !strings.Contains(err.Error(), tt.wantVar)) {
				t.Fatalf("err = %v, want a *config.Error naming %q", err, tt.wantVar)
			}
		})
	}
}
