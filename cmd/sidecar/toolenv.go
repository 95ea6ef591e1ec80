package main

import (
	"context"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/session"
)

// toolEnv returns the variables `sidecar run` gives the tool, "NAME=value",
// beyond the inherited environment: the access token in ACCESS_TOKEN and in
// the variables the preset's usual tools read (provider.TokenEnv), and in
// every --env name; for aws profiles the role credentials instead.
//
// What a preset's tools expect is the preset's (internal/preset: TokenEnv,
// ToolEnv, such as GitHub Enterprise's GH_ENTERPRISE_TOKEN and GH_HOST);
// AWS's tools get role credentials (awsEnv).
func toolEnv(ctx context.Context, s *session.Session, accessToken string, extra []string) ([]string, error) {
	names := append([]string{"ACCESS_TOKEN"}, s.Provider.TokenEnv...)
	var env []string
	if te := s.Provider.Preset.ToolEnv; te != nil {
		// The presets with tool variables have static endpoints: no
		// request here.
		ep, err := s.Provider.Endpoints(ctx)
		if err != nil {
			return nil, err
		}
		n, e := te(ep.APIURL)
		names, env = append(names, n...), append(env, e...)
	}
	names = append(names, extra...)
	for _, n := range names {
		env = append(env, n+"="+accessToken)
	}
	return env, nil
}

// awsEnv is toolEnv for aws profiles: role credentials valid for minTTL,
// never the SSO access token, which would buy credentials for every
// account and role the person has.
func awsEnv(ctx context.Context, s *session.Session, minTTL time.Duration, scopes, extra []string) ([]string, error) {
	if len(scopes) > 0 || len(extra) > 0 {
		return nil, cli.Usagef("run: --scope and --env do not apply to aws profiles (CMD gets role credentials)")
	}
	c, err := s.AWSCredentials(ctx, minTTL)
	if err != nil {
		return nil, err
	}
	r := s.Provider.AWS.Region
	return []string{
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + c.SessionToken,
		"AWS_REGION=" + r,
		"AWS_DEFAULT_REGION=" + r,
	}, nil
}
