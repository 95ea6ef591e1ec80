package provider

import (
	"slices"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/preset"
)

// setup applies the preset to a new provider: its fixed endpoints, default
// scopes and quirks (internal/preset holds them, one value per provider).
func (pr *Provider) setup(ps *preset.Preset, p *config.Profile) {
	pr.Preset = ps
	if ps.Endpoints != nil {
		pr.static = ps.Endpoints(p)
	}
	if len(pr.Scopes) == 0 || ps.FixedScopes {
		// A copy: a preset's scopes are shared by every profile.
		pr.Scopes = slices.Clone(ps.DefaultScopes)
	}
	// Without offline_access such a provider returns no refresh token,
	// and the agent would need the person again within the hour.
	// (A one-off grant wants exactly that.)
	if ps.OfflineAccess && !pr.OneOff && !containsFold(pr.Scopes, "offline_access") {
		pr.Scopes = append(pr.Scopes, "offline_access")
	}
	pr.TokenEnv = ps.TokenEnv
	if ps.Accept != "" {
		pr.Accept = ps.Accept
	}
	if ps.DeviceAuthParams != nil {
		pr.DeviceAuthParams = ps.DeviceAuthParams(p)
	}
	pr.noScopedRefresh = ps.NoScopedRefresh
	if ps.SignIn == preset.AWSSSO {
		pr.AWS = &AWS{
			StartURL: p.StartURL, Region: p.Region, AccountID: p.AccountID, RoleName: p.RoleName,
			OIDCURL: preset.AWSOIDCURL(p), PortalURL: preset.AWSPortalURL(p),
		}
	}
}
