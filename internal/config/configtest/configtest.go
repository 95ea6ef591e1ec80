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
