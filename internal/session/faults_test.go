package session_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/deviceflow"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// fault is what the proxy does to one request instead of (or after)
// forwarding it to the real provider.
type fault string

const (
	reset     fault = "connection reset"
	unavail   fault = "503"
	hang      fault = "response never finishes"
	truncated fault = "truncated JSON"
	htmlPage  fault = "HTML error page"
	huge      fault = "10 MB body"
)

var allFaults = []fault{reset, unavail, hang, truncated, htmlPage, huge}

// faultProxy sits between the client and the real oidc-provider and spoils
// the next n requests that match.
type faultProxy struct {
	*httptest.Server
	mu      sync.Mutex
	match   func(r *http.Request, form url.Values) bool
	f       fault
	n       int
	spoiled int
}

func newFaultProxy(t *testing.T, issuer string) *faultProxy {
	target, _ := url.Parse(issuer)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &faultProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		p.mu.Lock()
		spoil := p.n > 0 && p.match != nil && p.match(r, form)
		f := p.f
		if spoil {
			p.n--
			p.spoiled++
		}
		p.mu.Unlock()
		if !spoil {
			rp.ServeHTTP(w, r)
			return
		}
		switch f {
		case reset:
			c, _, _ := w.(http.Hijacker).Hijack()
			c.(interface{ SetLinger(int) error }).SetLinger(0)
			c.Close()
		case unavail:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
			io.WriteString(w, "<html><body>Service Unavailable</body></html>")
		case hang:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			io.WriteString(w, `{"access_token":`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case truncated:
			// The provider did answer (and may have acted on it); the
			// client gets half of its answer.
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
		case htmlPage:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<!doctype html><title>502 Bad Gateway</title><h1>Bad Gateway</h1>")
		case huge:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"` + strings.Repeat("A", 10<<20) + `"}`))
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *faultProxy) spoil(f fault, n int, match func(*http.Request, url.Values) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.f, p.n, p.match, p.spoiled = f, n, match, 0
}

func grant(g string) func(*http.Request, url.Values) bool {
	return func(r *http.Request, f url.Values) bool { return r.URL.Path == "/token" && f.Get("grant_type") == g }
}
func path(p string) func(*http.Request, url.Values) bool {
	return func(r *http.Request, _ url.Values) bool { return r.URL.Path == p }
}

// faultSession talks to the provider through the proxy for every endpoint.
func faultSession(t *testing.T, srv *oidctest.Server, p *faultProxy) *session.Session {
	hc := &http.Client{Timeout: 2 * time.Second}
	pr, err := provider.New(&config.Profile{Name: "default", Provider: "oidc", Issuer: srv.Issuer, ClientID: srv.PublicClientID, Scopes: scopes,
		DeviceAuthURL: p.URL + "/device/auth", TokenURL: p.URL + "/token", UserinfoURL: p.URL + "/me", RevokeURL: p.URL + "/token/revocation"}, hc)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := tokencache.Open(t.TempDir(), nil)
	return &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: hc}
}

func TestProviderFaults(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	ctx := context.Background()
	for _, f := range allFaults {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			p := newFaultProxy(t, srv.Issuer)
			s := faultSession(t, srv, p)
			approve := func(c deviceflow.Code) error { return srv.Approve(ctx, c.UserCode, oidctest.ApproveOptions{}) }

			// Device authorization: a clear provider error, exit 6.
			p.spoil(f, 1, path("/device/auth"))
			opts, _ := person(t, srv, approve)
			_, err := s.Login(ctx, opts)
			if cli.Code(err) != exitcode.Provider || err == nil || strings.Contains(err.Error(), "<") {
				t.Fatalf("device authorization: %v (exit %d)", err, cli.Code(err))
			}

			// Polling survives transient faults; the sign-in completes.
			// (A truncated answer to the final poll cannot be recovered:
			// the provider has already issued, and forgotten, the code.)
			if f != truncated {
				p.spoil(f, 2, grant("urn:ietf:params:oauth:grant-type:device_code"))
			}
			opts, _ = person(t, srv, approve)
			e, err := s.Login(ctx, opts)
			if err != nil {
				t.Fatalf("polling through %s: %v", f, err)
			}
			if f != truncated && p.spoiled != 2 {
				t.Fatalf("%d polls spoiled, want 2", p.spoiled)
			}

			// Refresh: exit 6, a clear message, nothing in the cache lost.
			before, _ := s.Store.Load("default")
			p.spoil(f, 1, grant("refresh_token"))
			_, err = s.Token(ctx, 2*time.Hour) // wants a refresh
			var stale *session.StaleError
			if !errors.As(err, &stale) || cli.Code(err) != exitcode.Provider {
				t.Fatalf("refresh through %s: %v (exit %d)", f, err, cli.Code(err))
			}
			after, lerr := s.Store.Load("default")
			if lerr != nil || after.RefreshToken != before.RefreshToken || after.AccessToken != e.AccessToken {
				t.Fatalf("the cache changed after a failed refresh: %v", lerr)
			}
			_, err = s.Token(ctx, 2*time.Hour)
			if f == truncated {
				// The provider rotated the refresh token and the answer was
				// lost: the old one is spent. The person is asked to sign
				// in again, with exit 4, not a confusing provider error.
				if cli.Code(err) != exitcode.SignInRequired {
					t.Fatalf("after a lost rotation: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refresh after the fault: %v", err)
			}

			// Revocation: exit 6 and the cache is kept; --force forgets.
			p.spoil(f, 1, path("/token/revocation"))
			if _, err := s.Logout(ctx, false); cli.Code(err) != exitcode.Provider {
				t.Fatalf("logout through %s: %v", f, err)
			}
			if _, err := s.Store.Load("default"); err != nil {
				t.Fatal("a failed logout deleted the cache")
			}
			p.spoil(f, 1, path("/token/revocation"))
			if res, err := s.Logout(ctx, true); err != nil || res != session.Forgotten {
				t.Fatalf("logout --force: %v %v", res, err)
			}
		})
	}
}

func TestUserinfoFaultsDoNotUndoASignIn(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	for _, f := range []fault{reset, unavail, hang, htmlPage, huge} {
		p := newFaultProxy(t, srv.Issuer)
		s := faultSession(t, srv, p)
		p.spoil(f, 1, path("/me"))
		opts, _ := person(t, srv, approve(srv, oidctest.ApproveOptions{}))
		e, err := s.Login(context.Background(), opts)
		if err != nil || e.AccessToken == "" || e.Account.Subject != "alice" {
			t.Fatalf("%s: %v %+v", f, err, e)
		}
		if p.spoiled != 1 {
			t.Fatalf("%s: userinfo not asked", f)
		}
	}
}
