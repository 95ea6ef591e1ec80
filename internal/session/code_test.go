package session_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/codeflow"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/demoidp"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/testing/demoidptest"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
	"github.com/devicegate/devicegate/internal/tokencache"
)

func newCodeSession(t *testing.T, srv *oidctest.Server, clientID, secret string) *session.Session {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	pr, err := provider.New(&config.Profile{Name: "default", Prefix: "OAUTH", Provider: "oidc", Issuer: srv.Issuer,
		ClientID: clientID, ClientSecret: secret, Scopes: scopes, Flow: config.FlowCode}, hc)
	if err != nil {
		t.Fatal(err)
	}
	store, _ := tokencache.Open(t.TempDir(), nil)
	return &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: hc}
}

// pasting plays the person of the code flow: at the link, they do what
// follow says and paste what it returns (texts, in order), each reply
// going to replies.
func pasting(t *testing.T, follow func(l codeflow.Link) []string, replies *[]error) session.LoginOptions {
	return session.LoginOptions{Authorize: func(ctx context.Context, l codeflow.Link) (<-chan codeflow.Paste, error) {
		if !strings.HasPrefix(l.RedirectURI, "http://127.0.0.1:") || !strings.HasSuffix(l.RedirectURI, "/callback") {
			t.Errorf("redirect %q: want the loopback default with a port", l.RedirectURI)
		}
		texts := follow(l)
		ch := make(chan codeflow.Paste, len(texts))
		for _, s := range texts {
			ch <- codeflow.Paste{Text: s, Reply: func(err error) { *replies = append(*replies, err) }}
		}
		return ch, nil
	}}
}

// The code flow against the real provider: a paste with text around it
// and a wrong one first; the stored sign-in then refreshes, rotates and
// signs out like a device-flow one, and status says which flow.
func TestCodeFlowLoginRefreshLogout(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	for _, c := range []struct{ name, id, secret string }{
		{"public", oidctest.NativeClientID, ""},
		{"with a secret", oidctest.NativeConfidentialClientID, oidctest.ConfidentialClientSecret},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newCodeSession(t, srv, c.id, c.secret)
			ctx := context.Background()
			var replies []error
			var first string
			e, err := s.Login(ctx, pasting(t, func(l codeflow.Link) []string {
				addr, err := srv.FollowLink(ctx, l.URL, oidctest.ApproveOptions{}, true)
				if err != nil {
					t.Fatal(err)
				}
				first = addr
				return []string{"I allowed it", strings.Replace(addr, "state=", "state=x", 1), "Here: " + addr + " — done"}
			}, &replies))
			if err != nil {
				t.Fatalf("Login: %v\n%s", err, srv.Output())
			}
			if e.RefreshToken == "" || e.Account.Email != "alice@example.com" || e.Flow != config.FlowCode {
				t.Fatalf("entry: flow %q, account %+v, refresh token %v", e.Flow, e.Account, e.RefreshToken != "")
			}
			if len(replies) != 2 || !errors.Is(replies[0], codeflow.ErrPaste) || !errors.Is(replies[1], codeflow.ErrPaste) {
				t.Fatalf("replies %v, want two paste errors", replies)
			}
			if !strings.Contains(first, "code=") {
				t.Fatalf("landed at %q", first)
			}
			st, _ := s.Status()
			if st.Flow != config.FlowCode || st.State != session.StateOK {
				t.Fatalf("status: %+v", st)
			}
			got, err := s.Refresh(ctx)
			if err != nil || got.RefreshToken == e.RefreshToken || got.Flow != config.FlowCode {
				t.Fatalf("refresh: %v (rotated %v)", err, got != nil && got.RefreshToken != e.RefreshToken)
			}
			if res, err := s.Logout(ctx, false); err != nil || res != session.Revoked {
				t.Fatalf("logout: %v %v", res, err)
			}
		})
	}
}

