package telegramtest

import (
	"testing"
)

func TestParseHTML(t *testing.T) {
	link := func(off, n int, url string) Entity {
		return Entity{Type: "text_link", Offset: off, Length: n, URL: url}
	}
	tests := []struct {
		name, in, want string
		ents           []Entity
	}{
		{"empty", "", "", nil},
		{"character references", "&lt;&gt;&amp;&quot;&laquo;&raquo;&#12345678;", "<>&\"&laquo;&raquo;&#12345678;", nil},
		{"numeric references", "&#65;&#x42;&#x43", "ABC", nil},
		{"lone ampersand", "a & b", "a & b", nil},
		{"italic", "➡️ ➡️<i>➡️ ➡️</i>", "➡️ ➡️➡️ ➡️", []Entity{ent("italic", 5, 5)}},
		{"em strong", "<em>a</em><strong>b</strong>", "ab", []Entity{ent("italic", 0, 1), ent("bold", 1, 1)}},
		{"u ins s strike del", "<u>a</u><ins>b</ins><s>c</s><strike>d</strike><del>e</del>", "abcde",
			[]Entity{ent("underline", 0, 1), ent("underline", 1, 1), ent("strikethrough", 2, 1), ent("strikethrough", 3, 1), ent("strikethrough", 4, 1)}},
		{"spoilers", `<tg-spoiler>a</tg-spoiler><span class="tg-spoiler">b</span>`, "ab", []Entity{ent("spoiler", 0, 1), ent("spoiler", 1, 1)}},
		{"blockquote", "<blockquote>q</blockquote>", "q", []Entity{ent("blockquote", 0, 1)}},
		{"expandable blockquote", "<blockquote expandable>q</blockquote>", "q", []Entity{ent("expandable_blockquote", 0, 1)}},
		{"attributes", "🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>", "🏟 🏟🏟 ><🏟", []Entity{ent("italic", 5, 7), ent("bold", 9, 3)}},
		{"short end tag", "<i>a</>", "a", []Entity{ent("italic", 0, 1)}},
		{"empty entity", "&lt;<b></b>", "<", nil},
		{"href", `<a href="https://example.com/?a=1&amp;b=2">x</a>`, "x", []Entity{link(0, 1, "https://example.com/?a=1&b=2")}},
		{"href unquoted", "<a href=telegram.org> </a>", " ", []Entity{link(0, 1, "http://telegram.org")}},
		{"a without href links its text", "<a>telegram.org</a>", "telegram.org", []Entity{link(0, 12, "http://telegram.org")}},
		{"a without link", "<a> </a>", " ", nil},
		{"pre and code", "<pre><code>x</code></pre>", "x", []Entity{ent("pre", 0, 1), ent("code", 0, 1)}},
		{"pre with language", `<pre><code class="language-go">x</code></pre>`, "x", []Entity{{Type: "pre", Offset: 0, Length: 1, Language: "go"}}},
		{"code with language around pre", `<code class="language-go"><pre>x</pre></code>`, "x", []Entity{{Type: "pre", Offset: 0, Length: 1, Language: "go"}}},
		{"code language alone is dropped", `<code class="language-go">x</code>`, "x", []Entity{ent("code", 0, 1)}},
	}
	testParses(t, "ParseHTML", ParseHTML, tests)
}

func TestParseHTMLErrors(t *testing.T) {
	surrogate := "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
	tests := []struct{ name, in, want string }{
		{"surrogate", "&#57311;", surrogate},
		{"surrogate hex", "&#xDFDF", surrogate},
		{"bare less-than", "a < b", `Unsupported start tag "" at byte offset 2`},
		{"unclosed start tag", "🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"},
		{"unsupported tag", "🏟 🏟&lt;<abac aba>", `Unsupported start tag "abac" at byte offset 13`},
		{"p tag", "<p>x</p>", `Unsupported start tag "p" at byte offset 0`},
		{"empty attribute name", "🏟 🏟&lt;<i   =aba>", `Empty attribute name in the tag "i" at byte offset 13`},
		{"attribute without value", "🏟 🏟&lt;<i    aba>", `Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13`},
		{"unclosed attribute", "🏟 🏟&lt;<i    aba  =  ", `Unclosed start tag "i" at byte offset 13`},
		{"bad name token", "🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"},
		{"unclosed quoted value", "🏟 🏟&lt;<i    aba  =  \"&lt;&gt;&quot;>", "Unclosed start tag at byte offset 13"},
		{"end tag first", "🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"},
		{"stray end tag", "🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"},
		{"unclosed end tag", "🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"},
		{"unmatched end tag", "🏟 🏟&lt;<i>a</em   >", `Unmatched end tag at byte offset 17, expected "</i>", found "</em>"`},
		{"missing end tag", "<b>x", "Can't find end tag corresponding to start tag b"},
		{"span without class", "<span>x</span>", `Tag "span" must have class "tg-spoiler" at byte offset 0`},
	}
	testParseErrors(t, "ParseHTML", ParseHTML, tests)
}

func FuzzParseHTML(f *testing.F) {
	for _, s := range []string{"", "<b>a</b>", "<a href='x.y'>z</a>", "&lt;&#65;&#x1F600;", "<pre><code class=\"language-go\">x</code></pre>",
		"<i aba = 'q'>x</>", "<blockquote expandable>q</blockquote>", "<span class=tg-spoiler>s</span>", "<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParse(t, ParseHTML, s) })
}
