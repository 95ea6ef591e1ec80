package telegram_test

import (
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/devicegate/devicegate/internal/telegram"
	"github.com/devicegate/devicegate/internal/testing/telegramtest"
)

func TestEscape(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "hello world", "hello world"},
		{"every reserved", "_*[]()~`>#+-=|{}.!", `\_\*\[\]\(\)\~\` + "`" + `\>\#\+\-\=\|\{\}\.\!`},
		{"backslash", `C:\Users`, `C:\\Users`},
		{"user code", "WDJB-MJHT", `WDJB\-MJHT`},
		{"url", "https://example.com/device?x=1", `https://example\.com/device?x\=1`},
		{"non-ASCII", "Grüße 🏟.", `Grüße 🏟\.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := telegram.Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscapeCodeAndURL(t *testing.T) {
	if got, want := telegram.EscapeCode("a`b\\c.d"), "a\\`b\\\\c.d"; got != want {
		t.Errorf("EscapeCode = %q, want %q", got, want)
	}
	if got, want := telegram.EscapeURL(`https://x.y/a)b\c.d`), `https://x.y/a\)b\\c.d`; got != want {
		t.Errorf("EscapeURL = %q, want %q", got, want)
	}
	// Links survive EscapeURL.
	for _, u := range []string{"https://example.com/device", "https://login.example.com/a_(b)?c=d&e=f#g", `https://x.y/back\slash`} {
		_, ents, err := telegramtest.ParseMarkdownV2("[x](" + telegram.EscapeURL(u) + ")")
		if err != nil || len(ents) != 1 || ents[0].URL != u {
			t.Errorf("link %q: entities %+v, %v", u, ents, err)
		}
	}
	// What the library's EscapeText gets wrong: a backslash must be escaped.
	text, _, err := telegramtest.ParseMarkdownV2(telegram.Escape(`C:\new`))
	if err != nil || text != `C:\new` {
		t.Errorf("round trip of a backslash = %q, %v", text, err)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"too long", 5, "too …"},
		{"🏟🏟🏟", 4, "🏟…"}, // each 🏟 is two UTF-16 units
		{"🏟🏟", 4, "🏟🏟"},
		{"abc", 0, ""},
		{"abc", 1, "…"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.in, tt.n), func(t *testing.T) {
			if got := telegram.Truncate(tt.in, tt.n); got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

// Escaped text parses back to itself, with no entities, whatever it holds.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a.b", `\`, `\\`, "*bold*", "[x](y)", "```", ">quote", "||", "🏟 _x_", "a\nb\r\n>c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // Telegram refuses invalid UTF-8
		}
		text, ents, err := telegramtest.ParseMarkdownV2(telegram.Escape(s))
		if err != nil {
			t.Fatalf("Escape(%q) does not parse: %v", s, err)
		}
		if text != s || len(ents) != 0 {
			t.Fatalf("Escape(%q) parses to %q with %v", s, text, ents)
		}
	})
}

// Escaped code is the whole content of one code entity.
func FuzzEscapeCode(f *testing.F) {
	for _, s := range []string{"a", "`", `\`, "a.b*c_d", "```", "🏟"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || s == "" {
			return
		}
		mds := []string{"`" + telegram.EscapeCode(s) + "`"}
		if s[0] != '\r' { // Telegram takes "\n\r" after ``` as one line break
			mds = append(mds, "```\n"+telegram.EscapeCode(s)+"```")
		}
		for _, md := range mds {
			text, ents, err := telegramtest.ParseMarkdownV2(md)
			if err != nil {
				t.Fatalf("%q does not parse: %v", md, err)
			}
			if text != s || len(ents) != 1 || ents[0].Offset != 0 || ents[0].Length != telegram.UTF16Len(s) {
				t.Fatalf("%q parses to %q with %+v", md, text, ents)
			}
		}
	})
}

// An escaped URL ends where it should and comes back unchanged.
func FuzzEscapeURL(f *testing.F) {
	for _, s := range []string{"a", ")", `\`, "a)b(c", "?q=1&r=)", "%29"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		u := "https://example.com/" + s
		md := "[link](" + telegram.EscapeURL(u) + ") after"
		text, ents, err := telegramtest.ParseMarkdownV2(md)
		if err != nil {
			t.Fatalf("%q does not parse: %v", md, err)
		}
		if text != "link after" {
			t.Fatalf("%q parses to %q: the URL did not end at its )", md, text)
		}
		// Telegram may drop a link it finds invalid, but never changes one.
		if len(ents) > 1 || len(ents) == 1 && ents[0].URL != u {
			t.Fatalf("%q gives entities %+v, want the URL %q", md, ents, u)
		}
	})
}

func ExampleEscape() {
	code, uri := "WDJB-MJHT", "https://example.com/device"
	text := "Sign in at " + telegram.Escape(uri) + " with the code `" + telegram.EscapeCode(code) + "`\\."
	fmt.Println(text)
	// Output: Sign in at https://example\.com/device with the code `WDJB-MJHT`\.
}

func ExampleEscapeURL() {
	uri := "https://example.com/device?user_code=WDJB-MJHT"
	fmt.Println("[Open the sign-in page](" + telegram.EscapeURL(uri) + ")")
	// Output: [Open the sign-in page](https://example.com/device?user_code=WDJB-MJHT)
}

func ExampleTruncate() {
	name := telegram.Truncate("A very long application name", 12)
	fmt.Println(telegram.Escape(name))
	// Output: A very long…
}
