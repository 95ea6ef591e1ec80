package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/preset"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
	"github.com/devicegate/devicegate/internal/toolproxy"
)

// runHooks are what tests replace in `sidecar run`; production passes the
// zero value. Nothing in the environment sets them.
type runHooks struct {
	// dial replaces how the tool's proxy reaches hosts: tests map made-up,
	// non-loopback names (which Go tools do send through a proxy) to
	// loopback ports.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// toolProxy is the proxy of one run (internal/toolproxy) and the files
// the tool trusts its CA through.
type toolProxy struct {
	proxy *toolproxy.Proxy
	dir   string
	judge *toolJudge
}

// startToolProxy starts the proxy that stands between the tool and the
// token, and returns the variables that send the tool through it: the
// placeholder where the token would be (toolEnv), HTTPS_PROXY and the
// trust variables. Stop it once the tool has exited.
func startToolProxy(ctx context.Context, s *session.Session, tok func(context.Context) (string, error), extra, scopes []string, program string, hooks runHooks, stderr io.Writer) (*toolProxy, []string, error) {
	ep, err := s.Provider.Endpoints(ctx)
	if err != nil {
		return nil, nil, err
	}
	origins := tokenOrigins(s.Provider.Kind, ep.APIURL, scopes)
	if len(origins) == 0 {
		fmt.Fprintf(stderr, "%s: warning: profile %s has no API URL (%s): %s gets a placeholder that works nowhere; set it, or allow run %s with-token in the policy\n",
			prog.Name, s.Profile, s.Provider.Var("API_URL"), program, program)
	}
	placeholder := toolproxy.NewPlaceholder()
	j := &toolJudge{g: gateFor(s, ep.APIURL), via: "run " + program, stderr: stderr}
	cfg := toolproxy.Config{
		Token:       tok,
		Placeholder: placeholder,
		Intercept:   origins,
		Judge:       j,
		DialContext: hooks.dial,
	}
	// Forward with the sidecar's own transport: its timeouts, its proxy
	// settings, normal certificate verification. Tunnels to other hosts go
	// through the sidecar's own proxy too, if it has one, as the tool's
	// requests did with the environment it inherited.
	if t, ok := s.HTTP.Transport.(*http.Transport); ok {
		t = t.Clone()
		if hooks.dial != nil {
			t.DialContext = hooks.dial
		}
		cfg.Transport, cfg.Upstream = t, t.Proxy
	}
	px, err := toolproxy.Start(cfg)
	if err != nil {
		return nil, nil, err
	}
	tp := &toolProxy{proxy: px, judge: j}
	fail := func(err error) (*toolProxy, []string, error) {
		tp.stop()
		return nil, nil, err
	}
	roots, err := toolproxy.SystemRoots(os.Getenv)
	if err != nil {
		return fail(err)
	}
	// A directory of its own, which the tool can read (Landlock hides only
	// the data directory and our secret files): certificates only.
	if tp.dir, err = os.MkdirTemp("", "devicegate-run-"); err != nil {
		return fail(fmt.Errorf("making the run's trust directory: %w", err))
	}
	trust, err := px.WriteTrust(tp.dir, roots)
	if err != nil {
		return fail(err)
	}
	vars, err := toolEnv(ctx, s, placeholder, extra)
	if err != nil {
		return fail(err)
	}
	return tp, append(vars, px.Env(trust)...), nil
}

// stop ends the proxy and removes the trust files.
func (tp *toolProxy) stop() {
	tp.proxy.Close()
	if tp.dir != "" {
		os.RemoveAll(tp.dir)
	}
}

// proxyEnv drops what would steer the tool around the proxy, or make it
// trust other roots than the run's bundle, from the environment it
// inherits.
func proxyEnv(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.ContainsFunc(toolproxy.EnvNames, func(n string) bool { return strings.EqualFold(n, name) })
	})
}

// toolJudge judges each request the tool makes to the API through the
// proxy exactly as `sidecar api` is judged: the one gate, with the tool
// named (Via), the audit line written once the API answered.
type toolJudge struct {
	g      *gate.Gate
	via    string
	stderr io.Writer

	mu      sync.Mutex
	refusal error // the first refusal, for the exit code
}

// Judge implements toolproxy.Judge.
func (j *toolJudge) Judge(ctx context.Context, r *http.Request, body []byte) (func(int), error) {
	h := r.Header.Clone()
	h.Del("Authorization") // the placeholder: nothing to show
	if len(body) == 0 {
		body = nil
	}
	pass, err := j.g.Check(ctx, gate.Action{Kind: gate.API, Via: j.via, Method: r.Method, URL: r.URL.String(), Header: h, Body: body})
	if err != nil {
		j.mu.Lock()
		if j.refusal == nil {
			j.refusal = err
		}
		j.mu.Unlock()
		return nil, err
	}
	return func(status int) {
		pass.Event.Status = status
		if status == 0 {
			pass.Event.Detail = "unreachable"
		}
		record(pass, j.stderr)
	}, nil
}

// refused returns the first request the gate refused, or nil.
func (j *toolJudge) refused() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.refusal
}

// runToken hands the proxy a token valid for minTTL for every request,
// refreshing it (validToken) when it runs short: a tool may outlive the
// token it started with.
type runToken struct {
	get func(ctx context.Context) (*tokencache.ScopedToken, error)
	now func() time.Time
	ttl time.Duration

	mu  sync.Mutex
	t   *tokencache.ScopedToken
	got time.Time // when t came (for the one run started with: first use)
}

func (rt *runToken) token(ctx context.Context) (string, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.t != nil && rt.got.IsZero() {
		rt.got = rt.now()
	}
	if rt.t == nil || rt.short() {
		t, err := rt.get(ctx)
		if err != nil {
			return "", err
		}
		if t == nil {
			return "", errors.New("no token")
		}
		rt.t, rt.got = t, rt.now()
	}
	return rt.t.AccessToken, nil
}

// short reports whether t is too near its expiry to hand out: within ttl,
// or, for a token that never had ttl to live (tokens of an hour, --min-ttl
// 2h), within half the life it had when it came. A refresh could not give
// such a token ttl either: asking on every request would only rotate the
// refresh token each time.
func (rt *runToken) short() bool {
	if rt.t.Expiry.IsZero() {
		return false
	}
	margin := min(rt.ttl, rt.t.Expiry.Sub(rt.got)/2)
	return !rt.now().Add(margin).Before(rt.t.Expiry)
}

// tokenOrigins are the origins the profile's token is meant for, where
// the proxy puts it in place of the placeholder: the API's, the hosts the
// preset's tools send the same token to (preset.TokenHosts), and those
// --scope names (resourceOrigins).
func tokenOrigins(kind, apiURL string, scopes []string) []string {
	var out []string
	if o := origin(apiURL); o != "" {
		out = append(out, o)
	}
	if ps := preset.Lookup(kind); ps != nil && ps.TokenHosts != nil {
		out = append(out, ps.TokenHosts(apiURL)...)
	}
	for _, o := range resourceOrigins(scopes) {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// origin is scheme://host of a URL, or "".
func origin(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" || strings.ContainsAny(host, "@?#") {
		return ""
	}
	return scheme + "://" + host
}
