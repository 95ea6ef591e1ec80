package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/devicegate/devicegate/internal/bridge"
	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/session"
)

const logoutUsage = `usage: sidecar logout [--profile P] [--force]

Revokes the sign-in at the provider (RFC 7009) where it supports that, then
deletes the cached tokens. If the revocation fails the cache is kept so you
can try again; --force deletes it anyway.`

func logout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlags("logout", stderr, logoutUsage)
	profile := fs.String("profile", "", "profile")
	force := fs.Bool("force", false, "delete the cache even if revocation fails")
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("logout takes no arguments")
	}
	s, err := open(*profile)
	if err != nil {
		return err
	}
	// The agent's sign-out is the owner's to allow (policy logout): after
	// it, whoever signs in next chooses the account the agent uses.
	argv := append([]string{"sidecar", "logout"}, args...)
	if _, err := gateFor(s, "").Check(ctx, gate.Action{Kind: gate.Logout, Argv: argv}); err != nil {
		return err
	}
	st, _ := s.Status()
	res, err := s.Logout(ctx, *force)
	if err != nil {
		return err
	}
	if res != session.NotSignedIn {
		announce(ctx, s, bridge.Change{SignedOut: true, Account: st.Account, Command: strings.Join(argv, " "),
			Result: bridge.LogoutResult(res, s.Provider.Kind)}, stderr)
	}
	switch res {
	case session.NotSignedIn:
		fmt.Fprintf(stdout, "Profile %s is not signed in; nothing to do.\n", s.Profile)
	case session.Revoked:
		fmt.Fprintf(stdout, "Signed out of profile %s: the provider revoked the tokens and the cache is deleted.\n", s.Profile)
	case session.NotRevocable:
		fmt.Fprintf(stdout, "Signed out of profile %s: the cache is deleted. %s offers no token revocation; remove the app's access in your account settings if needed.\n", s.Profile, s.Provider.Kind)
	case session.Forgotten:
		fmt.Fprintf(stdout, "Profile %s forgotten: the cache is deleted without revocation at the provider.\n", s.Profile)
	}
	return nil
}
