package telegramtest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func ent(typ string, off, length int) Entity { return Entity{Type: typ, Offset: off, Length: length} }

type (
	parser    func(string) (string, []Entity, error)
	parseCase = struct {
		name, in, want string
		ents           []Entity
	}
	parseErrorCase = struct{ name, in, want string }
)

// testParses checks the text and entities each case parses to.
func testParses(t *testing.T, name string, parse parser, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ents, err := parse(tt.in)
			if err != nil {
				t.Fatalf("%s(%q): %v", name, tt.in, err)
			}
			if got != tt.want {
				t.Errorf("%s(%q) text = %q, want %q", name, tt.in, got, tt.want)
			}
			if !reflect.DeepEqual(ents, tt.ents) {
				t.Errorf("%s(%q) entities = %+v, want %+v", name, tt.in, ents, tt.ents)
			}
		})
	}
}

// testParseErrors checks Telegram's error description for each case.
func testParseErrors(t *testing.T, name string, parse parser, tests []parseErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parse(tt.in)
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("%s(%q) error = %v, want a *ParseError", name, tt.in, err)
			}
			if pe.Msg != tt.want {
				t.Errorf("%s(%q) error = %q, want %q", name, tt.in, pe.Msg, tt.want)
			}
		})
	}
}

// checkParse is the fuzz property of a parser: only *ParseError fails, and
// valid UTF-8 gives valid UTF-8 with entities inside the text.
func checkParse(t *testing.T, parse parser, s string) {
	text, ents, err := parse(s)
	if err != nil {
		if _, ok := err.(*ParseError); !ok {
			t.Fatalf("error %T %v, want *ParseError", err, err)
		}
		return
	}
	if !utf8.ValidString(s) {
		return // Telegram refuses invalid UTF-8 before parsing
	}
	if !utf8.ValidString(text) {
		t.Fatalf("valid input %q gave invalid UTF-8 %q", s, text)
	}
	checkEntities(t, text, ents)
}

func TestParseMarkdownV2(t *testing.T) {
	tests := []struct {
		name, in, want string
		ents           []Entity
	}{
		{"empty", "", "", nil},
		{"plain", "hello world", "hello world", nil},
		{"escaped backslash", `\\`, `\`, nil},
		{"backslash before plain letters is dropped", `\a\b1`, "ab1", nil},
		{"lone backslash at end stays", `a\`, `a\`, nil},
		{"backslash before non-ASCII stays", `\➡️`, `\➡️`, nil},
		{"escaped reserved", `\_\*\[\]\(\)\~\` + "`" + `\>\#\+\-\=\|\{\}\.\!`, "_*[]()~`>#+-=|{}.!", nil},
		{"bold", "*bold*", "bold", []Entity{ent("bold", 0, 4)}},
		{"italic", "_it_", "it", []Entity{ent("italic", 0, 2)}},
		{"underline", "__u__", "u", []Entity{ent("underline", 0, 1)}},
		{"strike", "~s~", "s", []Entity{ent("strikethrough", 0, 1)}},
		{"spoiler", "||sp||", "sp", []Entity{ent("spoiler", 0, 2)}},
		{"code keeps reserved", "`a.b-c_d`", "a.b-c_d", []Entity{ent("code", 0, 7)}},
		{"code escapes", "`a\\`b\\\\c`", "a`b\\c", []Entity{ent("code", 0, 5)}},
		{"pre", "```\nline.1\n```", "line.1\n", []Entity{ent("pre", 0, 7)}},
		{"pre with language", "```go\nx := 1\n```", "x := 1\n", []Entity{{Type: "pre", Offset: 0, Length: 7, Language: "go"}}},
		{"link", "[open](https://example.com/a?b=c)", "open", []Entity{{Type: "text_link", Offset: 0, Length: 4, URL: "https://example.com/a?b=c"}}},
		{"link with escaped paren", `[x](https://example.com/a\)b)`, "x", []Entity{{Type: "text_link", Offset: 0, Length: 1, URL: "https://example.com/a)b"}}},
		{"link without scheme", "[x](example.com)", "x", []Entity{{Type: "text_link", Offset: 0, Length: 1, URL: "http://example.com"}}},
		{"link to localhost is dropped", "[x](http://localhost:8080/)", "x", nil},
		{"mention", "[bob](tg://user?id=123)", "bob", []Entity{{Type: "text_mention", Offset: 0, Length: 3, UserID: 123}}},
		{"nested", "*bold _it_*", "bold it", []Entity{ent("bold", 0, 7), ent("italic", 5, 2)}},
		{"empty entities vanish", "**____~~", "", nil},
		{"utf16 offsets", "🏟 _🏟_", "🏟 🏟", []Entity{ent("italic", 3, 2)}},
		{"blockquote", ">quote\nafter", "quote\nafter", []Entity{ent("blockquote", 0, 6)}},
		{"blockquote two lines", ">a\n>b", "a\nb", []Entity{ent("blockquote", 0, 3)}},
		{"expandable blockquote", ">a\n>b||", "a\nb", []Entity{ent("expandable_blockquote", 0, 3)}},
		{"tdlib: italic with escaped star", "🏟 🏟_abac \\* asd _", "🏟 🏟abac * asd ", []Entity{ent("italic", 5, 11)}},
		{"tdlib: underline then italic", "🏟 🏟__🏟 _🏟_ __", "🏟 🏟🏟 🏟 ", []Entity{ent("underline", 5, 6), ent("italic", 8, 2)}},
		{"tdlib: code entities", "`_* *_`__*` `*__", "_* *_ ", []Entity{ent("code", 0, 5), ent("code", 5, 1), ent("bold", 5, 1), ent("underline", 5, 1)}},
		{"tdlib: backslashes", "\\\\\\a\\b\\c\\d\\e\\f\\1\\2\\3\\4\\➡️\\", "\\abcdef1234\\➡️\\", nil},
	}
	testParses(t, "ParseMarkdownV2", ParseMarkdownV2, tests)
}

func TestParseMarkdownV2Errors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"dot", "Sign in.", "Character '.' is reserved and must be escaped with the preceding '\\'"},
		{"dash", "a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"},
		{"paren", "(x)", "Character '(' is reserved and must be escaped with the preceding '\\'"},
		{"closing bracket", "]", "Character ']' is reserved and must be escaped with the preceding '\\'"},
		{"single pipe", "a|b", "Character '|' is reserved and must be escaped with the preceding '\\'"},
		{"bang", "hi!", "Character '!' is reserved and must be escaped with the preceding '\\'"},
		{"quote mid-line", "a>b", "Character '>' is reserved and must be escaped with the preceding '\\'"},
		{"unclosed italic", "🏟 🏟_abacaba", "Can't find end of Italic entity at byte offset 9"},
		{"unclosed bold inside italic", "🏟 🏟_abac * asd ", "Can't find end of Bold entity at byte offset 15"},
		{"unclosed code", "🏟 🏟`", "Can't find end of Code entity at byte offset 9"},
		{"unclosed pre", "🏟 🏟```", "Can't find end of Pre entity at byte offset 9"},
		{"unclosed pre code", "🏟 🏟```a ", "Can't find end of PreCode entity at byte offset 9"},
		{"unclosed underline", "🏟 🏟__", "Can't find end of Underline entity at byte offset 9"},
		{"unclosed URL", `[telegram\.org](asd\)`, "Can't find end of a URL at byte offset 16"},
		{"unclosed link text", "[abc", "Can't find end of TextUrl entity at byte offset 0"},
		{"unescaped dot in link text", "[a.b](https://example.com)", "Character '.' is reserved and must be escaped with the preceding '\\'"},
		{"bold across quote end", ">*a\nb*", "Can't find end of Bold entity at byte offset 1"},
	}
	testParseErrors(t, "ParseMarkdownV2", ParseMarkdownV2, tests)
}

