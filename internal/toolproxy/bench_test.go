package toolproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"
)

// BenchmarkRequest measures what the proxy adds to a request to a loopback
// HTTPS API (budget: 2 ms median), with a judge that says yes at once: the
// same GET sent directly and through the proxy, on kept-alive connections
// as a tool makes them. Run: go test ./internal/toolproxy -run '^$' -bench Request
func BenchmarkRequest(b *testing.B) {
	serverCA, err := newAuthority(time.Now)
	if err != nil {
		b.Fatal(err)
	}
	cert, _ := serverCA.leaf(apiHost)
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"login":"octocat"}`)
	}))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	api.StartTLS()
	defer api.Close()
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, api.Listener.Addr().String())
	}
	ph := NewPlaceholder()
	p, err := Start(Config{
		Token:       func(context.Context) (string, error) { return testToken, nil },
		Placeholder: ph,
		Intercept:   []string{"https://" + apiHost},
		Judge:       JudgeFunc(func(context.Context, *http.Request, []byte) (func(int), error) { return nil, nil }),
		Transport:   &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	toolRoots := roots.Clone()
	toolRoots.AppendCertsFromPEM(p.CACertPEM())
	pu, _ := url.Parse(p.URL())
	clients := []struct {
		name string
		c    *http.Client
	}{
		{"direct", &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots}}}},
		{"proxied", &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: toolRoots}}}},
	}
	for _, c := range clients {
		b.Run(c.name, func(b *testing.B) {
			get := func() {
				req, _ := http.NewRequest("GET", "https://"+apiHost+"/user", nil)
				req.Header.Set("Authorization", "Bearer "+ph)
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
			d := make([]time.Duration, 0, b.N)
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

// BenchmarkStart measures what starting the proxy adds to `sidecar run`
// (budget: 20 ms): the run's CA, the listener, the trust files with the
// system's roots, and stopping it all.
func BenchmarkStart(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		p, err := Start(Config{
			Token:       func(context.Context) (string, error) { return testToken, nil },
			Placeholder: NewPlaceholder(),
			Intercept:   []string{"https://api.github.com", "https://uploads.github.com", "https://github.com"},
			Judge:       JudgeFunc(func(context.Context, *http.Request, []byte) (func(int), error) { return nil, nil }),
		})
		if err != nil {
			b.Fatal(err)
		}
		roots, err := SystemRoots(os.Getenv)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.WriteTrust(dir, roots); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}
