// Package toolproxy is the HTTP proxy that `sidecar run` puts between a
// tool and the network, so that the tool never holds the access token.
//
// The tool gets a placeholder where it expects the token, and HTTPS_PROXY
// pointing here. For the hosts the token is meant for (Config.Intercept)
// the proxy terminates TLS with a certificate from a CA made for this run
// (the tool trusts it through SSL_CERT_FILE and friends; the key never
// leaves this process), asks a Judge whether the request may go on, puts
// the real token where the placeholder is the request's credentials
// (Authorization only: see inject), and forwards it with normal
// certificate verification. A refused request gets
// HTTP 403 and never reaches the API. Every other host is tunnelled
// untouched: the placeholder is worthless there, and the proxy never adds
// the token to it.
//
// A tool that ignores the proxy, or does not trust its CA, fails closed: it
// holds only a placeholder.
//
// The package knows nothing about policy: the Judge is the consumer's.
package toolproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Judge decides whether the tool's request to an intercepted host may go
// on. body is the whole request body (at most Config.MaxBody bytes). r
// still carries the placeholder, never the token. An error refuses the
// request: the tool gets HTTP 403 with the error's text. done, when not
// nil, is called once the API answered, with its HTTP status (0 when none
// came).
type Judge interface {
	Judge(ctx context.Context, r *http.Request, body []byte) (done func(status int), err error)
}

// JudgeFunc adapts a function to Judge.
type JudgeFunc func(ctx context.Context, r *http.Request, body []byte) (func(int), error)

// Judge calls f.
func (f JudgeFunc) Judge(ctx context.Context, r *http.Request, body []byte) (func(int), error) {
	return f(ctx, r, body)
}

// DefaultMaxBody bounds a request body the proxy reads to judge it.
const DefaultMaxBody = 64 << 20

// Config says what the proxy guards.
type Config struct {
	// Token returns the real access token, valid now: a tool may outlive
	// the token it started with, so the proxy asks for every request.
	Token       func(ctx context.Context) (string, error)
	Placeholder string // what the tool holds instead (NewPlaceholder)

	// Intercept lists the origins the token is meant for
	// ("https://api.github.com", "http://127.0.0.1:8080"; a leading "*."
	// stands for any subdomain: "https://*.googleapis.com"): the proxy
	// reads, judges and fills in requests to them. Every other host is
	// tunnelled untouched.
	Intercept []string

	Judge Judge

	// Transport forwards intercepted requests, verifying certificates as
	// usual. nil: a transport of our own that dials with DialContext.
	Transport http.RoundTripper

	// DialContext dials the hosts tunnelled untouched. nil: a net.Dialer.
	// Tests map made-up names to loopback ports with it; nothing in the
	// environment sets it.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Upstream returns the proxy that this process itself must go through
	// to reach a host (http.ProxyFromEnvironment: the sidecar's own
	// HTTPS_PROXY), or nil for none: tunnels and plain http to other
	// hosts then go through it, as the tool's own requests did before the
	// tool was given this proxy instead. nil: always direct.
	Upstream func(*http.Request) (*url.URL, error)

	// MaxBody bounds the request body read for judging; 0 means
	// DefaultMaxBody. A larger body gets HTTP 413 and is not forwarded.
	MaxBody int64

	// Now is the clock for the certificates; nil means time.Now.
	Now func() time.Time
}

// Proxy is a running proxy. Close it when the tool has exited.
type Proxy struct {
	cfg         Config
	ca          *authority
	ln          net.Listener
	srv         *http.Server // the proxy's own port
	inner       *http.Server // requests inside intercepted TLS connections
	innerLn     *connListener
	intercept   map[string]bool // "scheme://host:port", host in lower case
	wild        []string        // "scheme://.suffix:port" of "*." origins
	user        string          // Proxy-Authorization: Basic user:pass
	pass        string
	forward     *httputil.ReverseProxy // intercepted requests, token added
	passthrough *httputil.ReverseProxy // plain http to other hosts, untouched

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // hijacked connections, closed by Close
	closed bool
}

type ctxKey int

const (
	keyDone   ctxKey = iota // func(int): the judge's callback for this request
	keyOrigin               // string: the origin of an intercepted connection
	keyToken                // string: the token for this request
)

