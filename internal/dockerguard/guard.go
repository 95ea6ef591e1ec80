package dockerguard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Guard is an http.Handler that serves the Docker Engine API subset needed
// for "docker exec" into the sidecar and refuses everything else.
type Guard struct {
	cfg    Config
	log    *slog.Logger
	policy execPolicy
	hint   string // "docker exec myapp-sidecar-1 sidecar|tgauth ..."

	upstream *http.Client
	dial     func(ctx context.Context) (net.Conn, error)

	sidecars *sidecarCache
	execs    *execSet
}

const (
	upstreamTimeout  = 60 * time.Second
	maxUpstreamBody  = 8 << 20 // bound for upstream answers the guard parses
	sidecarCacheTTL  = 2 * time.Second
	execIDTTL        = 30 * time.Minute
	maxExecIDs       = 1024
	handshakeTimeout = 30 * time.Second
)

// hint is what the guard says is allowed, in every denial.
func hint(cfg Config) string {
	table, _ := parseCommandTable(cfg.AllowCommands)
	h := fmt.Sprintf("docker exec %s-%s-1 %s", cfg.Project, cfg.Service, table)
	if len(cfg.RunTools) > 0 && table.allows("sidecar", "run") {
		h += fmt.Sprintf(" (sidecar run -- %s ...)", strings.Join(cfg.RunTools, "|"))
	}
	return h
}

// New returns a Guard for cfg. It does not contact the upstream daemon.
func New(cfg Config) (*Guard, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	dial := func(ctx context.Context) (net.Conn, error) {
		return d.DialContext(ctx, "unix", cfg.Upstream)
	}
	g := &Guard{
		cfg:      cfg,
		log:      cfg.Logger,
		policy:   newExecPolicy(cfg),
		hint:     hint(cfg),
		dial:     dial,
		sidecars: &sidecarCache{ttl: sidecarCacheTTL, now: time.Now},
		execs:    newExecSet(maxExecIDs, execIDTTL, time.Now),
	}
	g.upstream = &http.Client{
		Timeout: upstreamTimeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dial(ctx)
			},
			DisableCompression: true,
			MaxIdleConns:       4,
			IdleConnTimeout:    30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return g, nil
}

// denial is a refused request. Its reason is shown to the client and logged,
// so it never contains secrets.
type denial struct {
	status int
	reason string
}

func (d *denial) Error() string { return d.reason }

func denyf(format string, args ...any) error {
	return &denial{status: http.StatusForbidden, reason: fmt.Sprintf(format, args...)}
}

func badRequestf(format string, args ...any) error {
	return &denial{status: http.StatusBadRequest, reason: fmt.Sprintf(format, args...)}
}

func tooLarge(limit int64) error {
	return &denial{
		status: http.StatusRequestEntityTooLarge,
		reason: fmt.Sprintf("request body is larger than %d bytes", limit),
	}
}

// methodOverrideHeaders are honoured by some frameworks; the daemon ignores
// them, but a request carrying one is not from the Docker CLI.
var methodOverrideHeaders = []string{
	"X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
}

// ServeHTTP implements http.Handler.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, err := g.admit(r)
	if err != nil {
		g.deny(w, r, err)
		return
	}
	switch rt.ep {
	case epPing, epVersion:
		g.logAllow(r, rt)
		g.forward(w, r, r.Method, rt.prefix()+rt.ep.path(), "", nil, nil)
	case epContainerList:
		g.containerList(w, r, rt)
	case epContainerInspect:
		g.containerInspect(w, r, rt)
	case epExecCreate:
		g.execCreate(w, r, rt)
	case epExecStart:
		g.execStart(w, r, rt)
	case epExecResize:
		g.execResize(w, r, rt)
	case epExecInspect:
		g.execInspect(w, r, rt)
	default:
		// matchRoute returned an endpoint this switch does not know.
		panic(fmt.Sprintf("dockerguard: unhandled endpoint %d", rt.ep))
	}
}

func (e endpoint) path() string {
	switch e {
	case epPing:
		return "/_ping"
	case epVersion:
		return "/version"
	}
	return ""
}

