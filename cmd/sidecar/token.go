package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const tokenUsage = `usage: sidecar token [--profile P] [--min-ttl D] [--json]

Prints a valid access token, refreshing it first when it expires within
--min-ttl (default 60s).`

// openDetached opens a profile's session whose refreshes run in a
// detached process (see refresh.go): for token, run and api.
func openDetached(profile string) (*session.Session, error) {
	s, err := open(profile)
	if err != nil {
		return nil, err
	}
	s.Detach = detach(s.Profile)
	return s, nil
}

// open loads the configuration and opens a profile's session.
func open(profile string) (*session.Session, error) { return app.Open(profile) }

// validToken returns an entry valid for minTTL. A refresh that failed while
// the old token is still usable is reported as a warning on stderr.
func validToken(ctx context.Context, s *session.Session, minTTL time.Duration, stderr io.Writer) (*tokencache.Entry, error) {
	e, err := s.Token(ctx, minTTL)
	var stale *session.StaleError
	if errors.As(err, &stale) && e != nil {
		fmt.Fprintf(stderr, "%s: warning: %v\n", prog.Name, err)
		return e, nil
	}
	return e, err
}

func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("token", stderr, tokenUsage)
	profile := fs.String("profile", "", "profile")
	minTTL := fs.Duration("min-ttl", 60*time.Second, "refresh when the token expires within this")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("token takes no arguments")
	}
	if *minTTL < 0 {
		return cli.Usagef("--min-ttl must not be negative")
	}
	s, err := openDetached(*profile)
	if err != nil {
		return err
	}
	e, err := validToken(ctx, s, *minTTL, stderr)
	if err != nil {
		return err
	}
	if !*asJSON {
		_, err = fmt.Fprintln(stdout, e.AccessToken)
		return err
	}
	out := struct {
		AccessToken string     `json:"access_token"`
		TokenType   string     `json:"token_type"`
		ExpiresAt   *time.Time `json:"expires_at"`
		Scopes      []string   `json:"scopes"`
	}{e.AccessToken, e.TokenType, nil, e.ScopesGranted}
	if out.TokenType == "" {
		out.TokenType = "Bearer"
	}
	if !e.Expiry.IsZero() {
		t := e.Expiry.UTC()
		out.ExpiresAt = &t
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	return json.NewEncoder(stdout).Encode(out)
}
