package toolproxy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// systemBundles are where Linux distributions keep the system's roots in
// one PEM file (the list crypto/x509 reads on Linux, root_linux.go).
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, Alpine, distroless
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine
}

// SystemRoots returns the roots this process trusts, as PEM: the file
// SSL_CERT_FILE names (as Go reads it), else the system's bundle. The tool
// keeps trusting them alongside the run's CA.
func SystemRoots(getenv func(string) string) ([]byte, error) {
	files := systemBundles
	if f := getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("reading the system's certificates: %w", err)
		}
	}
	return nil, nil
}

// Trust names the files a tool trusts the run's CA through.
type Trust struct {
	Bundle string // the system roots and the run's CA
	CA     string // the run's CA alone
}

// WriteTrust writes the run's CA, and roots with it, into dir (which the
// caller makes, lets the tool read and removes after the run). Only
// certificates go there: the CA's key never leaves this process.
func (p *Proxy) WriteTrust(dir string, roots []byte) (Trust, error) {
	t := Trust{Bundle: filepath.Join(dir, "bundle.pem"), CA: filepath.Join(dir, "ca.pem")}
	var b bytes.Buffer
	b.Write(roots)
	if len(roots) > 0 && roots[len(roots)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.Write(p.ca.certPEM)
	if err := os.WriteFile(t.CA, p.ca.certPEM, 0o644); err != nil {
		return Trust{}, fmt.Errorf("writing the run's CA certificate: %w", err)
	}
	if err := os.WriteFile(t.Bundle, b.Bytes(), 0o644); err != nil {
		return Trust{}, fmt.Errorf("writing the run's CA bundle: %w", err)
	}
	return t, nil
}

// Env returns the variables that send a tool's HTTP(S) through the proxy
// and make it trust the run's CA, "NAME=value". Set them after whatever
// the tool inherits (they must win), and drop inherited NO_PROXY: an
// exception there would let the tool skip the proxy, holding only a
// placeholder.
func (p *Proxy) Env(t Trust) []string {
	u := p.URL()
	return []string{
		// curl, wget, git, Python, Go and most others read these; curl
		// reads only the lower-case http_proxy (httpoxy).
		"HTTPS_PROXY=" + u, "https_proxy=" + u, "HTTP_PROXY=" + u, "http_proxy=" + u,
		"NO_PROXY=", "no_proxy=",
		// Node 24 follows HTTP(S)_PROXY only when asked to.
		"NODE_USE_ENV_PROXY=1",
		"SSL_CERT_FILE=" + t.Bundle,      // Go, OpenSSL
		"CURL_CA_BUNDLE=" + t.Bundle,     // curl
		"REQUESTS_CA_BUNDLE=" + t.Bundle, // Python requests
		"GIT_SSL_CAINFO=" + t.Bundle,     // git
		"NODE_EXTRA_CA_CERTS=" + t.CA,    // Node adds it to its own roots
	}
}

// EnvNames are the variables Env sets, and NO_PROXY's spellings.
var EnvNames = []string{
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
	"NODE_USE_ENV_PROXY", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO", "NODE_EXTRA_CA_CERTS",
}
