package dockerguard

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// streamLinger is how long a stream waits for the client to close after the
// daemon has ended the exec. The daemon closes the whole connection at that
// point, so anything the client still sends is lost anyway; the limit only
// frees a client that keeps an idle connection open.
const streamLinger = 30 * time.Second

// execStart handles POST /exec/{id}/start. Without Detach the daemon hijacks
// the connection: it answers "101 UPGRADED" when the client asked for an
// upgrade (or "200 OK" with no length, for old clients) and then carries the
// exec's stdin one way and its output the other. The guard does the same on
// both of its connections and copies raw bytes, so TTY and multiplexed
// streams pass unchanged, and half-closes travel through.
func (g *Guard) execStart(w http.ResponseWriter, r *http.Request, rt route) {
	body, err := readBody(w, r, g.cfg.MaxBodyBytes)
	if err != nil {
		g.deny(w, r, err)
		return
	}
	opts, err := decodeExecStart(body)
	if err != nil {
		g.deny(w, r, err)
		return
	}
	if err := g.ownExec(rt); err != nil {
		g.deny(w, r, err)
		return
	}
	_, upgrade := r.Header["Upgrade"]
	g.logAllow(r, rt, slog.Bool("detach", opts.Detach), slog.Bool("upgrade", upgrade))

	ctx := r.Context()
	up, err := g.dial(ctx)
	if err != nil {
		g.upstreamFailed(w, r, err)
		return
	}
	// Until the answer's head is read, the client going away or a stuck
	// daemon ends the attempt.
	_ = up.SetDeadline(time.Now().Add(handshakeTimeout))
	stop := context.AfterFunc(ctx, func() { up.Close() })
	req, _ := http.NewRequest(http.MethodPost, "http://docker"+rt.prefix()+"/exec/"+rt.arg+"/start", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if ua := r.Header.Get("User-Agent"); ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	if upgrade {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "tcp")
	}
	upr := bufio.NewReader(up)
	var resp *http.Response
	err = req.Write(up)
	if err == nil {
		resp, err = http.ReadResponse(upr, req)
	}
	if !stop() || err != nil {
		up.Close()
		if err == nil {
			err = ctx.Err()
		}
		g.upstreamFailed(w, r, err)
		return
	}
	_ = up.SetDeadline(time.Time{})

	if !isStream(resp) {
		// Detached start, or an error such as 409 "container not running".
		defer up.Close()
		defer resp.Body.Close()
		copyHeader(w.Header(), resp.Header)
		if resp.ContentLength >= 0 {
			w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}

	client, clientBuf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		g.upstreamFailed(w, r, fmt.Errorf("cannot hijack the client connection: %w", err))
		return
	}
	_ = client.SetDeadline(time.Time{})
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := client.Write(head.Bytes()); err != nil {
		client.Close()
		up.Close()
		return
	}
	start := time.Now()
	in, out := g.pipe(serveContext(ctx), client, clientBuf.Reader, up, upr)
	g.log.LogAttrs(ctx, slog.LevelDebug, "exec stream closed",
		slog.String("exec", rt.arg[:12]), slog.Int64("stdin_bytes", in),
		slog.Int64("output_bytes", out), slog.Duration("duration", time.Since(start)))
	g.execs.use(rt.arg) // keep the ID alive for the inspect that follows
}

// isStream reports whether the daemon hijacked the connection: "101
// UPGRADED", or the pre-upgrade "200 OK" that has neither a length nor
// chunking and so runs until the connection closes.
func isStream(resp *http.Response) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return true
	}
	return resp.StatusCode == http.StatusOK && resp.ContentLength < 0 && len(resp.TransferEncoding) == 0
}

type closeWriter interface{ CloseWrite() error }

func closeWrite(c net.Conn) {
	if cw, ok := c.(closeWriter); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// pipe copies client→up and up→client until both directions end. EOF in one
// direction becomes CloseWrite on the other connection, which is how the
// Docker CLI signals the end of stdin and the daemon the end of output. Both
// connections are closed when serveCtx is cancelled.
func (g *Guard) pipe(serveCtx context.Context, client net.Conn, clientBuf *bufio.Reader, up net.Conn, upBuf *bufio.Reader) (in, out int64) {
	closeBoth := func() { client.Close(); up.Close() }
	defer closeBoth()
	if serveCtx != nil {
		defer context.AfterFunc(serveCtx, closeBoth)()
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// Bytes the client sent right after the request head may already
		// sit in the server's buffer.
		if n := clientBuf.Buffered(); n > 0 {
			b, _ := clientBuf.Peek(n)
			m, err := up.Write(b)
			in += int64(m)
			if err != nil {
				closeWrite(up)
				return
			}
		}
		n, _ := io.Copy(up, client)
		in += n
		closeWrite(up)
	}()
	go func() {
		defer wg.Done()
		n, _ := io.Copy(client, upBuf) // drains bytes read with the answer head first
		out = n
		closeWrite(client)
		_ = client.SetReadDeadline(time.Now().Add(streamLinger))
	}()
	wg.Wait()
	return in, out
}
