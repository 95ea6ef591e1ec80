package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
)

// errGotCode stops the device flow once the provider has issued a code.
var errGotCode = errors.New("doctor: got a code")

// checkProvider: the provider reachable, its discovery document (oidc),
// and the flow the profile signs in with: for the code flow its endpoints,
// for the device flow the device authorization, up to the code:
// that is where a provider says it does not know the client
// (invalid_client) or does not allow it the device grant.
func checkProvider(ctx context.Context, p *config.Profile, hc *http.Client) []Finding {
	area := "provider " + p.Name
	pr, err := provider.New(p, hc)
	if err != nil {
		return []Finding{{Area: area, Err: err}}
	}
	if pr.AWS != nil {
		// IAM Identity Center registers a client at the first sign-in;
		// asking for a code would register one here for nothing.
		return []Finding{{Area: area, OK: fmt.Sprintf("aws (IAM Identity Center, %s): checked at the first sign-in", pr.AWS.Region), Skipped: true}}
	}
	wrap := func(doing string, err error) error {
		v := pr.AddressVar()
		var ue *url.Error
		if errors.As(err, &ue) {
			err = oauthhttp.Unreachable(ue.URL, ue.Err)
		}
		var oe *oauthhttp.Error
		if errors.As(err, &oe) && (oe.Code == "invalid_client" || oe.Code == "unauthorized_client") {
			v = pr.Var("CLIENT_ID")
		}
		return &session.ProviderError{Profile: p.Name, Doing: doing, Var: v, Err: err}
	}
	e, err := pr.Endpoints(ctx)
	if err != nil {
		return []Finding{{Area: area, Err: wrap("finding the endpoints", err)}}
	}
	var out []Finding
	if pr.Preset.Discover && p.Issuer != "" {
		out = append(out, Finding{Area: area, OK: "discovery at " + p.Issuer + "/.well-known/openid-configuration"})
	}
	if pr.Flow == config.FlowCode {
		// The code flow's first request is the person's browser at the
		// authorization endpoint: nothing to ask for from here.
		return append(out, Finding{Area: area, OK: "code flow: authorization endpoint " + e.AuthURL + ", token endpoint " + e.TokenURL})
	}
	cfg, err := pr.OAuth2(ctx)
	if err != nil {
		return append(out, Finding{Area: area, Err: wrap("finding the endpoints", err)})
	}
	f := &deviceflow.Flow{
		Config:           cfg,
		HTTP:             hc,
		DeviceAuthParams: pr.DeviceAuthParams,
		Display:          func(context.Context, deviceflow.Code) error { return errGotCode },
	}
	if _, err := f.Run(ctx); !errors.Is(err, errGotCode) {
		return append(out, Finding{Area: area, Err: wrap("asking for a device code at "+e.DeviceAuthURL, err)})
	}
	return append(out, Finding{Area: area, OK: fmt.Sprintf("device flow: %s issued a code for %s (left to expire)", e.DeviceAuthURL, pr.Var("CLIENT_ID"))})
}
