package deviceflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/oauthhttp"
)

// fakeProvider scripts a provider's token endpoint answers, to cover the
// documented quirks of GitHub and Microsoft that the real test provider
// (oidc-provider) does not show.
type fakeProvider struct {
	mu       sync.Mutex
	device   func(w http.ResponseWriter, n int)
	answers  []func(w http.ResponseWriter) // token endpoint, in order; the last repeats
	polls    int
	devices  int
	lastForm map[string]string
}

func (f *fakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.lastForm = map[string]string{}
	for k := range r.PostForm {
		f.lastForm[k] = r.PostForm.Get(k)
	}
	switch r.URL.Path {
	case "/device":
		f.devices++
		if f.device != nil {
			f.device(w, f.devices)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"device_code":"DEVICE-%d","user_code":"USER-%d","verification_uri":"https://example.com/device","expires_in":600,"interval":5}`, f.devices, f.devices)
	case "/token":
		i := min(f.polls, len(f.answers)-1)
		f.polls++
		f.answers[i](w)
	default:
		http.NotFound(w, r)
	}
}

func jsonAnswer(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func formAnswer(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func drop(w http.ResponseWriter) {
	conn, _, _ := w.(http.Hijacker).Hijack()
	conn.Close()
}

const okToken = `{"access_token":"AT","token_type":"Bearer","refresh_token":"RT","expires_in":3600,"scope":"openid email"}`

// clock is a fake clock: after() records every wait and advances time.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) after(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- c.t
	return ch
}

func newFlow(t *testing.T, fp *fakeProvider) (*Flow, *clock, *[]Code) {
	t.Helper()
	srv := httptest.NewServer(fp)
	t.Cleanup(srv.Close)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	var codes []Code
	f := &Flow{
		Config: &oauth2.Config{
			ClientID: "client",
			Scopes:   []string{"openid", "email"},
			Endpoint: oauth2.Endpoint{DeviceAuthURL: srv.URL + "/device", TokenURL: srv.URL + "/token"},
		},
		HTTP:     srv.Client(),
		Restarts: 2,
		Display:  func(_ context.Context, c Code) error { codes = append(codes, c); return nil },
		now:      clk.now,
		after:    clk.after,
	}
	return f, clk, &codes
}

func TestRunOutcomes(t *testing.T) {
	pending := jsonAnswer(400, `{"error":"authorization_pending"}`)
	tests := []struct {
		name      string
		answers   []func(http.ResponseWriter)
		wantErr   error  // errors.Is target
		wantCode  string // provider error code
		wantWaits []time.Duration
	}{
		{
			name:      "pending then token",
			answers:   []func(http.ResponseWriter){pending, pending, jsonAnswer(200, okToken)},
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name: "slow_down adds 5s for good",
			answers: []func(http.ResponseWriter){pending, jsonAnswer(400, `{"error":"slow_down"}`), pending,
				jsonAnswer(400, `{"error":"slow_down"}`), jsonAnswer(200, okToken)},
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second, 15 * time.Second},
		},
		{
			// GitHub: errors with HTTP 200, form-encoded unless asked for
			// JSON, and slow_down carries the new interval to adopt.
			name: "github slow_down with interval, form encoded",
			answers: []func(http.ResponseWriter){
				formAnswer(200, "error=slow_down&error_description=too+fast&interval=20"),
				formAnswer(200, "error=authorization_pending"),
				formAnswer(200, "access_token=gho_x&token_type=bearer&scope=repo%2Cread%3Aorg"),
			},
			wantWaits: []time.Duration{5 * time.Second, 20 * time.Second, 20 * time.Second},
		},
		{
			name:     "github errors with HTTP 200 JSON",
			answers:  []func(http.ResponseWriter){jsonAnswer(200, `{"error":"device_flow_disabled","error_description":"Device Flow must be explicitly enabled for this App"}`)},
			wantCode: "device_flow_disabled",
		},
		{
			name:    "microsoft authorization_declined",
			answers: []func(http.ResponseWriter){pending, jsonAnswer(400, `{"error":"authorization_declined","error_description":"AADSTS70000: declined"}`)},
			wantErr: ErrDeclined,
		},
		{
			name:    "access_denied",
			answers: []func(http.ResponseWriter){jsonAnswer(400, `{"error":"access_denied"}`)},
			wantErr: ErrDeclined,
		},
		{
			// Entra's Conditional Access blocking the device code flow
			// is not the person's no: a provider error, not declined.
			name:     "microsoft conditional access",
			answers:  []func(http.ResponseWriter){jsonAnswer(400, `{"error":"access_denied","error_description":"AADSTS53003: Access has been blocked by Conditional Access policies."}`)},
			wantCode: "access_denied",
		},
		{
			// Auth0: authorization_pending arrives as 403, slow_down as 429.
			name:      "auth0 status codes",
			answers:   []func(http.ResponseWriter){jsonAnswer(403, `{"error":"authorization_pending"}`), jsonAnswer(429, `{"error":"slow_down"}`), jsonAnswer(200, okToken)},
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second},
		},
		{
			name:     "microsoft bad_verification_code",
			answers:  []func(http.ResponseWriter){jsonAnswer(400, `{"error":"bad_verification_code"}`)},
			wantCode: "bad_verification_code",
		},
		{
			name:     "invalid_client",
			answers:  []func(http.ResponseWriter){jsonAnswer(401, `{"error":"invalid_client"}`)},
			wantCode: "invalid_client",
		},
		{
			// A network error or 5xx while polling is retried with backoff.
			name: "transient failures are retried with backoff",
			answers: []func(http.ResponseWriter){
				drop,
				jsonAnswer(503, `<html>down</html>`),
				func(w http.ResponseWriter) {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(502)
					fmt.Fprint(w, "<html>bad gateway</html>")
				},
				jsonAnswer(200, okToken),
			},
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second},
		},
		{
			name: "HTML with 200 is a provider error, not a crash",
			answers: []func(http.ResponseWriter){func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprint(w, "<html>login</html>")
			}},
			wantCode: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := &fakeProvider{answers: tt.answers}
			f, clk, codes := newFlow(t, fp)
			tok, err := f.Run(context.Background())
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case tt.wantCode != "" || strings.HasPrefix(tt.name, "HTML"):
				var pe *oauthhttp.Error
				if !errors.As(err, &pe) || pe.Code != tt.wantCode {
					t.Fatalf("err = %#v, want provider error %q", err, tt.wantCode)
				}
				if strings.Contains(err.Error(), "DEVICE-") {
					t.Fatalf("error shows the device code: %v", err)
				}
				return
			case err != nil:
				t.Fatalf("Run: %v", err)
			}
			if tok.AccessToken == "" {
				t.Fatal("no access token")
			}
			if fmt.Sprint(clk.waits) != fmt.Sprint(tt.wantWaits) {
				t.Errorf("waits = %v, want %v", clk.waits, tt.wantWaits)
			}
			if len(*codes) != 1 || (*codes)[0].UserCode != "USER-1" {
				t.Errorf("codes shown = %+v", *codes)
			}
			if fp.lastForm["grant_type"] != grantType || fp.lastForm["device_code"] != "DEVICE-1" || fp.lastForm["client_id"] != "client" {
				t.Errorf("token request = %v", fp.lastForm)
			}
		})
	}
}

func TestExpiryOnOurClockRestartsWithFreshCode(t *testing.T) {
	// The server keeps saying authorization_pending after expires_in: our
	// clock decides the code is spent, and a fresh one is shown.
	fp := &fakeProvider{
		device: func(w http.ResponseWriter, n int) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"device_code":"D%d","user_code":"U%d","verification_url":"https://example.com/g","expires_in":12,"interval":5}`, n, n)
		},
		answers: []func(http.ResponseWriter){jsonAnswer(400, `{"error":"authorization_pending"}`)},
	}
	f, _, codes := newFlow(t, fp)
	f.Restarts = 2
	_, err := f.Run(context.Background())
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("err = %v, want ErrExpired", err)
	}
	if len(*codes) != 3 {
		t.Fatalf("showed %d codes, want 3 (first + 2 restarts)", len(*codes))
	}
	for i, c := range *codes {
		if c.Attempt != i || c.UserCode != fmt.Sprintf("U%d", i+1) || c.MaxAttempts != 2 {
			t.Errorf("code %d = %+v", i, c)
		}
		// Google says verification_url; x/oauth2's decoder maps it.
		if c.VerificationURI != "https://example.com/g" {
			t.Errorf("verification uri = %q", c.VerificationURI)
		}
	}
	// 12 s at 5 s intervals: polls at 5 and 10, then a wait of 2 to expiry.
	if fp.polls != 6 {
		t.Errorf("polls = %d, want 6 (2 per code)", fp.polls)
	}
}

