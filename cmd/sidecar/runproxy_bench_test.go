package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/policy"
	"github.com/devicegate/devicegate/internal/session"
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
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"login":"octocat"}`)
	}))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	api.StartTLS()
	defer api.Close()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, api.Listener.Addr().String())
	}
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
		Transport:   &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	toolRoots := roots.Clone()
	toolRoots.AppendCertsFromPEM(p.CACertPEM())
	pu, _ := url.Parse(p.URL())
	for _, c := range []struct {
		name string
		c    *http.Client
	}{
		{"direct", &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots}}}},
		{"proxied", &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: toolRoots}}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			get := func() {
				req, _ := http.NewRequest("GET", "https://"+ghesHost+"/api/v3/user", nil)
				req.Header.Set("Authorization", "token "+ph)
				res, err := c.c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("HTTP %d", res.StatusCode)
				}
			}
			get()
			d := make([]time.Duration, 0, 1024)
			b.ResetTimer()
			for b.Loop() {
				t := time.Now()
				get()
				d = append(d, time.Since(t))
			}
			slices.Sort(d)
			b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "ms-median")
		})
	}
}