// Deny at the consent page: the pasted address says access_denied, exit 3.
func TestCodeFlowDeclined(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	s := newCodeSession(t, srv, oidctest.NativeClientID, "")
	var replies []error
	_, err := s.Login(context.Background(), pasting(t, func(l codeflow.Link) []string {
		addr, err := srv.FollowLink(context.Background(), l.URL, oidctest.ApproveOptions{}, false)
		if err != nil {
			t.Fatal(err)
		}
		return []string{addr}
	}, &replies))
	if !errors.Is(err, codeflow.ErrDeclined) || cli.Code(err) != exitcode.Declined {
		t.Fatalf("err = %v (exit %d), want declined", err, cli.Code(err))
	}
	if _, err := s.Store.Load("default"); !errors.Is(err, tokencache.ErrNotFound) {
		t.Fatalf("a declined sign-in left a cache: %v", err)
	}
}

// A paste after the attempt's time: expired, exit 5, nothing stored.
func TestCodeFlowExpired(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	s := newCodeSession(t, srv, oidctest.NativeClientID, "")
	now := time.Now()
	s.Now = func() time.Time { return now }
	var replies []error
	_, err := s.Login(context.Background(), pasting(t, func(l codeflow.Link) []string {
		addr, err := srv.FollowLink(context.Background(), l.URL, oidctest.ApproveOptions{}, true)
		if err != nil {
			t.Fatal(err)
		}
		now = l.ExpiresAt
		return []string{addr}
	}, &replies))
	if !errors.Is(err, codeflow.ErrExpired) || cli.Code(err) != exitcode.TimedOut {
		t.Fatalf("err = %v (exit %d), want expired", err, cli.Code(err))
	}
	if stats, _ := srv.Stats(context.Background()); stats.TokenRequestsByGrant["authorization_code"] != 0 {
		t.Fatal("an expired attempt exchanged its code")
	}
}

// The same against the other provider, ZITADEL's library (the demo's):
// sign in by paste, a refresh that rotates, logout revoked; and a denial.
func TestCodeFlowZitadel(t *testing.T) {
	t.Parallel()
	idp := demoidptest.Start(t, demoidp.Options{})
	hc := &http.Client{Timeout: 10 * time.Second}
	open := func() *session.Session {
		pr, err := provider.New(&config.Profile{Name: "default", Prefix: "OAUTH", Provider: "oidc", Issuer: idp.Issuer,
			ClientID: idp.ClientID, Scopes: "openid profile email offline_access", Flow: config.FlowCode}, hc)
		if err != nil {
			t.Fatal(err)
		}
		store, _ := tokencache.Open(t.TempDir(), nil)
		return &session.Session{Profile: "default", Provider: pr, Store: store, HTTP: hc}
	}
	ctx := context.Background()
	s := open()
	var replies []error
	e, err := s.Login(ctx, pasting(t, func(l codeflow.Link) []string {
		addr, err := idp.FollowLink(ctx, l.URL, true)
		if err != nil {
			t.Fatal(err)
		}
		return []string{"done: " + addr}
	}, &replies))
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if e.RefreshToken == "" || e.Account.Email != "demo@example.com" || e.Flow != config.FlowCode {
		t.Fatalf("entry: flow %q, account %+v, refresh token %v", e.Flow, e.Account, e.RefreshToken != "")
	}
	got, err := s.Refresh(ctx)
	if err != nil || got.RefreshToken == e.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if res, err := s.Logout(ctx, false); err != nil || res != session.Revoked {
		t.Fatalf("logout: %v %v", res, err)
	}

	_, err = open().Login(ctx, pasting(t, func(l codeflow.Link) []string {
		addr, err := idp.FollowLink(ctx, l.URL, false)
		if err != nil {
			t.Fatal(err)
		}
		return []string{addr}
	}, &replies))
	if !errors.Is(err, codeflow.ErrDeclined) {
		t.Fatalf("denied: %v", err)
	}
}