func TestExpiredTokenRestarts(t *testing.T) {
	fp := &fakeProvider{answers: []func(http.ResponseWriter){
		jsonAnswer(400, `{"error":"expired_token"}`),
		jsonAnswer(200, okToken),
	}}
	f, _, codes := newFlow(t, fp)
	if _, err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(*codes) != 2 || (*codes)[1].Attempt != 1 {
		t.Fatalf("codes = %+v", *codes)
	}
}

func TestNoRestarts(t *testing.T) {
	fp := &fakeProvider{answers: []func(http.ResponseWriter){jsonAnswer(400, `{"error":"expired_token"}`)}}
	f, _, codes := newFlow(t, fp)
	f.Restarts = 0
	if _, err := f.Run(context.Background()); !errors.Is(err, ErrExpired) {
		t.Fatalf("err = %v", err)
	}
	if len(*codes) != 1 {
		t.Fatalf("codes = %d", len(*codes))
	}
}

func TestDeviceAuthorizationErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, n int)
		want   string
	}{
		{"html page", func(w http.ResponseWriter, _ int) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>hello</html>")
		}, "not a device authorization response (text/html)"},
		{"oauth error", func(w http.ResponseWriter, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_scope","error_description":"bad scope"}`)
		}, "invalid_scope: bad scope"},
		{"missing fields", func(w http.ResponseWriter, _ int) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"device_code":"x"}`)
		}, "lacks device_code, user_code or verification_uri"},
		{"huge body", func(w http.ResponseWriter, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"device_code":"`))
			w.Write([]byte(strings.Repeat("a", 10<<20)))
		}, "answered more than"},
		{"500", func(w http.ResponseWriter, _ int) { w.WriteHeader(500) }, "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := &fakeProvider{device: tt.answer, answers: []func(http.ResponseWriter){jsonAnswer(200, okToken)}}
			f, _, codes := newFlow(t, fp)
			_, err := f.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			var pe *oauthhttp.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err is not a *oauthhttp.Error: %T", err)
			}
			if len(*codes) != 0 {
				t.Fatal("showed a code")
			}
		})
	}
}

