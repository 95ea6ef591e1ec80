package preset

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/config"
)

// complete is a profile each preset accepts. A new preset without one
// fails TestEveryPreset: write it here.
var complete = map[string]config.Profile{
	"microsoft": {ClientID: "x", Tenant: "organizations"},
	"github":    {ClientID: "x"},
	"google":    {ClientID: "x", ClientSecret: "s"},
	"auth0":     {ClientID: "x", Issuer: "https://t.eu.auth0.com", Audience: "https://api.example.com"},
	"okta":      {ClientID: "x", Issuer: "https://e.okta.com/oauth2/default"},
	"keycloak":  {ClientID: "x", Issuer: "https://kc.example.com/realms/r"},
	"oidc":      {ClientID: "x", Issuer: "https://id.example.com"},
	"aws":       {StartURL: "https://d-1.awsapps.com/start", Region: "eu-west-1", AccountID: "123456789012", RoleName: "ReadOnly"},
}

// TestEveryPreset runs every preset through the same table: what config
// accepts, validation, scopes, the token variables, flows and endpoints.
func TestEveryPreset(t *testing.T) {
	var kinds []string
	for _, k := range Kinds() {
		kinds = append(kinds, k.Name)
	}
	var presets []string
	for _, ps := range All() {
		presets = append(presets, ps.Kind)
	}
	if !slices.Equal(kinds, presets) {
		t.Fatalf("Kinds %q, presets %q: OAUTH_PROVIDER must accept exactly the presets", kinds, presets)
	}
	for _, ps := range All() {
		prof := func(mod func(*config.Profile)) *config.Profile {
			p := complete[ps.Kind]
			p.Name, p.Prefix, p.Provider, p.Flow = "default", "OAUTH", ps.Kind, config.FlowDevice
			if mod != nil {
				mod(&p)
			}
			return &p
		}
		wantVar := func(t *testing.T, err error, v string) {
			t.Helper()
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Var != v {
				t.Fatalf("Check = %v, want a *config.Error naming %s", err, v)
			}
		}
		t.Run(ps.Kind, func(t *testing.T) {
			if _, ok := complete[ps.Kind]; !ok {
				t.Fatalf("no complete profile for %s in this test", ps.Kind)
			}
			if Lookup(ps.Kind) != ps || ps.Title == "" {
				t.Fatalf("Lookup(%q) = %v, Title %q", ps.Kind, Lookup(ps.Kind), ps.Title)
			}
			t.Run("validation", func(t *testing.T) {
				if err := Check(prof(nil)); err != nil {
					t.Fatalf("complete profile: Check = %v", err)
				}
				if ps.NeedsSecret {
					wantVar(t, Check(prof(func(p *config.Profile) { p.ClientSecret = "" })), "OAUTH_CLIENT_SECRET")
				}
				if ps.NeedsIssuer {
					wantVar(t, Check(prof(func(p *config.Profile) { p.Issuer = "" })), "OAUTH_ISSUER")
				}
				if ps.OwnClient {
					wantVar(t, Check(prof(func(p *config.Profile) { p.ClientID = "x" })), "OAUTH_CLIENT_ID")
				}
			})
			t.Run("scopes", func(t *testing.T) {
				if len(ps.DefaultScopes) == 0 {
					t.Fatal("no default scopes")
				}
				for i, s := range ps.DefaultScopes {
					if s == "" || strings.ContainsAny(s, " \t\n\"\\") || slices.Contains(ps.DefaultScopes[:i], s) {
						t.Errorf("default scope %q is empty, not a scope token (RFC 6749 §3.3) or repeated", s)
					}
				}
				if ps.OfflineAccess && !ContainsFold(ps.DefaultScopes, "offline_access") {
					t.Error("OfflineAccess, but the default scopes lack offline_access")
				}
				if ps.FixedScopes && ps.NoScopedRefresh == "" {
					t.Error("fixed scopes, but a refresh for other scopes is not refused")
				}
			})
			t.Run("env names", func(t *testing.T) {
				names := slices.Clone(ps.TokenEnv)
				if ps.ToolEnv != nil {
					n, env := ps.ToolEnv("https://ghe.example.com/api/v3")
					names = append(names, n...)
					for _, kv := range env {
						k, _, _ := strings.Cut(kv, "=")
						names = append(names, k)
					}
				}
				for i, n := range names {
					if !envName(n) || n == "ACCESS_TOKEN" || slices.Contains(names[:i], n) {
						t.Errorf("token variable %q: not a variable name, ACCESS_TOKEN (always set) or repeated", n)
					}
				}
				if !ps.Bearer() && (len(ps.TokenEnv) > 0 || ps.ToolEnv != nil) {
					t.Errorf("tools get %s, never the token, yet the preset names token variables", ps.SignIn.Credentials())
				}
			})
			t.Run("flows", func(t *testing.T) {
				if len(ps.Flows) == 0 || ps.Flows[0] != config.FlowDevice {
					t.Fatalf("flows %q: want the device flow first (the default)", ps.Flows)
				}
				for _, f := range ps.Flows {
					if f != config.FlowDevice && f != config.FlowCode {
						t.Fatalf("unknown flow %q", f)
					}
				}
				code := prof(func(p *config.Profile) { p.Flow = config.FlowCode; p.ClientSecret = "s" })
				if ps.OwnClient {
					code.ClientSecret = ""
				}
				if !ps.Supports(config.FlowCode) {
					wantVar(t, Check(code), "OAUTH_FLOW")
				} else if err := Check(code); err != nil {
					if ps.NeedsIssuer {
						// The code flow starts at the authorization endpoint.
						code.AuthURL, code.TokenURL, code.Issuer = "https://a.example/auth", "https://a.example/token", ""
						err = Check(code)
					}
					if err != nil {
						t.Fatalf("code flow: Check = %v", err)
					}
				}
				if ps.CodeSecret != "" {
					wantVar(t, Check(prof(func(p *config.Profile) { p.Flow = config.FlowCode; p.ClientSecret = "" })), "OAUTH_CLIENT_SECRET")
				}
				if r := ps.RedirectURL(); config.CheckRedirect("r", r) != nil {
					t.Errorf("default redirect %q fails the redirect check", r)
				}
			})
			t.Run("endpoints", func(t *testing.T) {
				if ps.Endpoints == nil {
					if !ps.Discover {
						t.Fatal("no endpoints and no discovery")
					}
					return
				}
				e := ps.Endpoints(prof(nil))
				for _, f := range []struct{ name, url string }{
					{"auth", e.AuthURL}, {"device", e.DeviceAuthURL}, {"token", e.TokenURL},
					{"userinfo", e.UserinfoURL}, {"revoke", e.RevokeURL}, {"api", e.APIURL},
				} {
					if f.url != "" {
						if err := config.CheckURL(f.name, f.url); err != nil {
							t.Errorf("%s endpoint: %v", f.name, err)
						}
					}
				}
				if e.TokenURL == "" || e.DeviceAuthURL == "" || ps.Supports(config.FlowCode) != (e.AuthURL != "") {
					t.Errorf("endpoints %+v do not serve flows %q", e, ps.Flows)
				}
			})
		})
	}
}

// envName: a POSIX environment variable name in upper case.
func envName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}