// Every ASCII character outside the begin characters parses to itself unless
// reserved; a reserved one is an error alone and itself when escaped (tdlib's
// own test).
func TestParseMarkdownV2EveryASCII(t *testing.T) {
	const reserved = "]()>#+-=|{}.!"
	const begin = "_*[~`"
	for c := byte(1); c < 126; c++ {
		if strings.IndexByte(begin, c) >= 0 || c == '\n' {
			continue
		}
		s := string(c)
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			got, _, err := ParseMarkdownV2(s)
			if strings.IndexByte(reserved, c) < 0 {
				if err != nil || got != s {
					t.Fatalf("ParseMarkdownV2(%q) = %q, %v; want itself", s, got, err)
				}
				return
			}
			if c == '>' {
				// At the start of a line '>' opens a (here empty) block quote.
				if err != nil || got != "" {
					t.Fatalf("ParseMarkdownV2(%q) = %q, %v; want an empty quote", s, got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseMarkdownV2(%q) = %q, want an error", s, got)
			}
			if got, _, err := ParseMarkdownV2(`\` + s); err != nil || got != s {
				t.Fatalf("ParseMarkdownV2(%q) = %q, %v; want %q", `\`+s, got, err, s)
			}
		})
	}
}

func checkEntities(t *testing.T, text string, ents []Entity) {
	t.Helper()
	n := utf16Len(text)
	for _, e := range ents {
		if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
			t.Fatalf("entity %+v out of the text %q (UTF-16 length %d)", e, text, n)
		}
	}
}

func FuzzParseMarkdownV2(f *testing.F) {
	for _, s := range []string{"", "*a*", "_a_", "__a__", "~a~", "||a||", "`a`", "```go\na```", "[a](b)", "![a](tg://emoji?id=1)",
		">q\n>r||", "\\", "\\\\", "a.b", "*_~||`", "[a](http://x.y\\)", "🏟 🏟```🏟\r\n🏟```", ">*a\nb*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParse(t, ParseMarkdownV2, s) })
}
