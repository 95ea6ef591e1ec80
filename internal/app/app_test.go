package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/config/configtest"
	"github.com/devicegate/devicegate/internal/exitcode"
)

// awsEnv is a valid aws profile with name set to value.
func awsEnv(name, value string) map[string]string {
	env := map[string]string{
		"OAUTH_PROVIDER": "aws", "OAUTH_CLIENT_ID": "", "OAUTH_START_URL": "https://d-1234567890.awsapps.com/start",
		"OAUTH_REGION": "us-gov-west-1", "OAUTH_ACCOUNT_ID": "123456789012", "OAUTH_ROLE_NAME": "Read.Only+x@y",
	}
	env[name] = value
	return env
}

func TestAWSPresetValid(t *testing.T) {
	configtest.ClearEnv(t)
	for k, v := range awsEnv("OAUTH_ONE_OFF", "true") {
		t.Setenv(k, v)
	}
	if _, err := Load(); err != nil {
		t.Fatal(err)
	}
}

// What a preset demands is checked at load time, like every other
// variable, and the error names the variable of the profile at fault.
func TestPresetRulesNameTheVariable(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantVar string
	}{
		{map[string]string{"OAUTH_PROVIDER": "google"}, "OAUTH_CLIENT_SECRET"},
		{map[string]string{"OAUTH_PROVIDER": "microsoft", "OAUTH_TENANT": "a/b"}, "OAUTH_TENANT"},
		{map[string]string{"OAUTH_PROVIDER": "oidc"}, "OAUTH_ISSUER"},
		{map[string]string{"SIDECAR_PROFILES": "work", "OAUTH_WORK_PROVIDER": "okta", "OAUTH_WORK_CLIENT_ID": "x"}, "OAUTH_WORK_ISSUER"},
		{awsEnv("OAUTH_CLIENT_ID", "x"), "OAUTH_CLIENT_ID"},
		{awsEnv("OAUTH_START_URL", ""), "OAUTH_START_URL"},
		{awsEnv("OAUTH_REGION", ""), "OAUTH_REGION"},
		{awsEnv("OAUTH_REGION", "Europe"), "OAUTH_REGION"},
		{awsEnv("OAUTH_REGION", "eu-west-x"), "OAUTH_REGION"},
		{awsEnv("OAUTH_ACCOUNT_ID", "1234"), "OAUTH_ACCOUNT_ID"},
		{awsEnv("OAUTH_ACCOUNT_ID", "12345678901x"), "OAUTH_ACCOUNT_ID"},
		{awsEnv("OAUTH_ROLE_NAME", ""), "OAUTH_ROLE_NAME"},
		{awsEnv("OAUTH_ROLE_NAME", "a role"), "OAUTH_ROLE_NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.wantVar, func(t *testing.T) {
			configtest.ClearEnv(t)
			t.Setenv("OAUTH_PROVIDER", "github")
			t.Setenv("OAUTH_CLIENT_ID", "Iv1.abc")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load()
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Var != tt.wantVar {
				t.Fatalf("err = %v, want an error naming %s", err, tt.wantVar)
			}
			if !strings.Contains(err.Error(), tt.wantVar) {
				t.Fatalf("message %q does not name %s", err, tt.wantVar)
			}
			if got := cli.Code(err); got != exitcode.Usage {
				t.Fatalf("exit code %d, want %d", got, exitcode.Usage)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	configtest.ClearEnv(t)
	t.Setenv("SIDECAR_PROFILES", "work")
	t.Setenv("OAUTH_WORK_PROVIDER", "microsoft")
	t.Setenv("OAUTH_WORK_CLIENT_ID", "ms-id")
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Open("")
	if err != nil {
		t.Fatal(err)
	}
	if s.Profile != "work" || s.Provider.Kind != "microsoft" || s.Store != a.Store || s.HTTP != a.HTTP || s.Restarts != 3 {
		t.Fatalf("session %+v", s)
	}
	if _, err := a.Open("nope"); cli.Code(err) != exitcode.Usage {
		t.Fatalf("unknown profile: %v (exit %d)", err, cli.Code(err))
	}
}
