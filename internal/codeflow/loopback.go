package codeflow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Listen binds the loopback redirect address (RFC 8252 §7.3) for the
// browser on this machine: the port it names, or any free one when it
// names none (or 0). It returns the redirect URI with the port bound.
func Listen(redirect string) (net.Listener, string, error) {
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme != "http" {
		return nil, "", fmt.Errorf("codeflow: %q is not a loopback http:// redirect address", redirect)
	}
	host := u.Hostname()
	bind := host
	if host == "localhost" {
		// Bind the IPv4 loopback: that is where browsers try localhost
		// first, and a name would need a resolver here.
		bind = "127.0.0.1"
	}
	ip := net.ParseIP(bind)
	if ip == nil || !ip.IsLoopback() {
		return nil, "", fmt.Errorf("codeflow: %s is not a loopback address", host)
	}
	port := u.Port()
	if port == "" {
		port = "0"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, port))
	if err != nil {
		return nil, "", fmt.Errorf("codeflow: listening on the redirect address: %w", err)
	}
	u.Host = net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	return ln, u.String(), nil
}

// WithPort returns the redirect address with a port: itself when it has
// one or is not loopback http (an https:// address of the owner's), else
// with a port that was free a moment ago. Nobody need listen there: the
// person's browser (on a phone) cannot reach it anyway and shows the
// address to copy.
func WithPort(redirect string) (string, error) {
	u, err := url.Parse(redirect)
	if err != nil {
		return "", fmt.Errorf("codeflow: invalid redirect address: %w", err)
	}
	if u.Port() != "" || u.Scheme != "http" {
		return redirect, nil
	}
	ln, full, err := Listen(redirect)
	if err != nil {
		return "", err
	}
	ln.Close()
	return full, nil
}

// ServeRedirects answers the browser's redirect on ln: a request at the
// redirect path becomes a Paste of its full address, the same as one the
// person pasted, and the page says to go back to where the sign-in
// started. It returns when ctx ends.
func ServeRedirects(ctx context.Context, ln net.Listener, redirect string, pastes chan<- Paste) error {
	want, err := url.Parse(redirect)
	if err != nil {
		return err
	}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got := *r.URL
			got.Scheme, got.Host = want.Scheme, want.Host
			if !sameEndpoint(&got, redirect) || r.Method != http.MethodGet {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			// The address holds a one-time code: nothing of it goes
			// into the page. What became of it, the terminal says.
			select {
			case pastes <- Paste{Text: got.String()}:
				fmt.Fprintf(w, page, "Sign-in received", "You can close this tab and go back to the terminal.")
			case <-r.Context().Done():
			}
		}),
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

const page = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>devicegate</title></head>
<body><h1>%s</h1><p>%s</p></body></html>
`
