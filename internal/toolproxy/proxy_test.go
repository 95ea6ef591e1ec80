package toolproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken = "gho_RealTokenNeverSeenByTheTool0123456789"
	apiHost   = "api.devicegate.test"
	otherHost = "other.devicegate.test"
	plainHost = "plain.devicegate.test"
)

// seen is what a test server received.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (s *seen) handler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.body = append(s.body, string(b))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"login":"octocat","path":%q}`, r.URL.RequestURI())
}

func (s *seen) all() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

// rig is a proxy between a client and three servers: the API (intercepted,
// HTTPS), another HTTPS host (tunnelled) and a plain http API
// (intercepted), all on loopback under made-up names.
type rig struct {
	proxy              *Proxy
	client             *http.Client
	api, other, plain  *seen
	judged             chan *http.Request
	statuses           chan int
	placeholder        string
	apiAddr, otherAddr string
	dial               func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newRig(t *testing.T, judge Judge, maxBody int64, opts ...func(*Config)) *rig {
	t.Helper()
	// The servers' certificates come from a CA of the test's own.
	serverCA, err := newAuthority(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	serverRoots := x509.NewCertPool()
	serverRoots.AddCert(serverCA.cert)
	tlsServer := func(h http.Handler, host string) *httptest.Server {
		srv := httptest.NewUnstartedServer(h)
		c, err := serverCA.leaf(host)
		if err != nil {
			t.Fatal(err)
		}
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*c}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	r := &rig{api: &seen{}, other: &seen{}, plain: &seen{}, judged: make(chan *http.Request, 16), statuses: make(chan int, 16), placeholder: NewPlaceholder()}
	api := tlsServer(http.HandlerFunc(r.api.handler), apiHost)
	other := tlsServer(http.HandlerFunc(r.other.handler), otherHost)
	plain := httptest.NewServer(http.HandlerFunc(r.plain.handler))
	t.Cleanup(plain.Close)
	r.apiAddr, r.otherAddr = api.Listener.Addr().String(), other.Listener.Addr().String()
	names := map[string]string{
		apiHost + ":443":   r.apiAddr,
		otherHost + ":443": r.otherAddr,
		plainHost + ":80":  plain.Listener.Addr().String(),
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		a, ok := names[addr]
		if !ok && strings.HasPrefix(addr, "127.0.0.1:") {
			a, ok = addr, true // a test server by its address (the upstream proxy)
		}
		if !ok {
			return nil, fmt.Errorf("no test host %s", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}
	if judge == nil {
		judge = JudgeFunc(func(ctx context.Context, req *http.Request, body []byte) (func(int), error) {
			r.judged <- req
			return func(s int) { r.statuses <- s }, nil
		})
	}
	r.dial = dial
	cfg := Config{
		Token:       func(context.Context) (string, error) { return testToken, nil },
		Placeholder: r.placeholder,
		Intercept:   []string{"https://" + apiHost, "http://" + plainHost},
		Judge:       judge,
		Transport:   &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: serverRoots}},
		DialContext: dial,
		MaxBody:     maxBody,
	}
	for _, o := range opts {
		o(&cfg)
	}
	r.proxy, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.proxy.Close() })
	// The tool trusts the run's CA, and the servers' CA for tunnelled hosts.
	toolRoots := x509.NewCertPool()
	toolRoots.AppendCertsFromPEM(r.proxy.CACertPEM())
	toolRoots.AddCert(serverCA.cert)
	pu, _ := url.Parse(r.proxy.URL())
	r.client = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: toolRoots}}}
	return r
}

func (r *rig) do(t *testing.T, method, u string, header http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = nil
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// noPlaceholder fails when the placeholder reached a server that gets the
// token.
func noPlaceholder(t *testing.T, r *http.Request, ph string) {
	t.Helper()
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, ph) {
				t.Errorf("the API got the placeholder in %s", k)
			}
			if strings.HasPrefix(v, "Basic ") {
				if d, _ := base64.StdEncoding.DecodeString(v[6:]); strings.Contains(string(d), ph) {
					t.Errorf("the API got the placeholder in %s (Basic)", k)
				}
			}
		}
	}
}