// admit applies the checks that do not depend on the endpoint.
func (g *Guard) admit(r *http.Request) (route, error) {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		return route{}, denyf("protocol %s is not allowed (HTTP/1.1 only)", r.Proto)
	}
	for _, h := range methodOverrideHeaders {
		if _, ok := r.Header[h]; ok {
			return route{}, denyf("method override header %s", h)
		}
	}
	rt, err := matchRoute(r.Method, r.RequestURI)
	if err != nil {
		return rt, err
	}
	switch rt.ep {
	case epExecCreate, epExecStart:
		// These read a body.
	default:
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			return route{}, denyf("unexpected request body for %s", rt.ep)
		}
	}
	return rt, nil
}

// deny answers like the daemon does, with a JSON message the CLI prints.
func (g *Guard) deny(w http.ResponseWriter, r *http.Request, err error) {
	d := new(denial)
	if !errors.As(err, &d) {
		d = &denial{status: http.StatusBadGateway, reason: err.Error()}
	}
	level := slog.LevelWarn
	if d.status >= 500 {
		level = slog.LevelError
	}
	g.log.LogAttrs(r.Context(), level, "docker api request denied",
		append(requestAttrs(r), slog.Int("status", d.status), slog.String("reason", d.reason))...)
	msg := fmt.Sprintf("devicegate guard: %s; allowed: %s", d.reason, g.hint)
	if d.status >= 500 {
		msg = fmt.Sprintf("devicegate guard: %s", d.reason)
	}
	writeJSONError(w, d.status, msg)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func (g *Guard) logAllow(r *http.Request, rt route, attrs ...slog.Attr) {
	attrs = append(requestAttrs(r), append([]slog.Attr{slog.String("endpoint", rt.ep.String())}, attrs...)...)
	g.log.LogAttrs(r.Context(), slog.LevelInfo, "docker api request allowed", attrs...)
}

// requestAttrs describes a request for the log. The query is left out: on
// refused endpoints it can carry secrets (build args, registry auth). The
// path is client controlled, so it is truncated; slog handlers quote it.
func requestAttrs(r *http.Request) []slog.Attr {
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if len(path) > 200 {
		path = path[:200] + "..."
	}
	attrs := []slog.Attr{
		slog.String("method", sanitizeMethod(r.Method)),
		slog.String("path", path),
	}
	if p, ok := peerFromContext(r.Context()); ok {
		attrs = append(attrs, slog.Int("peer_uid", int(p.uid)), slog.Int("peer_pid", int(p.pid)))
	}
	return attrs
}

// forward sends a request upstream and copies the answer back. transform,
// if set, rewrites a 200 answer's body.
func (g *Guard) forward(w http.ResponseWriter, r *http.Request, method, path, query string, body []byte, transform func([]byte) ([]byte, error)) {
	resp, err := g.roundTrip(r.Context(), method, path, query, body, r.Header)
	if err != nil {
		g.upstreamFailed(w, r, err)
		return
	}
	defer resp.Body.Close()
	if transform == nil || resp.StatusCode != http.StatusOK {
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	b, err := readLimited(resp.Body)
	if err == nil {
		b, err = transform(b)
	}
	if err != nil {
		g.upstreamFailed(w, r, err)
		return
	}
	copyHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(b)
}

func (g *Guard) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	// The request URL (http://docker/...) is a placeholder for the
	// socket: keep it out of what the client reads.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	g.deny(w, r, &denial{status: http.StatusBadGateway, reason: "docker daemon: " + err.Error()})
}

// roundTrip sends one request upstream. Only headers that matter to the
// daemon are passed on.
func (g *Guard) roundTrip(ctx context.Context, method, path, query string, body []byte, hdr http.Header) (*http.Response, error) {
	u := "http://docker" + path
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"Content-Type", "User-Agent"} {
		if v := hdr.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	return g.upstream.Do(req)
}

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxUpstreamBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxUpstreamBody {
		return nil, errors.New("answer too large")
	}
	return b, nil
}

// hopHeaders are not copied from upstream answers.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding",
	"Upgrade", "Trailer", "Te", "Content-Length",
}

func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if contains(hopHeaders, k) {
			continue
		}
		dst[k] = append([]string(nil), vv...)
	}
}
