package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// A sign-in as another person (another sub and email at the real
// oidc-provider) does not replace the profile's sign-in until
// ConfirmSwitch agrees: the old entry stays whole, byte for byte, and the
// new tokens are never written. The same person signing in again is not
// asked.
func TestLoginAsAnotherAccountWaitsForConfirmation(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{PollInterval: time.Second})
	s := newSession(t, srv, nil)
	ctx := context.Background()
	alice := login(t, s, srv)

	type ask struct{ old, new tokencache.Account }
	var asked []ask
	errKeep := errors.New("the owner kept the old account")
	answer := errKeep
	signIn := func(as string) (*tokencache.Entry, error) {
		opts, _ := person(t, srv, approve(srv, oidctest.ApproveOptions{Login: as}))
		opts.ConfirmSwitch = func(_ context.Context, old, new tokencache.Account) error {
			asked = append(asked, ask{old, new})
			// Nothing of the new sign-in is in the cache while the owner
			// decides.
			if cur, err := s.Store.Load("default"); err != nil || cur.Account != old || cur.Account.SameIdentity(new) {
				t.Errorf("while asking, the cache holds %v's sign-in (%v)", cur.Account, err)
			}
			return answer
		}
		return s.Login(ctx, opts)
	}

	// Mallory, refused: Login fails with the hook's error, Alice stays.
	if _, err := signIn("mallory"); !errors.Is(err, errKeep) {
		t.Fatalf("Login as mallory = %v, want the refusal", err)
	}
	if len(asked) != 1 || asked[0].old.Email != "alice@example.com" || asked[0].new.Email != "mallory@example.com" || asked[0].new.Subject != "mallory" {
		t.Fatalf("asked %+v", asked)
	}
	cur, err := s.Store.Load("default")
	if err != nil || cur.AccessToken != alice.AccessToken || cur.RefreshToken != alice.RefreshToken || cur.Account != alice.Account {
		t.Fatalf("after the refusal the cache holds another sign-in (%v), %v", cur.Account, err)
	}
	if _, err := s.Token(ctx, 0); err != nil {
		t.Fatalf("Alice's sign-in no longer works: %v", err)
	}

	// Alice again: nobody is asked.
	asked = nil
	again, err := signIn("alice")
	if err != nil {
		t.Fatalf("Alice again: %v", err)
	}
	if len(asked) != 0 || again.Account != alice.Account {
		t.Fatalf("Alice again: %v, %v, asked %+v", again.Account, err, asked)
	}

	// Mallory, confirmed: she replaces Alice.
	answer = nil
	m, err := signIn("mallory")
	if err != nil || len(asked) != 1 {
		t.Fatalf("Login as mallory, confirmed: %v, asked %+v", err, asked)
	}
	if cur, err := s.Store.Load("default"); err != nil || cur.AccessToken != m.AccessToken || cur.Account.Subject != "mallory" {
		t.Fatalf("after the confirmation the cache holds %v's sign-in, %v", cur.Account, err)
	}
}
