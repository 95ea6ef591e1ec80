package telegram

import "strings"

// Telegram's limits, after entity parsing (so escapes don't count). The
// fake server counts UTF-16 code units, like Telegram's entity offsets, and
// so does Truncate.
const (
	MaxTextLen    = 4096
	MaxCaptionLen = 1024
)

// Escape makes s plain text in MarkdownV2: it puts a backslash before each
// of _*[]()~`>#+-=|{}.! and before backslashes (which the library's
// EscapeText leaves alone, so "C:\x" would lose its backslash).
func Escape(s string) string { return escape(s, "_*[]()~`>#+-=|{}.!\\") }

// EscapeCode escapes s for use inside `code` or ```pre```, where only `
// and \ are special. Telegram drops one line break right after the opening
// ``` (and a first word there is the language), so write "```\n" first.
func EscapeCode(s string) string { return escape(s, "`\\") }

// EscapeURL escapes s for use inside the (...) of a MarkdownV2 link, where
// only ) and \ are special.
func EscapeURL(s string) string { return escape(s, ")\\") }

func escape(s, special string) string {
	if !strings.ContainsAny(s, special) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ { // the special characters are ASCII
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Truncate shortens the plain text s to at most n UTF-16 code units, ending
// it with "…" when it cuts. Apply it before escaping: escapes don't count
// against Telegram's limits.
func Truncate(s string, n int) string {
	if UTF16Len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	used := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if used+w > n-1 { // room for "…"
			return s[:i] + "…"
		}
		used += w
	}
	return s
}

// UTF16Len counts s in UTF-16 code units, the unit of Telegram's offsets
// and length limits (4096 for a message).
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}
