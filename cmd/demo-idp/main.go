// Command demo-idp is the demo's OpenID provider: internal/demoidp (built on
// ZITADEL's OpenID provider library) with one public device client and one
// account, everything in memory. It is for trying devicegate without an
// account anywhere; it is not an identity provider to use for real.
//
//	demo-idp            serve (the container's entry point)
//	demo-idp health     exit 0 if the provider on DEMO_IDP_LISTEN answers
//
// Environment:
//
//	DEMO_IDP_ISSUER            the URL browsers and clients use (default http://localhost:9000)
//	DEMO_IDP_LISTEN            address to listen on (default :9000)
//	DEMO_IDP_CLIENT_ID         the client id (default devicegate-demo)
//	DEMO_IDP_ACCESS_TOKEN_TTL  access token lifetime (default 1h)
//	DEMO_IDP_DEVICE_CODE_TTL   device code lifetime (default 10m)
//	DEMO_IDP_POLL_INTERVAL     device flow polling interval (default 5s)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/devicegate/devicegate/internal/demoidp"
)

const prog = "demo-idp"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", prog, err)
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintf(os.Stderr, "%s: hint: usage: %s [serve|health]\n", prog, prog)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if len(args) > 1 {
		return usageError{fmt.Errorf("unexpected argument %q", args[1])}
	}
	listen := or(getenv("DEMO_IDP_LISTEN"), ":9000")
	switch cmd {
	case "serve":
		return serve(ctx, listen, getenv, stderr)
	case "health":
		return health(ctx, listen)
	default:
		return usageError{fmt.Errorf("unknown command %q", cmd)}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func duration(getenv func(string) string, name string) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("%s=%q: want a duration of at least 1s, such as 5m", name, v)
	}
	return d, nil
}

func serve(ctx context.Context, listen string, getenv func(string) string, stderr io.Writer) error {
	o := demoidp.Options{
		Issuer:       or(getenv("DEMO_IDP_ISSUER"), "http://localhost:9000"),
		ClientID:     getenv("DEMO_IDP_CLIENT_ID"),
		ShowPassword: true,
	}
	var err error
	if o.AccessTokenTTL, err = duration(getenv, "DEMO_IDP_ACCESS_TOKEN_TTL"); err != nil {
		return err
	}
	if o.DeviceCodeTTL, err = duration(getenv, "DEMO_IDP_DEVICE_CODE_TTL"); err != nil {
		return err
	}
	if o.PollInterval, err = duration(getenv, "DEMO_IDP_POLL_INTERVAL"); err != nil {
		return err
	}
	p, err := demoidp.New(o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	// The library logs protocol errors through slog's default logger;
	// they carry no tokens (those are never part of an error here).
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	o = p.Options()
	fmt.Fprintf(stderr, "%s: issuer %s, client %s, account %s / %s (demo only)\n", prog, o.Issuer, o.ClientID, o.User.Login, o.User.Password)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// health asks the provider's readiness endpoint on the loopback interface:
// the image has no shell and no curl.
func health(ctx context.Context, listen string) error {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("DEMO_IDP_LISTEN=%q: %w", listen, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port)+"/ready", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s", resp.Status)
	}
	return nil
}
