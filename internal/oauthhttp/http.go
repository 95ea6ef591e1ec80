package oauthhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// MaxBody bounds every provider response we read: a broken or hostile
// server must not make us buffer an unbounded body.
const MaxBody = 1 << 20

// Error is an error answered by, or about, the provider: unreachable, an
// HTTP error, a body that is not what the protocol promises. Op says what
// we were doing.
type Error struct {
	Op     string
	Status int    // HTTP status, 0 when no answer arrived
	Code   string // the OAuth error code, when one was given
	Host   string // set when the host could not be reached at all
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether retrying may help: no answer, or a 5xx, or 429.
func (e *Error) Transient() bool {
	return e.Status == 0 && e.Code == "" || e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// GetJSON GETs u with a bearer token (when non-empty) and decodes the JSON
// answer into v, reading at most MaxBody bytes.
func GetJSON(ctx context.Context, c *http.Client, u string, header http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return Unreachable(u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxBody+1))
	if err != nil {
		return &Error{Op: "get", Status: res.StatusCode, Msg: "reading the answer of " + HostOf(u), Err: netCause(err)}
	}
	if len(body) > MaxBody {
		return &Error{Op: "get", Status: res.StatusCode, Msg: fmt.Sprintf("%s answered more than %d bytes", HostOf(u), MaxBody)}
	}
	if res.StatusCode/100 != 2 {
		return &Error{Op: "get", Status: res.StatusCode, Msg: fmt.Sprintf("%s answered HTTP %d%s", HostOf(u), res.StatusCode, Snippet(res.Header, body))}
	}
	if !IsJSON(res.Header) && !json.Valid(body) {
		return &Error{Op: "get", Status: res.StatusCode, Msg: fmt.Sprintf("%s answered %s, not JSON", HostOf(u), mediaType(res.Header))}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Op: "get", Status: res.StatusCode, Msg: "malformed JSON from " + HostOf(u), Err: err}
	}
	return nil
}

// IsJSON reports whether the response says it is JSON.
func IsJSON(h http.Header) bool {
	mt := mediaType(h)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt == "" {
		return "an unknown content type"
	}
	return mt
}

// Snippet summarises an error body for a message: the OAuth error fields
// when the body is JSON, or the content type otherwise. It never echoes an
// HTML page into the terminal.
func Snippet(h http.Header, body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Error != "" && e.Description != "":
			return fmt.Sprintf(": %s: %s", e.Error, Clip(e.Description, 300))
		case e.Error != "":
			return ": " + e.Error
		case e.Message != "":
			return ": " + Clip(e.Message, 300)
		}
	}
	if len(body) == 0 {
		return ""
	}
	return " (" + mediaType(h) + " body)"
}

// Clip shortens s to at most n bytes on a rune boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// HostOf names the host of u for messages ("the provider" if u has none).
func HostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return "the provider"
}

// Unreachable is the error for a request to u that got no answer. It names
// the host once: the *url.Error, *net.OpError and *net.DNSError a failed
// dial is wrapped in would each repeat it ("cannot reach idp:443: Post
// "https://idp/token": dial tcp idp:443: connect: connection refused").
func Unreachable(u string, err error) *Error {
	return &Error{Op: "connect", Host: HostOf(u), Msg: "cannot reach " + HostOf(u), Err: netCause(err)}
}

// netCause strips the layers of a network error that only repeat the URL,
// the address or the host name.
func netCause(err error) error {
	for {
		var (
			ue *url.Error
			oe *net.OpError
			de *net.DNSError
		)
		switch {
		case errors.As(err, &ue) && ue.Err != nil:
			err = ue.Err
		case errors.As(err, &de):
			return errors.New(de.Err)
		case errors.As(err, &oe) && oe.Err != nil:
			err = oe.Err
		default:
			return err
		}
	}
}