// Start listens on a loopback port and serves until Close.
func Start(cfg Config) (*Proxy, error) {
	if cfg.Token == nil || cfg.Placeholder == "" || cfg.Judge == nil {
		return nil, errors.New("toolproxy: Config needs Token, Placeholder and Judge")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DialContext == nil {
		cfg.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	p := &Proxy{cfg: cfg, intercept: map[string]bool{}, conns: map[net.Conn]struct{}{}, user: "devicegate"}
	for _, o := range cfg.Intercept {
		if err := p.addOrigin(o); err != nil {
			return nil, err
		}
	}
	var err error
	if p.ca, err = newAuthority(cfg.Now); err != nil {
		return nil, fmt.Errorf("toolproxy: making the run's CA: %w", err)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	p.pass = hex.EncodeToString(b)
	tr := cfg.Transport
	if tr == nil {
		tr = &http.Transport{DialContext: cfg.DialContext, TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: true, MaxIdleConns: 10, IdleConnTimeout: 90 * time.Second}
	}
	quiet := log.New(io.Discard, "", 0)
	p.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The judge has said yes: only now does the token go in.
			tok, _ := pr.In.Context().Value(keyToken).(string)
			inject(pr.Out.Header, p.cfg.Placeholder, tok)
		},
		Transport:      tr,
		ErrorLog:       quiet,
		ModifyResponse: func(res *http.Response) error { answered(res.Request.Context(), res.StatusCode); return nil },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			answered(r.Context(), 0)
			refuse(w, http.StatusBadGateway, "the proxy could not reach "+r.URL.Host+": "+err.Error())
		},
	}
	p.passthrough = &httputil.ReverseProxy{
		Rewrite:   func(*httputil.ProxyRequest) {},
		Transport: &http.Transport{Proxy: cfg.Upstream, DialContext: cfg.DialContext, MaxIdleConns: 10, IdleConnTimeout: 90 * time.Second},
		ErrorLog:  quiet,
	}
	if p.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("toolproxy: %w", err)
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serveProxy), ReadHeaderTimeout: 30 * time.Second, ErrorLog: quiet}
	p.innerLn = newConnListener(p.ln.Addr())
	p.inner = &http.Server{
		Handler:           http.HandlerFunc(p.serveIntercepted),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          quiet,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if ic, ok := c.(*interceptedConn); ok {
				ctx = context.WithValue(ctx, keyOrigin, ic.origin)
			}
			return ctx
		},
	}
	go func() { _ = p.srv.Serve(p.ln) }()
	go func() { _ = p.inner.Serve(p.innerLn) }()
	return p, nil
}

// URL is the proxy's address for HTTPS_PROXY, with the credentials of
// this run in it: another process on the same host cannot use the proxy
// of a run it did not start.
func (p *Proxy) URL() string {
	return "http://" + p.user + ":" + p.pass + "@" + p.ln.Addr().String()
}

// Addr is the proxy's listening address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// CACertPEM is the certificate of the run's CA, for the tool to trust.
func (p *Proxy) CACertPEM() []byte { return bytes.Clone(p.ca.certPEM) }

// Close stops the proxy and ends every connection through it.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.srv.Close()
	p.inner.Close()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// serveProxy answers what arrives on the proxy's port: CONNECT, or a plain
