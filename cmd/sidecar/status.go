package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/app"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/confine"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/session"
)

const statusUsage = `usage: sidecar status [--profile P | --all] [--json]

Shows who is signed in, the granted and requested scopes, when the access
token expires, whether a refresh token is held, and how well this kernel
confines the tools that sidecar run starts. Exits 4 when a sign-in is
required. It never contacts the provider.`

// statusJSON is a profile's status as --json prints it: the session's,
// and what the kernel lets sidecar run take from tools (the same for
// every profile, and beside each so that a script reads one object).
type statusJSON struct {
	session.Status
	Tools confine.Support `json:"tool_confinement"`
}

func status(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("status", stderr, statusUsage)
	profile := fs.String("profile", "", "profile")
	all := fs.Bool("all", false, "every configured profile")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("status takes no arguments")
	}
	if *all && *profile != "" {
		return cli.Usagef("--all and --profile exclude each other")
	}
	a, err := app.Load()
	if err != nil {
		return err
	}
	names := []string{*profile}
	if *all {
		names = a.Config.Order
	}
	var list []session.Status
	for _, n := range names {
		s, err := a.Open(n)
		if err != nil {
			return err
		}
		ss, err := s.Status()
		if err != nil {
			return err
		}
		list = append(list, ss)
	}
	tools := confine.Probe()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		out := make([]statusJSON, len(list))
		for i, s := range list {
			out[i] = statusJSON{s, tools}
		}
		if *all {
			err = enc.Encode(out)
		} else {
			err = enc.Encode(out[0])
		}
		if err != nil {
			return err
		}
	} else {
		for i, s := range list {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			printStatus(stdout, s)
		}
		printTools(stdout, tools)
	}
	for _, s := range list {
		if s.State == session.StateSignInRequired {
			return cli.Exit(exitcode.SignInRequired, &quiet{})
		}
	}
	return nil
}

// quiet is an error whose message was already shown as the status itself.
type quiet struct{}

func (quiet) Error() string { return "sign-in required" }

func printStatus(w io.Writer, s session.Status) {
	fmt.Fprintf(w, "Profile:   %s (%s)\n", s.Profile, s.Provider)
	state := s.State
	if s.Reason != "" {
		state += " — " + s.Reason
	}
	fmt.Fprintf(w, "State:     %s\n", state)
	if s.State == session.StateSignInRequired && s.Account.Subject == "" {
		fmt.Fprintf(w, "Hint:      %s to sign in\n", prog.SignInWays(s.Profile))
	}
	if s.Account.Subject != "" || s.Account.Name != "" {
		fmt.Fprintf(w, "Account:   %s\n", s.Account)
	}
	if s.Flow != "" {
		fmt.Fprintf(w, "Signed in: with the %s flow\n", s.Flow)
	}
	if s.AccessTokenExpiresAt != nil {
		left := time.Until(*s.AccessTokenExpiresAt).Round(time.Second)
		when := "in " + left.String()
		if left <= 0 {
			when = (-left).String() + " ago"
		}
		fmt.Fprintf(w, "Expires:   %s (%s)\n", s.AccessTokenExpiresAt.Format(time.RFC3339), when)
	}
	if len(s.ScopesGranted) > 0 {
		fmt.Fprintf(w, "Scopes:    %s\n", strings.Join(s.ScopesGranted, " "))
	}
	fmt.Fprintf(w, "Requested: %s\n", strings.Join(s.ScopesRequested, " "))
	if len(s.ScopesNotGranted) > 0 {
		fmt.Fprintf(w, "Not granted at consent: %s\n", strings.Join(s.ScopesNotGranted, " "))
	}
	refresh := yesNo(s.HasRefreshToken, "refresh token held", "no refresh token")
	if s.OneOff {
		refresh = "none kept — one-off grant, access ends when the access token expires"
	}
	fmt.Fprintf(w, "Refresh:   %s\n", refresh)
	for _, t := range s.ScopedTokens {
		exp := "no expiry"
		if t.ExpiresAt != nil {
			exp = "expires " + t.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "Scoped:    %s (%s)\n", strings.Join(t.Scopes, " "), exp)
	}
	if a := s.AWS; a != nil {
		fmt.Fprintf(w, "AWS:       role %s in account %s (%s)\n", a.RoleName, a.AccountID, a.Region)
		if a.CredentialsExpireAt != nil {
			fmt.Fprintf(w, "Role credentials: expire %s\n", a.CredentialsExpireAt.Format(time.RFC3339))
		}
		if a.RegistrationExpiresAt != nil {
			fmt.Fprintf(w, "Client registration: expires %s\n", a.RegistrationExpiresAt.Format(time.RFC3339))
		}
	}
	if s.CacheEncrypted {
		fmt.Fprintln(w, "Cache:     encrypted (AES-256-GCM)")
	} else {
		fmt.Fprintln(w, "Cache:     NOT encrypted — set SIDECAR_CACHE_KEY (make one with `sidecar keygen`)")
	}
}

// printTools says how sidecar run confines tools on this kernel, and
// what it cannot take from them here.
func printTools(w io.Writer, s confine.Support) {
	switch {
	case len(s.Missing) == 0:
		fmt.Fprintf(w, "Tools:     confined (Landlock ABI %d): no cache or secret files, no signals or abstract unix sockets outside\n", s.ABI)
	case !s.HidesFiles:
		fmt.Fprintln(w, "Tools:     NOT confined (the kernel has no Landlock)")
	default:
		fmt.Fprintf(w, "Tools:     partly confined (Landlock ABI %d): no cache or secret files\n", s.ABI)
	}
	for _, m := range s.Missing {
		fmt.Fprintf(w, "Missing:   %s\n", m)
	}
}

func yesNo(b bool, y, n string) string {
	if b {
		return y
	}
	return n
}
