//go:build dockere2e

package docker

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// httpRequest formats a request with a Content-Length body, the way the
// Docker CLI sends it. Extra headers are "Name: value" lines.
func httpRequest(method, target, body string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: devicegate-e2e\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" || method == http.MethodPost || method == http.MethodPut {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// chunkedRequest formats a POST whose body is sent chunked.
func chunkedRequest(target, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
		target, len(body), body)
}

// roundTrip sends raw, byte for byte, on a fresh connection to the unix
// socket sock, so that request targets arrive exactly as written, and reads
// one answer. The request is written while the answer is read: a server may
// refuse an oversized body before reading it.
func roundTrip(sock, raw string) (status int, body string, err error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() { _, _ = io.WriteString(c, raw) }()
	method, _, _ := strings.Cut(raw, " ")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return 0, "", fmt.Errorf("reading the answer: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, string(b), fmt.Errorf("reading the answer body: %w", err)
	}
	return resp.StatusCode, string(b), nil
}
