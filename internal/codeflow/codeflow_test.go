package codeflow

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/devicegate/devicegate/internal/oauthhttp"
)

const redirect = "http://127.0.0.1:49152/callback"

// tokenServer is a token endpoint that records the exchange and answers
// with answer (called with the form it got).
type tokenServer struct {
	*httptest.Server
	mu   sync.Mutex
	form url.Values
}

func newTokenServer(t *testing.T, answer func(w http.ResponseWriter, form url.Values)) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		ts.mu.Lock()
		ts.form = r.PostForm
		ts.mu.Unlock()
		answer(w, r.PostForm)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func idToken(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(b) + ".sig"
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newFlow(t *testing.T, tokenURL string, scopes ...string) (*Flow, *clock) {
	c := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	f := &Flow{
		Config: &oauth2.Config{
			ClientID: "client-1", Scopes: scopes,
			Endpoint: oauth2.Endpoint{AuthURL: "https://idp.example/authorize", TokenURL: tokenURL},
		},
		HTTP:        http.DefaultClient,
		RedirectURI: redirect,
		AuthParams:  url.Values{"access_type": {"offline"}, "prompt": {"consent"}},
	}
	f.SetClock(c.now)
	return f, c
}

func TestStartBuildsThePKCERequest(t *testing.T) {
	f, c := newFlow(t, "https://idp.example/token", "openid", "email")
	a, err := f.Start()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"response_type": "code", "client_id": "client-1", "redirect_uri": redirect,
		"code_challenge_method": "S256", "code_challenge": Challenge(a.verifier),
		"scope": "openid email", "access_type": "offline", "prompt": "consent",
		"state": a.State, "nonce": a.nonce,
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// RFC 7636 §4.1: 43 to 128 characters; ours are 256 bits.
	if len(a.verifier) != 43 || len(a.State) < 22 || len(a.nonce) < 22 {
		t.Errorf("verifier %d, state %d, nonce %d characters: want 256-bit values", len(a.verifier), len(a.State), len(a.nonce))
	}
	if strings.Contains(a.URL, a.verifier) {
		t.Error("the link carries the verifier")
	}
	if want := c.t.Add(DefaultLifetime); !a.ExpiresAt.Equal(want) {
		t.Errorf("expires at %v, want %v", a.ExpiresAt, want)
	}
	b, _ := f.Start()
	if b.State == a.State || b.verifier == a.verifier {
		t.Error("two attempts share a state or verifier")
	}
}

func TestStartWithoutOpenIDSendsNoNonce(t *testing.T) {
	f, _ := newFlow(t, "https://idp.example/token", "repo")
	a, err := f.Start()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.URL, "nonce=") || a.nonce != "" {
		t.Errorf("nonce sent without openid: %s", a.URL)
	}
}

func TestStartFailsWithoutRandomness(t *testing.T) {
	f, _ := newFlow(t, "https://idp.example/token")
	f.rand = bytes.NewReader(nil)
	if _, err := f.Start(); err == nil {
		t.Fatal("Start with no random bytes succeeded")
	}
}

