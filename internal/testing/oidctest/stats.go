package oidctest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Stats counts the requests the provider received since it started or since [Server.ResetStats].
// The provider counts them as they arrive, before it handles them, so rejected requests count too.
type Stats struct {
	DeviceAuthorizations int            `json:"device_authorizations"`   // POST to the device authorization endpoint
	TokenRequestsByGrant map[string]int `json:"token_requests_by_grant"` // token requests by grant_type, e.g. GrantTypeDeviceCode
	RefreshRequests      int            `json:"refresh_requests"`        // token requests with grant_type refresh_token
	Revocations          int            `json:"revocations"`             // POST to the revocation endpoint
	UserinfoRequests     int            `json:"userinfo_requests"`       // requests to the userinfo endpoint
	Introspections       int            `json:"introspections"`          // POST to the introspection endpoint

	// Answers, from any endpoint, whose JSON body has this error code.
	InvalidGrantResponses int `json:"invalid_grant_responses"`
	SlowDownResponses     int `json:"slow_down_responses"`

	// TokenErrorsByCode counts the token endpoint's error answers by code (authorization_pending,
	// slow_down, access_denied, expired_token, invalid_grant, invalid_client, ...).
	TokenErrorsByCode map[string]int `json:"token_errors_by_code"`
}

// Stats returns the provider's request counters.
func (s *Server) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	if err := s.getJSON(ctx, s.Issuer+"/__test/stats", &st); err != nil {
		return Stats{}, fmt.Errorf("oidctest: stats: %w", err)
	}
	return st, nil
}

// ResetStats sets the provider's request counters to zero.
func (s *Server) ResetStats(ctx context.Context) error {
	return s.post(ctx, "/__test/reset", "reset stats")
}

// SetDeviceCodeTTL sets the lifetime of the device codes issued from now
// on, e.g. a short one to see the first code expire and a long one for the
// fresh code a test then approves on a busy machine.
func (s *Server) SetDeviceCodeTTL(ctx context.Context, d time.Duration) error {
	return s.post(ctx, fmt.Sprintf("/__test/device-code-ttl?seconds=%d", int(d.Seconds())), "device code TTL")
}

// post sends a test-only POST that answers 204.
func (s *Server) post(ctx context.Context, path, what string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Issuer+path, nil)
	if err != nil {
		return fmt.Errorf("oidctest: %s: %w", what, err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("oidctest: %s: %w", what, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("oidctest: %s: %s", what, resp.Status)
	}
	return nil
}
