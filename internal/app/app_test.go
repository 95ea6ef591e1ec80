package app

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/exitcode"
)

// clearEnv unsets every variable the configuration reads, so a developer's
// own environment cannot change a test's outcome.
func clearEnv(t *testing.T) {
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
	}
	for _, tt := range tests {
		t.Run(tt.wantVar, func(t *testing.T) {
			clearEnv(t)
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
	clearEnv(t)
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
