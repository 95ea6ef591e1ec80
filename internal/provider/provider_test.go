package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/preset"
	"github.com/devicegate/devicegate/internal/tokencache"
)

func TestPresets(t *testing.T) {
	tests := []struct {
		p          config.Profile
		device     string
		token      string
		api        string
		revoke     string
		wantScope  string
		wantEnv    string
		wantParams string
	}{
		{p: config.Profile{Provider: "microsoft", Tenant: "organizations", Scopes: "User.Read"},
			device: "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode", token: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
			api: "https://graph.microsoft.com/v1.0", wantScope: "User.Read offline_access"},
		{p: config.Profile{Provider: "github"}, device: "https://github.com/login/device/code", token: "https://github.com/login/oauth/access_token",
			api: "https://api.github.com", wantScope: "repo read:org read:user user:email", wantEnv: "GH_TOKEN GITHUB_TOKEN"},
		{p: config.Profile{Provider: "github", DeviceAuthURL: "https://ghe.example.com/login/device/code", TokenURL: "https://ghe.example.com/login/oauth/access_token", ApiURL: "https://ghe.example.com/api/v3"},
			device: "https://ghe.example.com/login/device/code", token: "https://ghe.example.com/login/oauth/access_token", api: "https://ghe.example.com/api/v3",
			wantScope: "repo read:org read:user user:email", wantEnv: "GH_TOKEN GITHUB_TOKEN"},
		{p: config.Profile{Provider: "google"}, device: "https://oauth2.googleapis.com/device/code", token: "https://oauth2.googleapis.com/token",
			api: "https://www.googleapis.com", revoke: "https://oauth2.googleapis.com/revoke", wantScope: "openid email profile", wantEnv: "GOOGLE_OAUTH_ACCESS_TOKEN"},
		{p: config.Profile{Provider: "auth0", Issuer: "https://t.eu.auth0.com", Audience: "https://api.example.com"},
			device: "https://t.eu.auth0.com/oauth/device/code", token: "https://t.eu.auth0.com/oauth/token", api: "https://api.example.com",
			revoke: "https://t.eu.auth0.com/oauth/revoke", wantScope: "openid profile email offline_access", wantParams: "audience=https%3A%2F%2Fapi.example.com"},
		{p: config.Profile{Provider: "okta", Issuer: "https://dev-1.okta.com/oauth2/default"},
			device: "https://dev-1.okta.com/oauth2/default/v1/device/authorize", token: "https://dev-1.okta.com/oauth2/default/v1/token",
			revoke: "https://dev-1.okta.com/oauth2/default/v1/revoke", wantScope: "openid profile email offline_access"},
		{p: config.Profile{Provider: "keycloak", Issuer: "https://kc.example.com/realms/home"},
			device: "https://kc.example.com/realms/home/protocol/openid-connect/auth/device", token: "https://kc.example.com/realms/home/protocol/openid-connect/token",
			revoke: "https://kc.example.com/realms/home/protocol/openid-connect/revoke", wantScope: "openid profile email offline_access"},
	}
	for _, tt := range tests {
		t.Run(tt.p.Provider, func(t *testing.T) {
			tt.p.ClientID, tt.p.Prefix = "id", "OAUTH"
			pr, err := New(&tt.p, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			e, err := pr.Endpoints(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if e.DeviceAuthURL != tt.device || e.TokenURL != tt.token || e.APIURL != tt.api || e.RevokeURL != tt.revoke {
				t.Errorf("endpoints = %+v", e)
			}
			if got := strings.Join(pr.Scopes, " "); got != tt.wantScope {
				t.Errorf("scopes = %q, want %q", got, tt.wantScope)
			}
			if got := strings.Join(pr.TokenEnv, " "); got != tt.wantEnv {
				t.Errorf("token env = %q", got)
			}
			if got := pr.DeviceAuthParams.Encode(); got != tt.wantParams {
				t.Errorf("params = %q", got)
			}
			cfg, _ := pr.OAuth2(context.Background())
			if cfg.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
				t.Error("AuthStyle must be explicit: auto-detect sends every failed poll twice")
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	var hits int
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/good/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":"%[1]s/good","device_authorization_endpoint":"%[1]s/good/device","token_endpoint":"%[1]s/good/token","userinfo_endpoint":"%[1]s/good/me","revocation_endpoint":"%[1]s/good/revoke"}`, srv.URL)
	})
	mux.HandleFunc("/nodevice/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token_endpoint":"%s/t"}`, srv.URL)
	})
	// Endpoints a document names get the https:// check of configured ones.
	for name, doc := range map[string]string{
		"plaintoken":  `{"device_authorization_endpoint":"https://idp.example/d","token_endpoint":"http://idp.example/t"}`,
		"plaindevice": `{"device_authorization_endpoint":"http://idp.example/d","token_endpoint":"https://idp.example/t"}`,
		"plainrevoke": `{"device_authorization_endpoint":"https://idp.example/d","token_endpoint":"https://idp.example/t","revocation_endpoint":"http://idp.example/r"}`,
		"relative":    `{"device_authorization_endpoint":"/d","token_endpoint":"https://idp.example/t"}`,
		"userpass":    `{"device_authorization_endpoint":"https://u:p@idp.example/d","token_endpoint":"https://idp.example/t"}`,
	} {
		mux.HandleFunc("/"+name+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, doc)
		})
	}
	mux.HandleFunc("/html/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>sign in</html>")
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()

	pr, _ := New(&config.Profile{Provider: "oidc", ClientID: "x", Issuer: srv.URL + "/good", RevokeURL: srv.URL + "/override"}, srv.Client())
	for range 2 {
		e, err := pr.Endpoints(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if e.DeviceAuthURL != srv.URL+"/good/device" || e.UserinfoURL != srv.URL+"/good/me" || e.RevokeURL != srv.URL+"/override" {
			t.Fatalf("endpoints %+v", e)
		}
	}
	if hits != 1 {
		t.Fatalf("discovery fetched %d times, want once", hits)
	}
	for path, want := range map[string]string{
		"/nodevice":    "does not support the device authorization grant",
		"/html":        "text/html, not JSON",
		"/missing":     "HTTP 404",
		"/plaintoken":  "token_endpoint: refusing plain http:// to idp.example",
		"/plaindevice": "device_authorization_endpoint: refusing plain http://",
		"/plainrevoke": "revocation_endpoint: refusing plain http://",
		"/relative":    `device_authorization_endpoint: invalid URL "/d"`,
		"/userpass":    "device_authorization_endpoint: URL must not contain a user",
	} {
		pr, _ := New(&config.Profile{Name: "work", Prefix: "OAUTH_WORK", Provider: "oidc", ClientID: "x", Issuer: srv.URL + path}, srv.Client())
		_, err := pr.Endpoints(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", path, err, want)
		}
		var ee *EndpointError
		if strings.HasPrefix(want, "token_endpoint") || strings.Contains(want, "_endpoint:") {
			if !errors.As(err, &ee) || ee.Override != [2]string{"OAUTH_WORK_DEVICE_AUTH_URL", "OAUTH_WORK_TOKEN_URL"} {
				t.Errorf("%s: err = %#v, want an *EndpointError naming the variables that override discovery", path, err)
			}
			var ce *config.Error
			if errors.As(err, &ce) {
				t.Errorf("%s: a document's fault unwraps to a configuration error", path)
			}
		}
	}
}

func jwt(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

func TestIdentity(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/user", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at" {
			w.WriteHeader(401)
			return
		}
		fmt.Fprint(w, `{"login":"octocat","name":null,"email":null,"id":1}`)
	})
	mux.HandleFunc("/user/emails", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"email":"old@example.com","primary":false,"verified":true},{"email":"octo@example.com","primary":true,"verified":true}]`)
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"graph-id","displayName":"Megan B","mail":null,"userPrincipalName":"megan@contoso.com"}`)
	})
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"sub":"u1","name":"Ui Name","email":"ui@example.com"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name string
		p    config.Profile
		tok  *oauth2.Token
		want tokencache.Account
	}{
		{"github with hidden email", config.Profile{Provider: "github", ApiURL: srv.URL},
			&oauth2.Token{AccessToken: "at"}, tokencache.Account{Name: "octocat", Email: "octo@example.com", Subject: "octocat"}},
		{"microsoft graph fills the gaps", config.Profile{Provider: "microsoft", Tenant: "common", UserinfoURL: srv.URL + "/me"},
			(&oauth2.Token{AccessToken: "at"}).WithExtra(map[string]any{"id_token": jwt(map[string]any{"sub": "s", "oid": "oid-1", "preferred_username": "megan@contoso.com"})}),
			tokencache.Account{Name: "Megan B", Email: "megan@contoso.com", Subject: "oid-1"}},
		{"complete id_token needs no request", config.Profile{Provider: "oidc", Issuer: "https://unreachable.invalid", DeviceAuthURL: "https://x.invalid/d", TokenURL: "https://x.invalid/t"},
			(&oauth2.Token{AccessToken: "at"}).WithExtra(map[string]any{"id_token": jwt(map[string]any{"sub": "s", "name": "N", "email": "e@x"})}),
			tokencache.Account{Name: "N", Email: "e@x", Subject: "s"}},
		{"userinfo", config.Profile{Provider: "okta", Issuer: srv.URL, UserinfoURL: srv.URL + "/userinfo"},
			(&oauth2.Token{AccessToken: "at"}).WithExtra(map[string]any{"id_token": jwt(map[string]any{"sub": "u1"})}),
			tokencache.Account{Name: "Ui Name", Email: "ui@example.com", Subject: "u1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.ClientID = "x"
			pr, err := New(&tt.p, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			got, err := pr.Identity(context.Background(), tt.tok)
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseIDToken(f *testing.F) {
	f.Add(jwt(map[string]any{"sub": "s", "name": "n"}))
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := ParseIDToken(raw)
		id := IDTokenIdentity((&oauth2.Token{}).WithExtra(map[string]any{"id_token": raw}))
		if err != nil {
			if id != (tokencache.Account{}) {
				t.Fatalf("an unreadable id_token named %+v", id)
			}
			return
		}
		// What was read survives a round trip through a token we make.
		again, err := ParseIDToken(jwt(map[string]any{"sub": c.Subject, "name": c.Name, "email": c.Email, "preferred_username": c.PreferredUsername, "oid": c.ObjectID}))
		if err != nil || again != c {
			t.Fatalf("round trip: %+v became %+v (%v)", c, again, err)
		}
		if c.ObjectID == "" && id.Subject != c.Subject || c.ObjectID != "" && id.Subject != c.ObjectID {
			t.Fatalf("subject %q from claims %+v", id.Subject, c)
		}
	})
}

// TestAuth0AudienceAsAPIURL: the audience becomes the API base URL only
// when it is a URL, and then gets the https:// check every token URL gets.
func TestAuth0AudienceAsAPIURL(t *testing.T) {
	tests := []struct {
		name     string
		aud, api string
		wantErr  string // from Check, naming the variable
		wantAPI  string
	}{
		{"https audience", "https://api.example.com", "", "", "https://api.example.com"},
		{"identifier audience", "my-api", "", "", ""},
		{"plain http audience", "http://api.example.com", "", "OAUTH_AUDIENCE: refusing plain http:// to api.example.com", ""},
		{"loopback http audience", "http://127.0.0.1:8080", "", "", "http://127.0.0.1:8080"},
		{"audience with a password", "https://u:p@api.example.com", "", "OAUTH_AUDIENCE: URL must not contain a user", ""},
		{"API URL set: the audience is only an identifier", "http://api.example.com", "https://api.example.com/v1", "", "https://api.example.com/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &config.Profile{Name: "default", Prefix: "OAUTH", Provider: "auth0", ClientID: "x", Issuer: "https://t.eu.auth0.com", Audience: tt.aud, ApiURL: tt.api}
			err := preset.Check(p)
			if tt.wantErr != "" {
				var ce *config.Error
				if !errors.As(err, &ce) || ce.Var != "OAUTH_AUDIENCE" || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "OAUTH_API_URL is unset") {
					t.Fatalf("Check = %v, want %q naming OAUTH_AUDIENCE", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pr, err := New(p, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			e, err := pr.Endpoints(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if e.APIURL != tt.wantAPI {
				t.Errorf("API URL %q, want %q", e.APIURL, tt.wantAPI)
			}
		})
	}
}
