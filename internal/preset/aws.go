package preset

import (
	"fmt"
	"strings"

	"github.com/devicegate/devicegate/internal/config"
)

// ScopeAWSAccountAccess is the scope of an IAM Identity Center client
// registration: with it, tokens come with refresh tokens (awssso
// registers with it).
const ScopeAWSAccountAccess = "sso:account:access"

// aws: AWS IAM Identity Center. Its tools get role credentials, not the
// token; internal/session signs in with the AWSSSO strategy.
var aws = &Preset{
	Kind:            "aws",
	Title:           "AWS",
	DefaultScopes:   []string{ScopeAWSAccountAccess},
	FixedScopes:     true,
	NoScopedRefresh: "AWS IAM Identity Center tokens have no scopes to narrow; choose the account and role with OAUTH_ACCOUNT_ID and OAUTH_ROLE_NAME (a second profile for another role)",
	Flows:           []string{config.FlowDevice},
	OwnClient:       true,
	Endpoints:       awsEndpoints,
	SignIn:          AWSSSO,
	Check:           checkAWS,
}

// AWSOIDCURL is the SSO-OIDC endpoint of a profile: OAUTH_OIDC_URL, or
// the region's.
func AWSOIDCURL(p *config.Profile) string {
	if p.OidcURL != "" {
		return p.OidcURL
	}
	return "https://oidc." + p.Region + ".amazonaws.com"
}

// AWSPortalURL is the SSO portal endpoint of a profile: OAUTH_PORTAL_URL,
// or the region's.
func AWSPortalURL(p *config.Profile) string {
	if p.PortalURL != "" {
		return p.PortalURL
	}
	return "https://portal.sso." + p.Region + ".amazonaws.com"
}

func awsEndpoints(p *config.Profile) Endpoints {
	oidc := AWSOIDCURL(p)
	return Endpoints{
		DeviceAuthURL: oidc + "/device_authorization",
		TokenURL:      oidc + "/token",
		APIURL:        AWSPortalURL(p),
	}
}

// checkAWS: IAM Identity Center needs the start URL, its region, and the
// account and role to get credentials for; no client id, because the
// client is registered with SSO-OIDC at the first sign-in.
func checkAWS(p *config.Profile) error {
	bad := func(name, format string, a ...any) error {
		return &config.Error{Var: p.Var(name), Msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case strings.TrimSpace(p.ClientID) != "":
		return bad("CLIENT_ID", "must be empty for aws: devicegate registers its own client with IAM Identity Center")
	case p.StartURL == "":
		return bad("START_URL", "is required for aws: your AWS access portal URL, e.g. https://d-1234567890.awsapps.com/start")
	case !validRegion(p.Region):
		return bad("REGION", "invalid or missing AWS region %q: the region of your IAM Identity Center, e.g. eu-west-1", p.Region)
	case len(p.AccountID) != 12 || strings.Trim(p.AccountID, "0123456789") != "":
		return bad("ACCOUNT_ID", "invalid or missing AWS account id %q: want its 12 digits", p.AccountID)
	case !validRole(p.RoleName):
		return bad("ROLE_NAME", "invalid or missing role name %q: the permission set's role, e.g. ReadOnly", p.RoleName)
	}
	return nil
}

// validRegion accepts AWS region names: lowercase words joined by hyphens,
// ending in a number (eu-west-1, us-gov-west-1, ap-southeast-5).
func validRegion(r string) bool {
	parts := strings.Split(r, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for i, w := range parts {
		if w == "" {
			return false
		}
		last := i == len(parts)-1
		for _, c := range w {
			if last && (c < '0' || c > '9') || !last && (c < 'a' || c > 'z') {
				return false
			}
		}
	}
	return len(parts[len(parts)-1]) <= 2
}

// validRole accepts IAM role names: 1-64 of letters, digits and +=,.@_-
// (IAM API Reference, CreateRole, RoleName).
func validRole(r string) bool {
	if len(r) == 0 || len(r) > 64 {
		return false
	}
	return strings.Trim(r, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") == ""
}
