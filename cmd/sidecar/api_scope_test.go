package main

import (
	"testing"
)

// A URL-shaped scope names the resource its token is for: only then may
// the token go to that origin, and never anywhere else.
func TestAPIURLResourceOrigins(t *testing.T) {
	graph := "https://graph.microsoft.com/v1.0"
	for _, tc := range []struct {
		name, arg string
		scopes    []string
		ok        bool
	}{
		{"path on the API", "/me", nil, true},
		{"other host refused", "https://management.azure.com/subscriptions", nil, false},
		{"resource of the scope", "https://management.azure.com/subscriptions?api-version=2022-12-01", []string{"https://management.azure.com/.default"}, true},
		{"not the resource of the scope", "https://evil.example/x", []string{"https://management.azure.com/.default"}, false},
		{"http scope does not count", "http://management.azure.com/x", []string{"http://management.azure.com/.default"}, false},
		{"plain scope names no origin", "https://api:read/x", []string{"api:read"}, false},
		{"userinfo in scope ignored", "https://management.azure.com/x", []string{"https://u@management.azure.com/.default"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apiURL(graph, tc.arg, "ms", "OAUTH_MS_API_URL", resourceOrigins(tc.scopes)...)
			if (err == nil) != tc.ok {
				t.Fatalf("apiURL(%q) with scopes %q: %v", tc.arg, tc.scopes, err)
			}
		})
	}
}
