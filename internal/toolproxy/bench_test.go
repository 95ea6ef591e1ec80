package toolproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/proxybench"
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
	api := proxybench.StartAPI(b, *cert)
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	ph := NewPlaceholder()
	p, err := Start(Config{
		Token:       func(context.Context) (string, error) { return testToken, nil },
		Placeholder: ph,
		Intercept:   []string{"https://" + apiHost},
		Judge:       JudgeFunc(func(context.Context, *http.Request, []byte) (func(int), error) { return nil, nil }),
		Transport:   &http.Transport{DialContext: api.Dial, TLSClientConfig: &tls.Config{RootCAs: roots}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	api.Compare(b, "https://"+apiHost+"/user", "Bearer "+ph, roots, p.URL(), p.CACertPEM())
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
