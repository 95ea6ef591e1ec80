package preset

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/config"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		p       config.Profile
		wantVar string // "" for no error
	}{
		{"github needs nothing more", config.Profile{Provider: "github", ClientID: "x"}, ""},
		{"google needs a secret", config.Profile{Provider: "google", ClientID: "x"}, "OAUTH_CLIENT_SECRET"},
		{"google with a secret", config.Profile{Provider: "google", ClientID: "x", ClientSecret: "s"}, ""},
		{"microsoft tenant that does not fit the URL", config.Profile{Provider: "microsoft", ClientID: "x", Tenant: "a/b"}, "OAUTH_TENANT"},
		{"microsoft domain tenant", config.Profile{Provider: "microsoft", ClientID: "x", Tenant: "contoso.onmicrosoft.com"}, ""},
		{"oidc without issuer or endpoints", config.Profile{Provider: "oidc", ClientID: "x"}, "OAUTH_ISSUER"},
		{"oidc with both endpoints", config.Profile{Provider: "oidc", ClientID: "x", DeviceAuthURL: "https://a/d", TokenURL: "https://a/t"}, ""},
		{"aws with a client id", config.Profile{Provider: "aws", ClientID: "x"}, "OAUTH_CLIENT_ID"},
		{"aws without a start URL", config.Profile{Provider: "aws"}, "OAUTH_START_URL"},
		{"aws bad region", config.Profile{Provider: "aws", StartURL: "https://d-1.awsapps.com/start", Region: "EU-west-1"}, "OAUTH_REGION"},
		{"aws short account", config.Profile{Provider: "aws", StartURL: "https://d-1.awsapps.com/start", Region: "eu-west-1", AccountID: "123"}, "OAUTH_ACCOUNT_ID"},
		{"aws bad role", config.Profile{Provider: "aws", StartURL: "https://d-1.awsapps.com/start", Region: "eu-west-1", AccountID: "123456789012", RoleName: "a b"}, "OAUTH_ROLE_NAME"},
		{"code flow for aws", config.Profile{Provider: "aws", Flow: "code", StartURL: "https://d-1.awsapps.com/start", Region: "eu-west-1", AccountID: "123456789012", RoleName: "ReadOnly"}, "OAUTH_FLOW"},
		{"github code flow needs the secret", config.Profile{Provider: "github", ClientID: "x", Flow: "code"}, "OAUTH_CLIENT_SECRET"},
		{"github code flow with the secret", config.Profile{Provider: "github", ClientID: "x", Flow: "code", ClientSecret: "s"}, ""},
		{"oidc code flow wants the authorization endpoint", config.Profile{Provider: "oidc", ClientID: "x", Flow: "code", DeviceAuthURL: "https://a/d", TokenURL: "https://a/t"}, "OAUTH_ISSUER"},
		{"oidc code flow with both endpoints", config.Profile{Provider: "oidc", ClientID: "x", Flow: "code", AuthURL: "https://a/a", TokenURL: "https://a/t"}, ""},
		{"aws complete", config.Profile{Provider: "aws", StartURL: "https://d-1.awsapps.com/start", Region: "us-gov-west-1", AccountID: "123456789012", RoleName: "ReadOnly"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Name, p.Prefix = "default", "OAUTH"
			err := Check(&p)
			var ce *config.Error
			switch {
			case tt.wantVar == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tt.wantVar != "" && (!errors.As(err, &ce) || ce.Var != tt.wantVar):
				t.Fatalf("Check = %v, want a *config.Error naming %s", err, tt.wantVar)
			}
		})
	}
}

// validTenant accepts exactly what the regular expression it replaces
// accepted.
func FuzzValidTenant(f *testing.F) {
	for _, s := range []string{"consumers", "contoso.onmicrosoft.com", "a/b", "-x", strings.Repeat("a", 254), strings.Repeat("a", 255), ""} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validTenant(s), re.MatchString(s); got != want {
			t.Fatalf("validTenant(%q) = %v, want %v", s, got, want)
		}
	})
}
