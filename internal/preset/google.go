package preset

import (
	"net/url"

	"github.com/devicegate/devicegate/internal/config"
)

// google: Google accounts and Google's APIs.
var google = &Preset{
	Kind:  "google",
	Title: "Google",
	// Google allows only a few scopes on the device flow.
	DefaultScopes: []string{"openid", "email", "profile"},
	TokenEnv:      []string{"GOOGLE_OAUTH_ACCESS_TOKEN"},
	// Google's APIs each have a host of their own (gmail.googleapis.com).
	TokenHosts: func(string) []string { return []string{"https://*.googleapis.com"} },
	Flows:      []string{config.FlowDevice, config.FlowCode},
	// Google refuses a device client without its secret.
	NeedsSecret: true,
	AuthParams:  googleAuthParams,
	Endpoints:   googleEndpoints,
	User:        UserInfo,
}

func googleEndpoints(*config.Profile) Endpoints {
	return Endpoints{
		AuthURL:       "https://accounts.google.com/o/oauth2/v2/auth",
		DeviceAuthURL: "https://oauth2.googleapis.com/device/code",
		TokenURL:      "https://oauth2.googleapis.com/token",
		UserinfoURL:   "https://openidconnect.googleapis.com/v1/userinfo",
		RevokeURL:     "https://oauth2.googleapis.com/revoke",
		APIURL:        "https://www.googleapis.com",
	}
}

// googleAuthParams: Google issues a refresh token only with
// access_type=offline, and on a second sign-in only with prompt=consent
// as well.
func googleAuthParams(_ []string, oneOff bool) url.Values {
	v := url.Values{}
	if !oneOff {
		v.Set("access_type", "offline")
		v.Set("prompt", "consent")
	}
	return v
}