func TestDisplayErrorStops(t *testing.T) {
	fp := &fakeProvider{answers: []func(http.ResponseWriter){jsonAnswer(200, okToken)}}
	f, _, _ := newFlow(t, fp)
	boom := errors.New("telegram down")
	f.Display = func(context.Context, Code) error { return boom }
	if _, err := f.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if fp.polls != 0 {
		t.Fatal("polled after the display failed")
	}
}

func TestCancel(t *testing.T) {
	fp := &fakeProvider{answers: []func(http.ResponseWriter){jsonAnswer(400, `{"error":"authorization_pending"}`)}}
	f, _, _ := newFlow(t, fp)
	ctx, cancel := context.WithCancel(context.Background())
	f.after = func(time.Duration) <-chan time.Time { cancel(); return make(chan time.Time) }
	if _, err := f.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestTokenKeepsExtras(t *testing.T) {
	tr, err := oauthhttp.ParseTokenResponse(http.Header{"Content-Type": {"application/json"}},
		[]byte(`{"access_token":"a","token_type":"Bearer","expires_in":"60","scope":"x y","id_token":"h.p.s"}`))
	if err != nil {
		t.Fatal(err)
	}
	tok := Token(tr)
	if tok.Extra("scope") != "x y" || tok.Extra("id_token") != "h.p.s" || tok.Expiry.IsZero() {
		t.Fatalf("token = %+v extras scope=%v", tok, tok.Extra("scope"))
	}
}

func FuzzParseDeviceAuth(f *testing.F) {
	f.Add([]byte(`{"device_code":"d","user_code":"U","verification_uri":"https://x","expires_in":600,"interval":5}`))
	f.Add([]byte(`{"device_code":"d","user_code":"U","verification_url":"https://x","expires_in":"600"}`))
	f.Add([]byte(`{"device_code":"d","user_code":"U","verification_uri":"https://x","interval":-5,"expires_in":1e300}`))
	f.Add([]byte(`<html>`))
	start := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		da, err := parseDeviceAuth(&oauthhttp.Response{Status: 200, Header: http.Header{}, Body: body}, start)
		if err != nil {
			return
		}
		if da.DeviceCode == "" || da.UserCode == "" || da.Interval < 0 || (!da.Expiry.IsZero() && da.Expiry.Before(start)) {
			t.Fatalf("accepted a bad response: %+v", da)
		}
	})
}
