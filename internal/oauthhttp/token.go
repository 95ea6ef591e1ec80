// Package oauthhttp is the OAuth 2.0 wire: form POSTs and JSON GETs
// through a size limit, token endpoint answers (RFC 6749 §5.1, §5.2) in
// JSON or GitHub's form encoding, and one error type for everything a
// provider answers or fails to answer.
//
// It exists so that the RFC 8628 client (deviceflow), the provider presets
// (provider) and the session can share one careful HTTP layer without the
// device flow depending on environment configuration: it imports nothing
// of devicegate's.
package oauthhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Response is a provider's answer to a form POST, read through MaxBody.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// PostForm POSTs an application/x-www-form-urlencoded body and asks for
// JSON (GitHub answers form-encoded otherwise). Only transport failures and
// over-long bodies are errors; the caller interprets the status and body.
func PostForm(ctx context.Context, c *http.Client, u string, v url.Values) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, fmt.Errorf("bad endpoint URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return nil, Unreachable(u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxBody+1))
	if err != nil {
		return nil, &Error{Op: "post", Msg: "reading the answer of " + HostOf(u), Err: netCause(err)}
	}
	if len(body) > MaxBody {
		return nil, &Error{Op: "post", Status: res.StatusCode, Msg: fmt.Sprintf("%s answered more than %d bytes", HostOf(u), MaxBody)}
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body}, nil
}

// TokenResponse is a token endpoint answer (RFC 6749 §5.1 and §5.2), from
// JSON or from GitHub's form encoding.
type TokenResponse struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	ExpiresIn    int64
	Scope        string
	IDToken      string
	// RefreshTokenExpiresIn is GitHub's lifetime of an expiring refresh token.
	RefreshTokenExpiresIn int64
	// Interval is sent with slow_down by GitHub (seconds).
	Interval int64

	Error            string
	ErrorDescription string
	// Raw holds every field, for oauth2.Token.WithExtra.
	Raw map[string]any
}

// ParseTokenResponse decodes a token endpoint body. It fails when the body
// is neither a JSON object nor a form-encoded answer carrying OAuth fields
// (an HTML error page, a truncated body).
func ParseTokenResponse(h http.Header, body []byte) (*TokenResponse, error) {
	raw := map[string]any{}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch {
	case mt == "application/x-www-form-urlencoded" || mt == "text/plain":
		vals, err := url.ParseQuery(string(body))
		if err != nil || (vals.Get("access_token") == "" && vals.Get("error") == "") {
			return nil, fmt.Errorf("the answer is not a token response (%s)", mt)
		}
		for k := range vals {
			raw[k] = vals.Get(k)
		}
	default:
		if err := json.Unmarshal(body, &raw); err != nil {
			what := mt
			if what == "" {
				what = "no content type"
			}
			return nil, fmt.Errorf("the answer is not JSON (%s)", what)
		}
	}
	t := &TokenResponse{
		AccessToken:           str(raw["access_token"]),
		TokenType:             str(raw["token_type"]),
		RefreshToken:          str(raw["refresh_token"]),
		ExpiresIn:             num(raw["expires_in"]),
		Scope:                 str(raw["scope"]),
		IDToken:               str(raw["id_token"]),
		RefreshTokenExpiresIn: num(raw["refresh_token_expires_in"]),
		Interval:              num(raw["interval"]),
		Error:                 str(raw["error"]),
		ErrorDescription:      str(raw["error_description"]),
		Raw:                   raw,
	}
	return t, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// num reads a JSON number or a numeric string (some providers quote
// expires_in, and form-encoded answers are all strings).
func num(v any) int64 {
	switch n := v.(type) {
	case float64:
		if n > 0 && n < 1e12 {
			return int64(n)
		}
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if err == nil && i > 0 && i < 1e12 {
			return i
		}
	case json.Number:
		i, err := n.Int64()
		if err == nil && i > 0 && i < 1e12 {
			return i
		}
	}
	return 0
}
