package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/devicegate/devicegate/internal/config"
)

func TestCodeFlowQuirks(t *testing.T) {
	tests := []struct {
		p        config.Profile
		oneOff   bool
		auth     string
		redirect string
		params   string
	}{
		{p: config.Profile{Provider: "google", ClientSecret: "s", Scopes: "openid https://www.googleapis.com/auth/gmail.readonly"},
			auth: "https://accounts.google.com/o/oauth2/v2/auth", redirect: DefaultRedirect, params: "access_type=offline&prompt=consent"},
		{p: config.Profile{Provider: "google", ClientSecret: "s"}, oneOff: true,
			auth: "https://accounts.google.com/o/oauth2/v2/auth", redirect: DefaultRedirect, params: ""},
		{p: config.Profile{Provider: "microsoft", Tenant: "organizations"},
			auth: "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize", redirect: "http://localhost", params: ""},
		{p: config.Profile{Provider: "github", RedirectURL: "http://127.0.0.1:8400/gh"},
			auth: "https://github.com/login/oauth/authorize", redirect: "http://127.0.0.1:8400/gh", params: ""},
		{p: config.Profile{Provider: "keycloak", Issuer: "https://kc.example/realms/r"},
			auth: "https://kc.example/realms/r/protocol/openid-connect/auth", redirect: DefaultRedirect, params: ""},
		{p: config.Profile{Provider: "okta", Issuer: "https://o.example/oauth2/default", AuthURL: "https://o.example/custom/authorize"},
			auth: "https://o.example/custom/authorize", redirect: DefaultRedirect, params: ""},
	}
	for _, tt := range tests {
		t.Run(tt.p.Provider, func(t *testing.T) {
			p := tt.p
			p.Name, p.Prefix, p.ClientID, p.Flow = "default", "OAUTH", "id", config.FlowCode
			pr, err := New(&p, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			e, err := pr.Endpoints(context.Background())
			if err != nil || e.AuthURL != tt.auth {
				t.Errorf("auth endpoint %q, %v; want %q", e.AuthURL, err, tt.auth)
			}
			if got := pr.Redirect(); got != tt.redirect {
				t.Errorf("redirect %q, want %q", got, tt.redirect)
			}
			if got := pr.AuthParams(pr.Scopes, tt.oneOff).Encode(); got != tt.params {
				t.Errorf("params %q, want %q", got, tt.params)
			}
		})
	}
}

// An OpenID provider's discovery document gives the authorization
// endpoint; one without asks for prompt=consent with offline_access; a
// device-flow profile still needs the device endpoint, a code-flow one
// does not.
func TestCodeFlowDiscovery(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/auth", "token_endpoint": srv.URL + "/token",
		})
	}))
	defer srv.Close()
	for _, flow := range []string{config.FlowCode, config.FlowDevice} {
		p := config.Profile{Name: "default", Prefix: "OAUTH", Provider: "oidc", ClientID: "id", Issuer: srv.URL, Flow: flow}
		pr, err := New(&p, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		e, err := pr.Endpoints(context.Background())
		if flow == config.FlowDevice {
			if err == nil {
				t.Errorf("device flow without a device endpoint: %+v", e)
			}
			continue
		}
		if err != nil || e.AuthURL != srv.URL+"/auth" {
			t.Fatalf("code flow: %+v, %v", e, err)
		}
		if got := pr.AuthParams([]string{"openid", "offline_access"}, false).Get("prompt"); got != "consent" {
			t.Errorf("prompt %q with offline_access, want consent", got)
		}
	}
}
