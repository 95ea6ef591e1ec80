package preset

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/devicegate/devicegate/internal/config"
)

// auth0: an Auth0 tenant (OAUTH_ISSUER), with the API's audience.
var auth0 = &Preset{
	Kind:             "auth0",
	Title:            "Auth0",
	DefaultScopes:    OpenIDScopes,
	Flows:            []string{config.FlowDevice, config.FlowCode},
	NeedsIssuer:      true,
	DeviceAuthParams: auth0DeviceParams,
	Endpoints:        auth0Endpoints,
	User:             UserInfo,
	Check:            checkAuth0,
}

func auth0Endpoints(p *config.Profile) Endpoints {
	return Endpoints{
		AuthURL:       p.Issuer + "/authorize",
		DeviceAuthURL: p.Issuer + "/oauth/device/code",
		TokenURL:      p.Issuer + "/oauth/token",
		UserinfoURL:   p.Issuer + "/userinfo",
		RevokeURL:     p.Issuer + "/oauth/revoke",
		APIURL:        audienceURL(p.Audience),
	}
}

// auth0DeviceParams: Auth0 issues a token for an API only when the device
// request names its audience.
func auth0DeviceParams(p *config.Profile) url.Values {
	if p.Audience == "" {
		return nil
	}
	return url.Values{"audience": {p.Audience}}
}

// checkAuth0: the audience is the API base URL when OAUTH_API_URL is not
// set, and `sidecar api` sends the token there, so it gets the check every
// other such URL gets.
func checkAuth0(p *config.Profile) error {
	if p.ApiURL != "" || !strings.Contains(p.Audience, "://") {
		return nil
	}
	err := config.CheckURL(p.Var("AUDIENCE"), p.Audience)
	var ce *config.Error
	if errors.As(err, &ce) {
		ce.Msg += fmt.Sprintf(" (it is the API base URL while %s is unset)", p.Var("API_URL"))
	}
	return err
}

// audienceURL is an Auth0 audience as the API base URL: only when it is a
// URL (an audience may be any identifier, such as "my-api"); Check has
// already refused one that would carry the token over plain http.
func audienceURL(aud string) string {
	if !strings.Contains(aud, "://") {
		return ""
	}
	return aud
}