func TestInjection(t *testing.T) {
	tests := []struct {
		name   string
		header string
		value  func(ph string) string
		want   string
	}{
		{"bearer", "Authorization", func(ph string) string { return "Bearer " + ph }, "Bearer " + testToken},
		{"gh token form", "Authorization", func(ph string) string { return "token " + ph }, "token " + testToken},
		{"basic as git sends it", "Authorization", func(ph string) string { return basic("x-access-token", ph) }, basic("x-access-token", testToken)},
		{"basic placeholder as user", "Authorization", func(ph string) string { return basic(ph, "x-oauth-basic") }, basic(testToken, "x-oauth-basic")},
		{"basic lower-case scheme", "Authorization", func(ph string) string { return "basic " + base64.StdEncoding.EncodeToString([]byte("u:"+ph)) }, "basic " + base64.StdEncoding.EncodeToString([]byte("u:"+testToken))},
		// Only credentials get the token: a header an API echoes or logs
		// (User-Agent) would hand it back to the tool.
		{"another header", "User-Agent", func(ph string) string { return ph }, ""},
		{"not the whole credential", "Authorization", func(ph string) string { return "Bearer x" + ph }, ""},
		{"no placeholder", "Authorization", func(string) string { return "Bearer something-else" }, "Bearer something-else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil, 0)
			code, body := r.do(t, "GET", "https://"+apiHost+"/user?x=1", http.Header{tt.header: {tt.value(r.placeholder)}}, "")
			if code != 200 || !strings.Contains(body, "octocat") {
				t.Fatalf("GET /user: %d %s", code, body)
			}
			got := r.api.all()
			if len(got) != 1 {
				t.Fatalf("the API got %d requests", len(got))
			}
			want := tt.want
			if want == "" {
				want = tt.value(r.placeholder) // worthless, so left as it is
			}
			if v := got[0].Header.Get(tt.header); v != want {
				t.Errorf("the API got %s %q, want %q", tt.header, v, want)
			}
			for k, vs := range got[0].Header {
				if k != "Authorization" && strings.Contains(strings.Join(vs, " "), testToken) {
					t.Errorf("the token went into %s", k)
				}
			}
			if got[0].URL.RequestURI() != "/user?x=1" || got[0].Host != apiHost {
				t.Errorf("the API got %s %s", got[0].Host, got[0].URL.RequestURI())
			}
			if tt.want != "" {
				noPlaceholder(t, got[0], r.placeholder)
			}
			// The judge saw the request as the tool sent it: placeholder,
			// never the token.
			j := <-r.judged
			if j.Method != "GET" || j.URL.String() != "https://"+apiHost+"/user?x=1" {
				t.Errorf("judged %s %s", j.Method, j.URL)
			}
			if strings.Contains(fmt.Sprint(j.Header), testToken) {
				t.Error("the judge saw the token")
			}
			if s := <-r.statuses; s != 200 {
				t.Errorf("done(%d), want 200", s)
			}
		})
	}
}

func TestRefusalNeverForwarded(t *testing.T) {
	r := newRig(t, JudgeFunc(func(ctx context.Context, req *http.Request, body []byte) (func(int), error) {
		if req.Method == "DELETE" {
			return nil, errors.New("DELETE " + req.URL.Path + " is refused by the policy (rule \"deny DELETE /repos/**\")")
		}
		return nil, nil
	}), 0)
	code, body := r.do(t, "DELETE", "https://"+apiHost+"/repos/o/precious", http.Header{"Authorization": {"Bearer " + r.placeholder}}, "")
	if code != http.StatusForbidden {
		t.Fatalf("DELETE: HTTP %d, want 403", code)
	}
	var msg struct{ Message string }
	if err := json.Unmarshal([]byte(body), &msg); err != nil || !strings.Contains(msg.Message, `deny DELETE /repos/**`) {
		t.Errorf("403 body %q does not say why", body)
	}
	if n := len(r.api.all()); n != 0 {
		t.Errorf("the API got %d requests after a refusal", n)
	}
	// The connection still serves an allowed request.
	if code, _ := r.do(t, "GET", "https://"+apiHost+"/user", nil, ""); code != 200 {
		t.Errorf("GET after a refusal: %d", code)
	}
}

func TestOtherHostsTunnelledUntouched(t *testing.T) {
	r := newRig(t, nil, 0)
	code, _ := r.do(t, "GET", "https://"+otherHost+"/steal", http.Header{"Authorization": {"Bearer " + r.placeholder}}, "")
	if code != 200 {
		t.Fatalf("tunnelled GET: %d", code)
	}
	got := r.other.all()
	if len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+r.placeholder {
		t.Fatalf("the other host got %v, want the placeholder untouched", got)
	}
	// Through the tunnel the tool spoke TLS with the host itself, not with
	// the run's CA.
	if got[0].TLS == nil {
		t.Error("not TLS end to end")
	}
	select {
	case j := <-r.judged:
		t.Errorf("a tunnelled request was judged: %s", j.URL)
	default:
	}
	// The token on a port the API does not listen on is not the API.
	if n := len(r.api.all()); n != 0 {
		t.Errorf("the API got %d requests", n)
	}
}