func addr(state string, kv ...string) string {
	q := url.Values{"state": {state}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return redirect + "?" + q.Encode()
}

func TestFinish(t *testing.T) {
	okJSON := func(idt string) func(http.ResponseWriter, url.Values) {
		return func(w http.ResponseWriter, _ url.Values) {
			w.Header().Set("Content-Type", "application/json")
			m := map[string]any{"access_token": "at-1", "token_type": "Bearer", "refresh_token": "rt-1", "expires_in": 3600, "scope": "openid email"}
			if idt != "" {
				m["id_token"] = idt
			}
			json.NewEncoder(w).Encode(m)
		}
	}
	tests := []struct {
		name    string
		answer  func(http.ResponseWriter, url.Values)
		paste   func(a *Attempt) string
		advance time.Duration
		secret  string
		wantErr error
		reason  string // of a *PasteError
		code    string // of an *oauthhttp.Error
	}{
		{name: "signed in", answer: okJSON(""), paste: func(a *Attempt) string { return addr(a.State, "code", "c-1") }},
		{name: "extra text around", answer: okJSON(""),
			paste: func(a *Attempt) string { return "here you go: <" + addr(a.State, "code", "c-1") + "> thanks!" }},
		{name: "nonce matches", answer: nil, paste: func(a *Attempt) string { return addr(a.State, "code", "c-1") }},
		{name: "nonce of another request", answer: okJSON(idToken(map[string]any{"sub": "alice", "nonce": "someone-else"})),
			paste: func(a *Attempt) string { return addr(a.State, "code", "c-1") }, wantErr: ErrNonce},
		{name: "access denied", paste: func(a *Attempt) string { return addr(a.State, "error", "access_denied") }, wantErr: ErrDeclined},
		{name: "other provider error", paste: func(a *Attempt) string { return addr(a.State, "error", "invalid_scope") }, code: "invalid_scope"},
		{name: "wrong state", paste: func(a *Attempt) string { return addr("not-the-state", "code", "c-1") }, reason: ReasonState},
		{name: "wrong redirect path", paste: func(a *Attempt) string {
			return strings.Replace(addr(a.State, "code", "c-1"), "/callback", "/other", 1)
		}, reason: ReasonRedirect},
		{name: "malformed", paste: func(*Attempt) string { return "I allowed it" }, reason: ReasonMalformed},
		{name: "expired", advance: DefaultLifetime, paste: func(a *Attempt) string { return addr(a.State, "code", "c-1") }, wantErr: ErrExpired},
		{name: "github form-encoded", secret: "gh-secret", answer: func(w http.ResponseWriter, f url.Values) {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			w.Write([]byte("access_token=gho_1&scope=repo%2Cread%3Aorg&token_type=bearer"))
		}, paste: func(a *Attempt) string { return addr(a.State, "code", "c-1") }},
		{name: "github error with 200", secret: "gh-secret", answer: func(w http.ResponseWriter, f url.Values) {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			w.Write([]byte("error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired."))
		}, paste: func(a *Attempt) string { return addr(a.State, "code", "c-1") }, code: "bad_verification_code"},
		{name: "html instead of json", answer: func(w http.ResponseWriter, f url.Values) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			w.Write([]byte("<html>bad gateway</html>"))
		}, paste: func(a *Attempt) string { return addr(a.State, "code", "c-1") }, code: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a *Attempt
			answer := tt.answer
			if tt.name == "nonce matches" {
				answer = func(w http.ResponseWriter, f url.Values) {
					okJSON(idToken(map[string]any{"sub": "alice", "nonce": a.nonce}))(w, f)
				}
			}
			if answer == nil {
				answer = func(w http.ResponseWriter, _ url.Values) { t.Error("the token endpoint was called") }
			}
			ts := newTokenServer(t, answer)
			f, c := newFlow(t, ts.URL, "openid", "email")
			f.Config.ClientSecret = tt.secret
			var err error
			if a, err = f.Start(); err != nil {
				t.Fatal(err)
			}
			c.t = c.t.Add(tt.advance)
			tok, err := a.Finish(context.Background(), tt.paste(a))
			var pe *PasteError
			var oe *oauthhttp.Error
			switch {
			case tt.reason != "":
				if !errors.As(err, &pe) || pe.Reason != tt.reason || !errors.Is(err, ErrPaste) {
					t.Fatalf("err = %v, want a paste error %q", err, tt.reason)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case tt.name == "html instead of json" || tt.code != "":
				if !errors.As(err, &oe) || oe.Code != tt.code {
					t.Fatalf("err = %v, want an oauthhttp.Error with code %q", err, tt.code)
				}
				if strings.Contains(err.Error(), "c-1") {
					t.Errorf("the error repeats the code: %v", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if tok.AccessToken == "" {
				t.Fatal("no access token")
			}
			ts.mu.Lock()
			form := ts.form
			ts.mu.Unlock()
			for k, want := range map[string]string{
				"grant_type": "authorization_code", "code": "c-1", "redirect_uri": redirect,
				"client_id": "client-1", "code_verifier": a.verifier, "client_secret": tt.secret,
			} {
				if got := form.Get(k); got != want {
					t.Errorf("exchange %s = %q, want %q", k, got, want)
				}
			}
			// Used once: the same address again does not count.
			_, err = a.Finish(context.Background(), tt.paste(a))
			if !errors.As(err, &pe) || pe.Reason != ReasonReused {
				t.Errorf("second paste: %v, want reused", err)
			}
		})
	}
}

func TestParseRedirect(t *testing.T) {
	tests := []struct {
		in               string
		state, code, err string
		bad              bool
	}{
		{in: "http://127.0.0.1:1/callback?code=abc&state=xyz", state: "xyz", code: "abc"},
		{in: "  HTTP://127.0.0.1:1/callback?state=xyz&code=a%2Fb\n", state: "xyz", code: "a/b"},
		{in: "done: \"http://localhost:8/?code=c&state=s\", ok", state: "s", code: "c"},
		{in: "see http://example.com first, then http://127.0.0.1:1/cb?code=c&state=s", state: "s", code: "c"},
		{in: "http://127.0.0.1:1/cb?error=access_denied&state=s", state: "s", err: "access_denied"},
		{in: "http://127.0.0.1:1/cb?code=c", bad: true},
		{in: "http://127.0.0.1:1/cb?state=s", bad: true},
		{in: "code=c&state=s", bad: true},
		{in: "", bad: true},
		{in: "http://%zz/?code=c&state=s", bad: true},
		{in: strings.Repeat("a", MaxPaste+1), bad: true},
	}
	for _, tt := range tests {
		r, err := ParseRedirect(tt.in)
		if tt.bad {
			var pe *PasteError
			if !errors.As(err, &pe) || pe.Reason != ReasonMalformed {
				t.Errorf("ParseRedirect(%.40q) = %v, %v; want malformed", tt.in, r, err)
			}
			continue
		}
		if err != nil || r.State != tt.state || r.Code != tt.code || r.Error != tt.err {
			t.Errorf("ParseRedirect(%q) = %+v, %v", tt.in, r, err)
		}
	}
}

func TestRouter(t *testing.T) {
	var rt Router
	pastes, cancel := rt.Register("s1")
	var got []string
	say := func(err error) { got = append(got, err.(*PasteError).Reason) }

	rt.Deliver(Paste{Text: "hello", Reply: say})
	rt.Deliver(Paste{Text: addr("other", "code", "c"), Reply: say})
	rt.Deliver(Paste{Text: addr("s1", "code", "c"), Reply: say})
	if p := <-pastes; !strings.Contains(p.Text, "state=s1") {
		t.Fatalf("delivered %q", p.Text)
	}
	cancel()
	rt.Deliver(Paste{Text: addr("s1", "code", "c"), Reply: say})
	want := []string{ReasonMalformed, ReasonState, ReasonReused}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("replies %v, want %v", got, want)
	}
	if rt.Waiting() {
		t.Error("still waiting after cancel")
	}
}

func TestWaitRepliesAndGoesOn(t *testing.T) {
	ts := newTokenServer(t, func(w http.ResponseWriter, _ url.Values) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"at","token_type":"Bearer"}`))
	})
	f, _ := newFlow(t, ts.URL)
	a, _ := f.Start()
	ch := make(chan Paste, 3)
	var replies []error
	ch <- Paste{Text: "nonsense", Reply: func(err error) { replies = append(replies, err) }}
	ch <- Paste{Text: addr("wrong", "code", "c"), Reply: func(err error) { replies = append(replies, err) }}
	ch <- Paste{Text: addr(a.State, "code", "c")}
	tok, err := a.Wait(context.Background(), ch)
	if err != nil || tok.AccessToken != "at" {
		t.Fatalf("Wait = %v, %v", tok, err)
	}
	if len(replies) != 2 {
		t.Errorf("replies %v, want two", replies)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	f, _ := newFlow(t, "https://idp.example/token")
	a, _ := f.Start()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Wait(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
}

func FuzzParseRedirect(f *testing.F) {
	f.Add("http://127.0.0.1:1/callback?code=abc&state=xyz")
	f.Add("ok <https://x.example/cb?error=access_denied&state=s>")
	f.Add("http://[::1]:9/?state=%zz&code=1")
	f.Add("HTTPS://A/?state=s&code=c http://b/?state=t&code=d")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRedirect(s)
		if err != nil {
			var pe *PasteError
			if !errors.As(err, &pe) || pe.Reason != ReasonMalformed {
				t.Fatalf("error %v is not a malformed paste", err)
			}
			return
		}
		if r.State == "" || (r.Code == "" && r.Error == "") || r.URL == nil || r.URL.Host == "" {
			t.Fatalf("ParseRedirect(%q) = %+v", s, r)
		}
		if r.URL.RawQuery != "" {
			t.Fatalf("the URL keeps its query")
		}
		if StateOf(s) != r.State {
			t.Fatal("StateOf disagrees")
		}
	})
}
