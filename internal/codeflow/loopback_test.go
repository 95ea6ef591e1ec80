package codeflow

import (
	"context"
	"io"
	"net/http"
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
