package codeflow

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWithPort(t *testing.T) {
	for _, tt := range []struct{ in, prefix, suffix string }{
		{"http://127.0.0.1/callback", "http://127.0.0.1:", "/callback"},
		{"http://localhost", "http://localhost:", ""},
		{"http://[::1]/cb", "http://[::1]:", "/cb"},
		{"http://127.0.0.1:8400/callback", "http://127.0.0.1:8400/callback", ""},
		{"https://auth.example.org/cb", "https://auth.example.org/cb", ""},
	} {
		got, err := WithPort(tt.in)
		if err != nil || !strings.HasPrefix(got, tt.prefix) || !strings.HasSuffix(got, tt.suffix) || got == tt.prefix+tt.suffix && tt.suffix != "" {
			t.Errorf("WithPort(%q) = %q, %v", tt.in, got, err)
		}
	}
	if _, _, err := Listen("http://192.0.2.1/callback"); err == nil {
		t.Error("Listen on a non-loopback address")
	}
}

// The browser's redirect to the listener becomes a paste of the whole
// address; other paths are not found; the page repeats nothing of it.
func TestServeRedirects(t *testing.T) {
	ln, redirect, err := Listen("http://127.0.0.1/callback")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pastes := make(chan Paste, 1)
	go ServeRedirects(ctx, ln, redirect, pastes)
	if res, err := http.Get(strings.Replace(redirect, "/callback", "/other", 1) + "?code=c&state=s"); err != nil || res.StatusCode != 404 {
		t.Fatalf("other path: %v %v", res, err)
	}
	res, err := http.Get(redirect + "?code=secret-code&state=s")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	p := <-pastes
	if p.Text != redirect+"?code=secret-code&state=s" || strings.Contains(string(page), "secret-code") {
		t.Fatalf("paste %q, page %s", p.Text, page)
	}
}

// The public callback: a redirect at the configured path reaches the
// sign-in waiting for its state, rebuilt on the configured address; an
// unknown state is refused at once; other paths are not found.
func TestCallbackHandler(t *testing.T) {
	var rt Router
	pastes, cancel := rt.Register("s1")
	defer cancel()
	h := CallbackHandler([]string{"https://auth.example.org/devicegate/cb"}, &rt)
	do := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		return w
	}
	if w := do("http://127.0.0.1:8400/devicegate/cb?code=c1&state=s1"); w.Code != 200 || strings.Contains(w.Body.String(), "c1") {
		t.Fatalf("delivered: %d %s", w.Code, w.Body)
	}
	if p := <-pastes; p.Text != "https://auth.example.org/devicegate/cb?code=c1&state=s1" {
		t.Fatalf("paste %q", p.Text)
	}
	if w := do("/devicegate/cb?code=c2&state=other"); w.Code != 400 || !strings.Contains(w.Body.String(), "not from a sign-in under way") {
		t.Fatalf("unknown state: %d %s", w.Code, w.Body)
	}
	if w := do("/elsewhere?code=c2&state=s1"); w.Code != 404 {
		t.Fatalf("other path: %d", w.Code)
	}
}
