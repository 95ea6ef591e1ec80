package main

import (
	"context"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/demoidp"
	"github.com/devicegate/devicegate/internal/testing/demoidptest"
	"github.com/devicegate/devicegate/internal/testing/oidctest"
)

// chromium is a headless Chromium from Debian's package, the browser the
// owner signs in with.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(oidctest.RequireEnv) != "" {
			t.Fatalf("no chromium in PATH (%v); install it: apt-get install -y chromium", err)
		}
		t.Skipf("skipped: no chromium in PATH; install it: apt-get install -y chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // as root (CI, containers) Chromium refuses to start sandboxed
		chromedp.Headless,
		chromedp.DisableGPU,
		// Nothing but the test's loopback servers.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first action starts the browser and ties it to ctx itself.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// allowInBrowser opens link in the browser, signs in as alice at the
// provider's pages and clicks Allow; the provider then sends the browser
// on to the redirect address.
func allowInBrowser(t testing.TB, ctx context.Context, link string) {
	t.Helper()
	browse(t, ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "alice"),
		chromedp.Click(chromedp.CSS(`#login button`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=allow]`)),
		chromedp.Click(chromedp.CSS(`button[value=allow]`)),
	)
}

// browse does what a person does in the browser, within 30 seconds.
func browse(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// addressBar waits until the browser's address begins with prefix and
// returns it: what a person reads from the address bar, also when the page
// could not load (the current history entry; the document is then
// Chromium's error page).
func addressBar(t testing.TB, ctx context.Context, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var addr string
		// While Chromium swaps the page for its error page it may say
		// "Not attached to an active page": ask again.
		h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
		if err == nil && h.CurrentIndex >= 0 && int(h.CurrentIndex) < len(h.Entries) {
			addr = h.Entries[h.CurrentIndex].URL
		}
		if strings.HasPrefix(addr, prefix) {
			return addr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the browser never went to %s (last at %q, %v)", prefix, addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// The whole path from the phone: /auth in the chat, the browser signs in
// and allows, lands on the loopback address it cannot load; the owner
// pastes that address into the chat; then the sign-in works: api /me, a
// refresh, logout.
func TestCodeFlowChatBrowser(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	br := chromium(t)
	g := codeGatekeeper(t, srv)
	msg, link := g.signInLink(t, srv.Issuer)
	u, _ := url.Parse(link)
	redirect := u.Query().Get("redirect_uri")
	if !strings.HasPrefix(redirect, "http://127.0.0.1:") {
		t.Fatalf("redirect_uri %q: want the loopback default", redirect)
	}
	allowInBrowser(t, br, link)
	addr := addressBar(t, br, redirect+"?")
	if !strings.Contains(addr, "code=") || !strings.Contains(addr, "state=") {
		t.Fatalf("the browser shows %s", addr)
	}
	_, id := g.paste(t, ownerChat, addr)
	g.deleted(t, id)
	g.outcome(t, msg, "✅ Signed in as Alice Example")
	signedInWorks(t, g.env, "alice@example.com", func() int { return refreshes(t, srv) })
}

// The browser on the same machine as `sidecar login --flow code`: it
// follows the redirect to the loopback listener and the sign-in finishes
// with nothing pasted (as gcloud and az do).
func TestCodeLoginBrowserLoopback(t *testing.T) {
	t.Parallel()
	srv := oidctest.Start(t, oidctest.Options{})
	br := chromium(t)
	events, code, stderr := codeLoginJSON(t, codeEnv(t, srv), func(ev cli.Event, _ io.WriteCloser) {
		allowInBrowser(t, br, ev.URL)
	})
	if code != 0 || len(events) != 2 || events[1].Event != "signed_in" || events[1].Email != "alice@example.com" {
		t.Fatalf("login exit %d, events %+v, stderr %s", code, events, stderr)
	}
}

// The phone path against the other provider, ZITADEL's library (the
// demo's own pages): sign in with the demo password, allow, paste.
func TestCodeFlowChatBrowserZitadel(t *testing.T) {
	t.Parallel()
	idp := demoidptest.Start(t, demoidp.Options{})
	br := chromium(t)
	// serve's rig needs only the issuer and client id of its provider.
	g := newGatekeeper(t, &oidctest.Server{Issuer: idp.Issuer, PublicClientID: idp.ClientID}, "OAUTH_FLOW=code")
	g.start(t)
	msg, link := g.signInLink(t, idp.Issuer)
	u, _ := url.Parse(link)
	redirect := u.Query().Get("redirect_uri")
	user := idp.Options().User
	browse(t, br,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("username"), user.Login),
		chromedp.SendKeys(chromedp.ID("password"), user.Password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("allow")),
		chromedp.Click(chromedp.ID("allow")),
	)
	addr := addressBar(t, br, redirect+"?")
	_, id := g.paste(t, ownerChat, addr)
	g.deleted(t, id)
	g.outcome(t, msg, "✅ Signed in as Demo User")
	signedInWorks(t, g.env, "demo@example.com", func() int { return idp.Stats().TokenRequestsByGrant["refresh_token"] })
}
