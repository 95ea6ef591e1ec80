package main

import (
	"context"
	"github.com/devicegate/devicegate/internal/session"
)

// toolEnv returns the variables `sidecar run` gives the tool, "NAME=value",
// beyond the inherited environment: the access token in ACCESS_TOKEN and in
// the variables the preset's usual tools read (provider.TokenEnv), and in
// every --env name. A provider whose API takes no bearer token gets
// session.ToolCredentials instead (AWS: role credentials).
//
// What a preset's tools expect is the preset's (internal/preset: TokenEnv,
// ToolEnv, such as GitHub Enterprise's GH_ENTERPRISE_TOKEN and GH_HOST).
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
