package provider

import (
	"slices"
	"testing"

	"github.com/devicegate/devicegate/internal/awssso"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/preset"
)

// The aws preset names AWS's endpoints and scope without linking awssso:
// they must be awssso's.
func TestAWSPresetMatchesAWSSSO(t *testing.T) {
	p := &config.Profile{Region: "eu-west-1"}
	if got, want := preset.AWSOIDCURL(p), awssso.OIDCURL("eu-west-1"); got != want {
		t.Errorf("AWSOIDCURL = %q, want %q", got, want)
	}
	if got, want := preset.AWSPortalURL(p), awssso.PortalURL("eu-west-1"); got != want {
		t.Errorf("AWSPortalURL = %q, want %q", got, want)
	}
	if preset.ScopeAWSAccountAccess != awssso.ScopeAccountAccess {
		t.Errorf("scope %q, awssso registers %q", preset.ScopeAWSAccountAccess, awssso.ScopeAccountAccess)
	}
}

// A profile's scopes are its own: growing one (Microsoft's offline_access)
// never changes the preset's defaults that every profile starts from.
func TestNewCopiesPresetScopes(t *testing.T) {
	ps := preset.Lookup("microsoft")
	before := slices.Clone(ps.DefaultScopes)
	for _, oneOff := range []bool{false, true} {
		pr, err := New(&config.Profile{Name: "default", Prefix: "OAUTH", Provider: "microsoft", ClientID: "x", OneOff: config.Bool(oneOff)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		pr.Scopes[0] = "changed"
		pr.Scopes = append(pr.Scopes, "Mail.Read")
	}
	if !slices.Equal(ps.DefaultScopes, before) {
		t.Fatalf("preset scopes changed to %q", ps.DefaultScopes)
	}
}