// http:// request in absolute form (RFC 9112 §3.2.2).
func (p *Proxy) serveProxy(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r.Header.Get("Proxy-Authorization")) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="devicegate"`)
		refuse(w, http.StatusProxyAuthRequired, "this proxy serves the tool of one sidecar run: use the HTTPS_PROXY it was given")
		return
	}
	r.Header.Del("Proxy-Authorization")
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs() && r.URL.Scheme == "http" && r.URL.Host != "":
		key, err := originKey("http://" + r.URL.Host)
		if err != nil {
			refuse(w, http.StatusBadRequest, err.Error())
			return
		}
		if p.intercepts(key) {
			p.judgeAndForward(w, r, &url.URL{Scheme: "http", Host: r.URL.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery})
			return
		}
		p.passthrough.ServeHTTP(w, r)
	default:
		refuse(w, http.StatusBadRequest, "this is a proxy: send CONNECT, or an absolute http:// URL")
	}
}

// addOrigin adds an origin to intercept.
func (p *Proxy) addOrigin(o string) error {
	scheme, rest, _ := strings.Cut(o, "://")
	sub, isWild := strings.CutPrefix(rest, "*.")
	key, err := originKey(scheme + "://" + sub)
	if err != nil {
		return err
	}
	if isWild {
		p.wild = append(p.wild, strings.Replace(key, "://", "://.", 1))
	} else {
		p.intercept[key] = true
	}
	return nil
}

// intercepts reports whether the origin key is one the token is meant for.
func (p *Proxy) intercepts(key string) bool {
	if p.intercept[key] {
		return true
	}
	scheme, rest, _ := strings.Cut(key, "://")
	host, port, _ := net.SplitHostPort(rest)
	for _, w := range p.wild {
		ws, wrest, _ := strings.Cut(w, "://")
		suffix, wport, _ := net.SplitHostPort(wrest)
		if ws == scheme && wport == port && strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
			return true
		}
	}
	return false
}

// authorized checks the run's proxy credentials (RFC 9110 §11.7.2, Basic
// as in RFC 7617).
func (p *Proxy) authorized(h string) bool {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	want := p.user + ":" + p.pass
	return subtle.ConstantTimeCompare(dec, []byte(want)) == 1
}

// connect handles CONNECT host:port (RFC 9110 §9.3.6): intercepted for the
// token's origins, a blind tunnel for everything else.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := splitAuthority(r.RequestURI)
	if err != nil {
		refuse(w, http.StatusBadRequest, "bad CONNECT target: "+err.Error())
		return
	}
	authority := net.JoinHostPort(host, port)
	intercept := p.intercepts("https://" + authority)
	var upstream net.Conn
	if !intercept {
		// Dial before answering 200, so that the tool learns of an
		// unreachable host as it would without a proxy.
		if upstream, err = p.dialTunnel(r.Context(), authority); err != nil {
			refuse(w, http.StatusBadGateway, "cannot reach "+authority)
			return
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		refuse(w, http.StatusInternalServerError, "cannot take over the connection")
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	client := net.Conn(conn)
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the tool sent right after CONNECT, before our answer.
		b, _ := brw.Reader.Peek(n)
		client = &prefixConn{Conn: conn, r: io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)}
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		conn.Close()
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	if !intercept {
		p.tunnel(client, upstream)
		return
	}
	tc := tls.Server(client, &tls.Config{
		MinVersion: tls.VersionTLS12,
		// HTTP/1.1 only: the inner server serves one request at a time per
		// connection, which keeps judging simple; tools fall back to it.
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			// The certificate is for the host the tool asked to CONNECT
			// to, whatever name it sends in SNI.
			return p.ca.leaf(host)
		},
	})
	// The inner server owns the connection from here: its Close ends it.
	if ic := (&interceptedConn{Conn: tc, origin: "https://" + authority}); !p.innerLn.push(ic) {
		ic.Close()
	}
}

// dialTunnel connects to authority for a blind tunnel: directly, or with
// a CONNECT of our own through the upstream proxy (Config.Upstream).
func (p *Proxy) dialTunnel(ctx context.Context, authority string) (net.Conn, error) {
	if p.cfg.Upstream != nil {
		u, err := p.cfg.Upstream(&http.Request{Method: http.MethodConnect, URL: &url.URL{Scheme: "https", Host: authority}, Host: authority})
		if err != nil {
			return nil, err
		}
		if u != nil {
			return p.connectVia(ctx, u, authority)
		}
	}
	return p.cfg.DialContext(ctx, "tcp", authority)
}

// connectVia opens a tunnel to authority through the http:// proxy u
// (RFC 9110 §9.3.6), with u's credentials if it has any.
func (p *Proxy) connectVia(ctx context.Context, u *url.URL, authority string) (net.Conn, error) {
	if u.Scheme != "http" {
		return nil, fmt.Errorf("upstream proxy %s: only http:// proxies are supported", u.Redacted())
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	c, err := p.cfg.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: authority}, Host: authority, Header: http.Header{}}
	if u.User != nil {
		pass, _ := u.User.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)))
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, err
	}
	res, err := http.ReadResponse(br, req)
	if err != nil {
		c.Close()
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("upstream proxy %s: CONNECT %s: %s", u.Redacted(), authority, res.Status)
	}
	_ = c.SetDeadline(time.Time{})
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		return &prefixConn{Conn: c, r: io.MultiReader(bytes.NewReader(bytes.Clone(b)), c)}, nil
	}
	return c, nil
}

// tunnel copies bytes both ways until either side is done.
func (p *Proxy) tunnel(client, upstream net.Conn) {
	if !p.track(client) {
		upstream.Close()
		return
	}
	if !p.track(upstream) {
		client.Close()
		p.untrack(client)
		return
	}
	go func() {
		defer func() {
			client.Close()
			upstream.Close()
			p.untrack(client)
			p.untrack(upstream)
		}()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(upstream, client); done <- struct{}{} }()
		go func() { _, _ = io.Copy(client, upstream); done <- struct{}{} }()
		<-done
	}()
}

// serveIntercepted handles a request inside an intercepted TLS connection.
func (p *Proxy) serveIntercepted(w http.ResponseWriter, r *http.Request) {
	origin, _ := r.Context().Value(keyOrigin).(string)
	key, err := originKey("https://" + r.Host)
	if err != nil || key != origin {
		// The Host header must name the host the tool connected to: the
		// judge and the audit see one host, the API gets that one.
		refuse(w, http.StatusMisdirectedRequest, fmt.Sprintf("the request names host %q inside a connection to %s", r.Host, strings.TrimPrefix(origin, "https://")))
		return
	}
	p.judgeAndForward(w, r, &url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery})
}

// judgeAndForward reads the body, asks the judge, and on yes forwards the
// request to target with the token in place of the placeholder.
func (p *Proxy) judgeAndForward(w http.ResponseWriter, r *http.Request, target *url.URL) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.cfg.MaxBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes, the most this proxy reads to judge a request", p.cfg.MaxBody))
			return
		case err != nil:
			refuse(w, http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		body = b
	}
	out := r.Clone(r.Context())
	out.URL, out.Host, out.RequestURI = target, target.Host, ""
	out.Body, out.ContentLength = http.NoBody, 0
	if len(body) > 0 {
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	out.TransferEncoding = nil
	done, err := p.cfg.Judge.Judge(r.Context(), out, body)
	if err != nil {
		refuse(w, http.StatusForbidden, err.Error())
		return
	}
	if len(body) > 0 {
		out.Body = io.NopCloser(bytes.NewReader(body))
	}
	if done == nil {
		done = func(int) {}
	}
	tok, err := p.cfg.Token(r.Context())
	if err != nil {
		done(0)
		refuse(w, http.StatusBadGateway, "no valid token for the request: "+err.Error())
		return
	}
	var once sync.Once
	cb := func(status int) { once.Do(func() { done(status) }) }
	ctx := context.WithValue(context.WithValue(out.Context(), keyDone, cb), keyToken, tok)
	out = out.WithContext(ctx)
	p.forward.ServeHTTP(w, out)
}

// answered passes the API's status to the judge's callback.
func answered(ctx context.Context, status int) {
	if cb, ok := ctx.Value(keyDone).(func(int)); ok {
		cb(status)
	}
}

// refuse answers with a JSON body whose "message" says why: the shape
// GitHub's API uses, so gh and Octokit print the reason.
func refuse(w http.ResponseWriter, status int, why string) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
		From    string `json:"from"`
	}{why, "devicegate sidecar run proxy"})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// originKey returns "scheme://host:port" for an origin or a scheme and an
// authority, host in lower case and the port spelled out.
func originKey(origin string) (string, error) {
	scheme, authority, ok := strings.Cut(origin, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return "", fmt.Errorf("toolproxy: %q is not an http(s) origin", origin)
	}
	authority = strings.TrimSuffix(authority, "/")
	if _, _, err := net.SplitHostPort(authority); err != nil {
		def := "443"
		if scheme == "http" {
			def = "80"
		}
		h := strings.TrimSuffix(strings.TrimPrefix(authority, "["), "]")
		authority = net.JoinHostPort(h, def)
	}
	host, port, err := splitAuthority(authority)
	if err != nil {
		return "", fmt.Errorf("toolproxy: origin %q: %w", origin, err)
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// splitAuthority parses host:port as CONNECT carries it (RFC 9110 §9.3.6:
// the authority form, RFC 9112 §3.2.3), host in lower case.
func splitAuthority(a string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(a)
	if err != nil {
		return "", "", err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", "", fmt.Errorf("bad port %q", port)
	}
	if host == "" || len(host) > 253 {
		return "", "", errors.New("no host")
	}
	if net.ParseIP(host) == nil {
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
				return "", "", fmt.Errorf("bad host %q", host)
			}
		}
	}
	return strings.ToLower(host), port, nil
}

// interceptedConn is a TLS connection the proxy terminates, with the
// origin the tool asked for.
type interceptedConn struct {
	*tls.Conn
	origin string
}

// prefixConn replays bytes already read from a connection.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// connListener hands intercepted connections to the inner http.Server.
type connListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
