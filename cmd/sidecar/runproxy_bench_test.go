package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"testing"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/testing/proxybench"
	"github.com/devicegate/devicegate/internal/toolproxy"
)

// BenchmarkToolProxyRequest measures what `sidecar run`'s proxy adds to a
// tool's request to a loopback HTTPS API, with the real judge: the policy
// of an agent caller and the audit line written for every request (budget:
// 2 ms median). Compare the direct and proxied medians:
//
//	go test ./cmd/sidecar -run '^$' -bench ToolProxyRequest
func BenchmarkToolProxyRequest(b *testing.B) {
	caPEM, cert := testCertificate(b, ghesHost)
	api := proxybench.StartAPI(b, cert)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	pol, err := policy.Parse("allow run gh; deny DELETE /api/v3/repos/**")
	if err != nil {
		b.Fatal(err)
	}
	s := &session.Session{Profile: "default", Policy: pol, Audit: audit.Open(b.TempDir()), Caller: audit.CallerAgent}
	ph := toolproxy.NewPlaceholder()
	p, err := toolproxy.Start(toolproxy.Config{
		Token:       func(context.Context) (string, error) { return realToken, nil },
		Placeholder: ph,
		Intercept:   []string{"https://" + ghesHost},
		Judge:       &toolJudge{g: &gate.Gate{Profile: s.Profile, API: "https://" + ghesHost + "/api/v3", Caller: s.Caller, Policy: s.Policy, Log: s}, via: "run gh", stderr: io.Discard},
		Transport:   &http.Transport{DialContext: api.Dial, TLSClientConfig: &tls.Config{RootCAs: roots}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	api.Compare(b, "https://"+ghesHost+"/api/v3/user", "token "+ph, roots, p.URL(), p.CACertPEM())
}
