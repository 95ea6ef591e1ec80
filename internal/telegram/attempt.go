package telegram

import (
	"context"
	"io"
	"net/http"
)

// attempt is the HTTP client the library uses for one try of one call. It
// gives the request the call's context (the library has no context
// support), remembers the HTTP status (the library ignores it) and network
// failures, redacts the token from them, and limits the answer's size.
// Every attempt has its own, so concurrent calls share nothing mutable.
type attempt struct {
	ctx context.Context
	hc  *http.Client
	red redactor

	status int   // HTTP status of the answer, 0 if none
	netErr error // transport or body-read failure, redacted
}

func (a *attempt) Do(req *http.Request) (*http.Response, error) {
	resp, err := a.hc.Do(req.WithContext(a.ctx))
	if err != nil {
		a.netErr = a.red.error(err)
		return nil, a.netErr
	}
	a.status = resp.StatusCode
	resp.Body = &body{r: io.LimitReader(resp.Body, maxResponse), c: resp.Body, a: a}
	return resp, nil
}

// body records read failures: a connection dropped in the middle of an
// answer is a network failure, not a malformed answer.
type body struct {
	r io.Reader
	c io.Closer
	a *attempt
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.a.netErr = b.a.red.error(err)
	}
	return n, err
}

func (b *body) Close() error { return b.c.Close() }