func TestPlainHTTP(t *testing.T) {
	r := newRig(t, nil, 0)
	code, body := r.do(t, "GET", "http://"+plainHost+"/user", http.Header{"Authorization": {"Bearer " + r.placeholder}}, "")
	if code != 200 || !strings.Contains(body, "octocat") {
		t.Fatalf("plain GET: %d %s", code, body)
	}
	got := r.plain.all()
	if len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+testToken {
		t.Fatalf("the plain API got %v", got)
	}
	noPlaceholder(t, got[0], r.placeholder)
	if got[0].Header.Get("Proxy-Authorization") != "" {
		t.Error("the proxy's credentials were forwarded")
	}
}

func TestBodyLimit(t *testing.T) {
	r := newRig(t, nil, 10)
	h := http.Header{"Authorization": {"Bearer " + r.placeholder}}
	code, body := r.do(t, "POST", "https://"+apiHost+"/repos/o/r/issues", h, "12345678901")
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 10 bytes") {
		t.Errorf("11-byte body: %d %s", code, body)
	}
	if n := len(r.api.all()); n != 0 {
		t.Fatalf("the API got %d requests", n)
	}
	code, _ = r.do(t, "POST", "https://"+apiHost+"/repos/o/r/issues", h, "1234567890")
	if code != 200 {
		t.Fatalf("10-byte body: %d", code)
	}
	if got := r.api.body; len(got) != 1 || got[0] != "1234567890" {
		t.Errorf("the API got bodies %q", got)
	}
}

// rawProxy sends a request line and headers to the proxy and returns its
// answer.
func rawProxy(t *testing.T, p *Proxy, lines ...string) (*http.Response, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatal(err)
	}
	return res, &prefixConn{Conn: c, r: br}
}

