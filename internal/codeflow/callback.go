package codeflow

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
)

// CallbackHandler finishes sign-ins with no paste where the owner runs a
// public https redirect address of their own (OAUTH_REDIRECT_URL=https://…
// behind their reverse proxy or tunnel, which forwards to serve's
// SIDECAR_CALLBACK_LISTEN): the browser's GET at the path of one of
// redirects becomes a paste of that redirect address with the request's
// query, routed by its state like one pasted into the chat. The address
// is rebuilt from the configured redirect, not from the request's Host,
// which a proxy may rewrite.
func CallbackHandler(redirects []string, r *Router) http.Handler {
	byPath := map[string]string{}
	for _, raw := range redirects {
		if u, err := url.Parse(raw); err == nil {
			p := u.Path
			if p == "" {
				p = "/"
			}
			byPath[p] = raw
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		base, ok := byPath[req.URL.Path]
		if !ok || req.Method != http.MethodGet {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		// Deliver answers at once when no sign-in waits for this state;
		// what a waiting one makes of it, the chat says.
		refused := make(chan error, 1)
		r.Deliver(Paste{Text: base + "?" + req.URL.RawQuery, Reply: func(err error) {
			select {
			case refused <- err:
			default:
			}
		}})
		select {
		case err := <-refused:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, page, "This did not finish a sign-in", html.EscapeString(err.Error()))
			return
		default:
		}
		fmt.Fprintf(w, page, "Sign-in received", "You can close this page: the gatekeeper chat shows the result.")
	})
}
