package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/detach"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

const tokenUsage = `usage: sidecar token [--profile P] [--min-ttl D] [--scope 'S1 S2'] [--json]
       sidecar token [--profile P] [--min-ttl D] --aws-credentials

Prints a valid access token, refreshing it first when it expires within
--min-ttl (default 60s). With --scope, a token for just those scopes (or,
at Microsoft, another resource such as https://management.azure.com/.default),
got from the same sign-in. With --aws-credentials (aws profiles), the role
credentials as the JSON that AWS's credential_process expects.`

// openDetached opens a profile's session whose refreshes run in a
// detached process (internal/detach): for token, run and api.
func openDetached(profile string) (*session.Session, error) {
	s, err := open(profile)
	if err != nil {
		return nil, err
	}
	s.Detach = detach.Refresher(s.Profile)
	return s, nil
}

// open loads the configuration and opens a profile's session.
func open(profile string) (*session.Session, error) { return app.Open(profile) }

// validToken returns an access token valid for minTTL: the sign-in's own
// (scopes nil) or one for just scopes. A refresh that failed while the old
// token is still usable is reported as a warning on stderr.
func validToken(ctx context.Context, s *session.Session, minTTL time.Duration, scopes []string, stderr io.Writer) (*tokencache.ScopedToken, error) {
	var (
		t   *tokencache.ScopedToken
		err error
	)
	if len(scopes) > 0 {
		t, err = s.ScopedToken(ctx, minTTL, scopes)
	} else {
		var e *tokencache.Entry
		if e, err = s.Token(ctx, minTTL); e != nil {
			t = &tokencache.ScopedToken{AccessToken: e.AccessToken, TokenType: e.TokenType, Expiry: e.Expiry, ScopesGranted: e.ScopesGranted}
		}
	}
	var stale *session.StaleError
	if errors.As(err, &stale) && t != nil {
		fmt.Fprintf(stderr, "%s: warning: %v\n", prog.Name, err)
		return t, nil
	}
	return t, err
}

// parseScopes reads a --scope value: scopes separated by spaces, each an
// RFC 6749 §3.3 scope-token.
func parseScopes(v string) ([]string, error) {
	scopes := strings.Fields(v)
	for _, sc := range scopes {
		for _, r := range sc {
			if r < 0x21 || r == 0x22 || r == 0x5c || r > 0x7e {
				return nil, cli.Usagef("--scope: invalid scope %q (scopes are separated by spaces)", sc)
			}
		}
	}
	if v != "" && len(scopes) == 0 {
		return nil, cli.Usagef("--scope needs at least one scope")
	}
	return scopes, nil
}

// credentialProcess is the output AWS SDKs expect from a credential_process
// (AWS CLI User Guide, "Sourcing credentials with an external process").
type credentialProcess struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("token", stderr, tokenUsage)
	profile := fs.String("profile", "", "profile")
	minTTL := fs.Duration("min-ttl", 60*time.Second, "refresh when the token expires within this")
	asJSON := fs.Bool("json", false, "print JSON")
	scope := fs.String("scope", "", "a token for just these scopes (space separated)")
	awsCreds := fs.Bool("aws-credentials", false, "print AWS role credentials for credential_process")
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
	scopes, err := parseScopes(*scope)
	if err != nil {
		return err
	}
	if *awsCreds && (*asJSON || len(scopes) > 0) {
		return cli.Usagef("--aws-credentials prints JSON of its own and takes no --scope or --json")
	}
	s, err := openDetached(*profile)
	if err != nil {
		return err
	}
	// The raw token (or role credentials) leaves our hands: the gate
	// decides first, and the audit log keeps that it happened.
	a := gate.Action{Kind: gate.Token, Variant: gate.VariantAccess}
	switch {
	case *awsCreds:
		a.Variant = gate.VariantAWS
	case len(scopes) > 0:
		a.Variant, a.Scopes = gate.VariantScoped, scopes
	}
	pass, err := gateFor(s, "").Check(ctx, a)
	if err != nil {
		return err
	}
	if *awsCreds {
		c, err := s.AWSCredentials(ctx, *minTTL)
		if err != nil {
			return err
		}
		record(pass, stderr)
		return json.NewEncoder(stdout).Encode(credentialProcess{
			Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
			SessionToken: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339),
		})
	}
	e, err := validToken(ctx, s, *minTTL, scopes, stderr)
	if err != nil {
		return err
	}
	record(pass, stderr)
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
