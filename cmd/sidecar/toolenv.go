package main

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/session"
)

// toolEnv returns the variables `sidecar run` gives the tool, "NAME=value",
// beyond the inherited environment: the access token in ACCESS_TOKEN and in
// the variables the preset's usual tools read (provider.TokenEnv), and in
// every --env name; for aws profiles the role credentials instead.
//
// This is the one place that knows what a preset's tools expect. A preset
// whose tools want more than a bearer token (AWS: role credentials as
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN) adds a
// case here.
func toolEnv(ctx context.Context, s *session.Session, accessToken string, extra []string) ([]string, error) {
	names := append([]string{"ACCESS_TOKEN"}, s.Provider.TokenEnv...)
	var env []string
	if s.Provider.Kind == "github" {
		// gh reads GH_TOKEN only for github.com. For GitHub Enterprise
		// Server (the profile's API is https://HOST/api/v3) it reads
		// GH_ENTERPRISE_TOKEN and needs GH_HOST to know which host the
		// token is for.
		// The github preset's endpoints are static: no request here.
		ep, err := s.Provider.Endpoints(ctx)
		if err != nil {
			return nil, err
		}
		if host := enterpriseHost(ep.APIURL); host != "" {
			names = append(names, "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
			env = append(env, "GH_HOST="+host)
		}
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

// enterpriseHost returns the host of a GitHub profile's API when it is not
// github.com's, or "".
func enterpriseHost(api string) string {
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
