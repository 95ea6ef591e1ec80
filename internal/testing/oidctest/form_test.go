package oidctest

import (
	"net/url"
	"strings"
	"testing"
)

// deviceConfirmPage has the shape of oidc-provider's confirmation page: the buttons sit outside
// the form and name it with form="...".
const deviceConfirmPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Confirm  device</title>
<style>button[name=abort]{color:#666} a>b{}</style>
<script>if (a < b && c > d) { document.write("<form id=fake>") }</script>
</head><body>
<!-- <form id="commented"><input name="nope"></form> -->
<p>Sign in to <strong>devicegate &amp; co</strong> if your device shows <code>BCDF-GHJK</code>.</p>
<form id="op.deviceConfirmForm" method="post" action="/device">
<input type="hidden" name="xsrf" value="a&quot;b"/>
<input type="hidden" name="user_code" value='BCDF-GHJK'/>
<input type="hidden" name="confirm" value="yes"/>
</form>
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">[ Abort ]</button>
</body></html>`

func TestParsePage(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:1234/device?x=1")

	t.Run("confirm page", func(t *testing.T) {
		p := parsePage(base, deviceConfirmPage)
		if p.title != "Confirm device" {
			t.Errorf("title %q", p.title)
		}
		if want := "Sign in to devicegate & co if your device shows BCDF-GHJK . Continue [ Abort ]"; p.text != want {
			t.Errorf("text %q, want %q", p.text, want)
		}
		if len(p.forms) != 1 {
			t.Fatalf("%d forms, want 1 (script and comment hold none)", len(p.forms))
		}
		f := p.formWith("confirm")
		if f == nil || f.method != "POST" || f.action != "/device" {
			t.Fatalf("form %+v", f)
		}
		buttons := f.buttons()
		if len(buttons) != 2 || buttons[0].label != "Continue" || buttons[1].name != "abort" {
			t.Fatalf("buttons %+v", buttons)
		}
		if got, want := f.values(buttons[0]).Encode(), "confirm=yes&user_code=BCDF-GHJK&xsrf=a%22b"; got != want {
			t.Errorf("values with Continue: %s, want %s", got, want)
		}
		if got := f.values(buttons[1]).Get("abort"); got != "yes" {
			t.Errorf("values with Abort: abort=%q", got)
		}
	})

	t.Run("consent checkboxes", func(t *testing.T) {
		p := parsePage(base, `<title>Authorize</title><form method=post action="consent">
<input type=checkbox name=scope value=openid checked><input type="checkbox" name="scope" value="api:read" checked="">
<input type=checkbox name=scope value=email><input type=checkbox name=other checked>
<input name=disabled value=x disabled><textarea name=note>a &lt; b</textarea>
<button type=button name=b value=1>no</button><button name=decision value=allow>Allow</button></form>`)
		f := p.formWith("decision")
		if f == nil {
			t.Fatal("no consent form")
		}
		got := f.values(f.buttons()[0])
		want := url.Values{"scope": {"openid", "api:read"}, "other": {"on"}, "note": {"a < b"}, "decision": {"allow"}}
		if got.Encode() != want.Encode() {
			t.Errorf("values %s, want %s", got.Encode(), want.Encode())
		}
		if f.method != "POST" || f.action != "consent" {
			t.Errorf("method %q action %q", f.method, f.action)
		}
	})

	t.Run("defaults", func(t *testing.T) {
		p := parsePage(base, `<FORM><INPUT NAME=q VALUE=1><Input type=submit></form>`)
		if len(p.forms) != 1 || p.forms[0].method != "GET" || len(p.forms[0].buttons()) != 1 {
			t.Fatalf("forms %+v", p.forms)
		}
		if got := p.forms[0].values(nil).Encode(); got != "q=1" {
			t.Errorf("values %q", got)
		}
	})

	t.Run("broken html", func(t *testing.T) {
		for _, doc := range []string{"", "<", "a < b", "<form", "<input name='x", "<title>unterminated", "<!--", "</", "<a =b>"} {
			parsePage(base, doc) // must not panic
		}
	})
}

func TestPageString(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1/device")
	p := parsePage(u, "<title>T</title><p>"+strings.Repeat("é", 400)+"</p>")
	s := p.String()
	if !strings.HasPrefix(s, `page /device "T": "éé`) || !strings.HasSuffix(s, `..."`) || !utf8Valid(s) {
		t.Errorf("String() = %q", s)
	}
}

func FuzzParsePage(f *testing.F) {
	f.Add(deviceConfirmPage)
	f.Add(`<form id=a><input type=checkbox name=s value=v checked><button form=a name=b>x</button></form>`)
	f.Add(`<textarea name=t>x</TEXTAREA><title>t</title>`)
	base, _ := url.Parse("http://127.0.0.1/")
	f.Fuzz(func(t *testing.T, doc string) {
		p := parsePage(base, doc)
		for _, fm := range p.forms {
			// What a submission sends comes from the form's own enabled,
			// named controls, and a click sends at most its own button.
			named := map[string]bool{}
			for _, fl := range fm.fields {
				if !fl.disabled && fl.name != "" {
					named[fl.name] = true
				}
			}
			for _, b := range append(fm.buttons(), nil) {
				v := fm.values(b)
				for name := range v {
					if !named[name] {
						t.Fatalf("submitted %q, which no enabled control of the form names", name)
					}
				}
				for _, other := range fm.buttons() {
					if other != b && other.name != "" && !sharesName(fm, other) && len(v[other.name]) > 0 {
						t.Fatalf("clicking %v also sent button %q", b, other.name)
					}
				}
			}
		}
		_ = p.String()
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// sharesName reports whether another control of the form has b's name.
func sharesName(f *form, b *field) bool {
	for _, fl := range f.fields {
		if fl != b && fl.name == b.name {
			return true
		}
	}
	return false
}
