// Package proxybench measures what an intercepting HTTPS proxy adds to a
// tool's request: the same GET to a loopback API sent directly and through
// the proxy, on kept-alive connections as a tool makes them. It serves the
// benchmarks of internal/toolproxy (the proxy alone) and of `sidecar run`
// (the proxy with its real judge).
package proxybench

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
)

// API is a loopback HTTPS API that answers every request with a small
// JSON body, with cert, closed when the benchmark ends.
type API struct {
	srv *httptest.Server
}

// StartAPI starts the API.
func StartAPI(b testing.TB, cert tls.Certificate) *API {
	b.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"login":"octocat"}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	b.Cleanup(srv.Close)
	return &API{srv: srv}
}

// Dial reaches the API whatever address is asked for, so that a request
// can name the host its certificate is for.
func (a *API) Dial(ctx context.Context, network, _ string) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, network, a.srv.Listener.Addr().String())
}

// Compare runs the sub-benchmarks "direct" and "proxied": a GET of target
// with the Authorization header auth, sent through a.Dial trusting roots,
// and through the proxy at proxyURL trusting roots and proxyCA (PEM). Each
// reports its median as ms-median; a failed request or a status other
// than 200 fails it.
func (a *API) Compare(b *testing.B, target, auth string, roots *x509.CertPool, proxyURL string, proxyCA []byte) {
	b.Helper()
	toolRoots := roots.Clone()
	toolRoots.AppendCertsFromPEM(proxyCA)
	pu, err := url.Parse(proxyURL)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		c    *http.Client
	}{
		{"direct", &http.Client{Transport: &http.Transport{DialContext: a.Dial, TLSClientConfig: &tls.Config{RootCAs: roots}}}},
		{"proxied", &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: toolRoots}}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			get := func() {
				req, _ := http.NewRequest("GET", target, nil)
				req.Header.Set("Authorization", auth)
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
			get() // connect once: a tool's later requests reuse the connection
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
