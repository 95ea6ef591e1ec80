package local

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/config/configtest"
	"github.com/devicegate/devicegate/internal/policy"
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

// The checks the full sidecar makes, each naming its variable: the front
// opens profiles through here, so it refuses what the full program refuses.
func TestRefuses(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		profile string
		wantVar string
	}{
		{"a preset's demand", map[string]string{"OAUTH_PROVIDER": "google"}, "", "OAUTH_CLIENT_SECRET"},
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
			if !errors.As(err, &ce) || tt.wantVar != "" && ce.Var != tt.wantVar {
				t.Fatalf("err = %v, want a *config.Error naming %q", err, tt.wantVar)
			}
		})
	}
}