func TestBadConnect(t *testing.T) {
	r := newRig(t, nil, 0)
	pu, _ := url.Parse(r.proxy.URL())
	pass, _ := pu.User.Password()
	auth := "Proxy-Authorization: " + basic(pu.User.Username(), pass)
	tests := []struct {
		name  string
		lines []string
		want  int
	}{
		{"no credentials", []string{"CONNECT " + apiHost + ":443 HTTP/1.1", "Host: " + apiHost + ":443"}, 407},
		{"wrong credentials", []string{"CONNECT " + apiHost + ":443 HTTP/1.1", "Host: x", "Proxy-Authorization: " + basic("devicegate", "guess")}, 407},
		{"no port", []string{"CONNECT " + apiHost + " HTTP/1.1", "Host: x", auth}, 400},
		{"port 0", []string{"CONNECT " + apiHost + ":0 HTTP/1.1", "Host: x", auth}, 400},
		{"port too big", []string{"CONNECT " + apiHost + ":65536 HTTP/1.1", "Host: x", auth}, 400},
		{"port with sign", []string{"CONNECT " + apiHost + ":+443 HTTP/1.1", "Host: x", auth}, 400},
		{"empty host", []string{"CONNECT :443 HTTP/1.1", "Host: x", auth}, 400},
		{"unreachable", []string{"CONNECT nowhere.devicegate.test:443 HTTP/1.1", "Host: x", auth}, 502},
		{"origin form", []string{"GET /user HTTP/1.1", "Host: " + apiHost, auth}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := rawProxy(t, r.proxy, tt.lines...)
			if res.StatusCode != tt.want {
				t.Errorf("HTTP %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
	if n := len(r.api.all()); n != 0 {
		t.Errorf("the API got %d requests", n)
	}
}

// TestMisdirected: inside a connection to the API, a request naming
// another host is refused, not sent anywhere.
func TestMisdirected(t *testing.T) {
	r := newRig(t, nil, 0)
	pu, _ := url.Parse(r.proxy.URL())
	pass, _ := pu.User.Password()
	res, c := rawProxy(t, r.proxy, "CONNECT "+apiHost+":443 HTTP/1.1", "Host: "+apiHost+":443", "Proxy-Authorization: "+basic(pu.User.Username(), pass))
	if res.StatusCode != 200 {
		t.Fatalf("CONNECT: %d", res.StatusCode)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(r.proxy.CACertPEM())
	tc := tls.Client(c, &tls.Config{ServerName: apiHost, RootCAs: roots})
	io.WriteString(tc, "GET /user HTTP/1.1\r\nHost: "+otherHost+"\r\nAuthorization: Bearer "+r.placeholder+"\r\n\r\n")
	inner, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if inner.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("HTTP %d, want 421", inner.StatusCode)
	}
	if n := len(r.api.all()) + len(r.other.all()); n != 0 {
		t.Errorf("%d requests went through", n)
	}
}

func TestOriginKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.github.com", "https://api.github.com:443"},
		{"https://API.GitHub.com/", "https://api.github.com:443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://localhost", "http://localhost:80"},
		{"https://[::1]", "https://[::1]:443"},
		{"https://[::1]:8443", "https://[::1]:8443"},
	}
	for _, tt := range tests {
		if got, err := originKey(tt.in); err != nil || got != tt.want {
			t.Errorf("originKey(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"api.github.com", "ftp://x", "https://", "https://a b", "https://x:99999"} {
		if got, err := originKey(bad); err == nil {
			t.Errorf("originKey(%q) = %q, want an error", bad, got)
		}
	}
}

func TestIntercepts(t *testing.T) {
	p := &Proxy{intercept: map[string]bool{}}
	for _, o := range []string{"https://api.github.com", "https://*.googleapis.com", "http://127.0.0.1:8080"} {
		if err := p.addOrigin(o); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		key  string
		want bool
	}{
		{"https://api.github.com:443", true},
		{"https://api.github.com:8443", false},
		{"http://api.github.com:443", false},
		{"https://gmail.googleapis.com:443", true},
		{"https://a.b.googleapis.com:443", true},
		{"https://googleapis.com:443", false},
		{"https://evilgoogleapis.com:443", false},
		{"https://googleapis.com.evil:443", false},
		{"http://127.0.0.1:8080", true},
		{"https://127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		if got := p.intercepts(tt.key); got != tt.want {
			t.Errorf("intercepts(%q) = %v", tt.key, got)
		}
	}
}

func TestStartNeedsConfig(t *testing.T) {
	tok := func(context.Context) (string, error) { return "t", nil }
	if _, err := Start(Config{Token: tok, Judge: JudgeFunc(nil)}); err == nil {
		t.Error("Start without a placeholder succeeded")
	}
	if _, err := Start(Config{Token: tok, Placeholder: "p", Judge: JudgeFunc(nil), Intercept: []string{"nope"}}); err == nil {
		t.Error("Start with a bad origin succeeded")
	}
}

// FuzzSplitAuthority: what the CONNECT parser accepts is a host and a
// port that print back to an authority it parses the same, and never a
// host with characters a URL or a header could misread.
func FuzzSplitAuthority(f *testing.F) {
	for _, s := range []string{"api.github.com:443", "[::1]:8443", "127.0.0.1:80", "a:0", "a:+1", ":443", "a b:1", "x:65536", "API.GitHub.COM:443", "[::1%eth0]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		host, port, err := splitAuthority(a)
		if err != nil {
			return
		}
		if host != strings.ToLower(host) || strings.ContainsAny(host, " /?#@\r\n\x00") && net.ParseIP(host) == nil {
			t.Fatalf("%q: host %q", a, host)
		}
		h2, p2, err := splitAuthority(net.JoinHostPort(host, port))
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("%q -> %q %q does not round-trip: %q %q %v", a, host, port, h2, p2, err)
		}
		if k, err := originKey("https://" + net.JoinHostPort(host, port)); err != nil || k != "https://"+net.JoinHostPort(host, port) {
			t.Fatalf("originKey of %q: %q %v", a, k, err)
		}
	})
}

// upstream is the proxy this process itself must use (a company's): it
// takes CONNECT with its own credentials and keeps the targets.
type upstream struct {
	srv     *httptest.Server
	mu      sync.Mutex
	targets []string
}

func newUpstream(t *testing.T, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Header.Get("Proxy-Authorization") != basic("corp", "s3cret") {
			w.WriteHeader(http.StatusProxyAuthRequired)
			return
		}
		u.mu.Lock()
		u.targets = append(u.targets, r.RequestURI)
		u.mu.Unlock()
		up, err := dial(r.Context(), "tcp", r.RequestURI)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		c, _, _ := w.(http.Hijacker).Hijack()
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
		go func() { io.Copy(up, c); up.Close() }()
		io.Copy(c, up)
		c.Close()
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// TestUpstreamProxy: where this process must go through a proxy of its
// own, tunnels go through it, with its credentials.
func TestUpstreamProxy(t *testing.T) {
	var up *upstream
	r := newRig(t, nil, 0, func(c *Config) {
		c.Upstream = func(*http.Request) (*url.URL, error) {
			return url.Parse("http://corp:s3cret@" + up.srv.Listener.Addr().String())
		}
	})
	up = newUpstream(t, r.dial)
	code, _ := r.do(t, "GET", "https://"+otherHost+"/x", nil, "")
	if code != 200 || len(r.other.all()) != 1 {
		t.Fatalf("tunnel through the upstream proxy: HTTP %d, %d requests", code, len(r.other.all()))
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.targets) != 1 || up.targets[0] != otherHost+":443" {
		t.Errorf("the upstream proxy saw %q", up.targets)
	}
}
