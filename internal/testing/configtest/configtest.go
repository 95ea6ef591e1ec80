// Package configtest gives tests a clean environment to load the
// configuration from, so that a developer's own OAUTH_* or TELEGRAM_*
// variables cannot change a test's outcome.
package configtest

import (
	"os"
	"strings"
	"testing"
)

// ClearEnv unsets every variable the configuration reads for the rest of
// the test, and points XDG_DATA_HOME at a fresh directory.
func ClearEnv(t testing.TB) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		for _, p := range []string{"OAUTH_", "SIDECAR_", "TELEGRAM_", "XDG_DATA_HOME"} {
			if strings.HasPrefix(name, p) {
				t.Setenv(name, "")
				os.Unsetenv(name)
			}
		}
	}
	t.Setenv("XDG_DATA_HOME", t.TempDir())
}

// AWSEnv is the environment of a valid aws profile (the default one), with
// name set to value: a test changes one variable and sees what it does.
func AWSEnv(name, value string) map[string]string {
	env := map[string]string{
		"OAUTH_PROVIDER": "aws", "OAUTH_CLIENT_ID": "", "OAUTH_START_URL": "https://d-1234567890.awsapps.com/start",
		"OAUTH_REGION": "eu-west-1", "OAUTH_ACCOUNT_ID": "123456789012", "OAUTH_ROLE_NAME": "ReadOnly",
	}
	env[name] = value
	return env
}
