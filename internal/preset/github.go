package preset

import (
	"net/url"
	"strings"

	"github.com/devicegate/devicegate/internal/config"
)

// github: github.com, or GitHub Enterprise Server when OAUTH_API_URL names
// another host.
var github = &Preset{
	Kind:          "github",
	Title:         "GitHub",
	DefaultScopes: []string{"repo", "read:org", "read:user", "user:email"},
	TokenEnv:      []string{"GH_TOKEN", "GITHUB_TOKEN"},
	ToolEnv:       githubToolEnv,
	TokenHosts:    githubTokenHosts,
	Accept:        "application/vnd.github+json",
	// GitHub's refresh grant takes no scope: a GitHub App's token has
	// the App's permissions, an OAuth App's the scopes of its sign-in.
	NoScopedRefresh: "GitHub does not issue a token for other scopes on refresh; sign in a second profile with the scopes you need (OAUTH_<NAME>_SCOPES)",
	Flows:           []string{config.FlowDevice, config.FlowCode},
	CodeSecret:      "the OAuth app's client secret",
	Endpoints:       githubEndpoints,
	User:            GitHubUser,
}

func githubEndpoints(*config.Profile) Endpoints {
	return Endpoints{
		AuthURL:       "https://github.com/login/oauth/authorize",
		DeviceAuthURL: "https://github.com/login/device/code",
		TokenURL:      "https://github.com/login/oauth/access_token",
		APIURL:        "https://api.github.com",
		// Revoking a GitHub token needs the client secret
		// (DELETE /applications/{client_id}/token), not RFC 7009.
	}
}

// githubToolEnv: gh reads GH_TOKEN only for github.com. For GitHub
// Enterprise Server (the profile's API is https://HOST/api/v3) it reads
// GH_ENTERPRISE_TOKEN and needs GH_HOST to know which host the token is
// for.
func githubToolEnv(apiURL string) (names, env []string) {
	host := EnterpriseHost(apiURL)
	if host == "" {
		return nil, nil
	}
	return []string{"GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"}, []string{"GH_HOST=" + host}
}

// githubTokenHosts: gh uploads release assets to uploads.github.com, and
// git (with gh as its credential helper) sends the token to github.com.
// GitHub Enterprise Server serves all three on the API's host.
func githubTokenHosts(apiURL string) []string {
	if EnterpriseHost(apiURL) != "" {
		return nil
	}
	return []string{"https://uploads.github.com", "https://github.com"}
}

// EnterpriseHost returns the host of a GitHub profile's API when it is not
// github.com's, or "".
func EnterpriseHost(api string) string {
	u, err := url.Parse(api)
	if err != nil || u.Host == "" {
		return ""
	}
	h := strings.ToLower(u.Host)
	if h == "api.github.com" || h == "github.com" {
		return ""
	}
	return u.Host
}
