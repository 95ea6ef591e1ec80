package telegramtest

import (
	"strings"
	"unicode/utf8"

	"github.com/devicegate/devicegate/internal/telegram"
)

// htmlTags are the tags parse_mode HTML allows.
var htmlTags = map[string]bool{
	"a": true, "b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "span": true, "tg-spoiler": true, "tg-emoji": true,
	"code": true, "pre": true, "blockquote": true,
}

// ParseHTML parses text with parse_mode HTML the way Telegram does (modelled
// on tdlib's parser, including its error messages). Only the tags b, strong,
// i, em, u, ins, s, strike, del, span class="tg-spoiler", tg-spoiler,
// tg-emoji, a href, code, pre and blockquote are allowed; &lt; &gt; &amp;
// &quot; &apos; and numeric character references are decoded, and any other
// '&' stays as it is.
func ParseHTML(src string) (string, []Entity, error) {
	at := func(i int) byte {
		if i < len(src) {
			return src[i]
		}
		return 0
	}
	type open struct {
		tag, arg string
		off      int
		beginPos int
	}
	var (
		out   []byte
		ents  []Entity
		stack []open
		u16   int
	)
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '&' {
			r, next, err := htmlEntity(src, i)
			if err != nil {
				return "", nil, err
			}
			if next > i {
				out = utf8.AppendRune(out, r)
				u16 += utf16Len(string(r))
				i = next - 1
				continue
			}
		}
		if c != '<' {
			if isFirstUTF8(c) {
				u16 += utf16Width(c)
			}
			out = append(out, c)
			continue
		}

		begin := i
		i++
		if at(i) != '/' {
			for !isSpace(at(i)) && at(i) != '>' {
				i++
			}
			if at(i) == 0 {
				return "", nil, parseErrorf("Unclosed start tag at byte offset %d", begin)
			}
			tag := strings.ToLower(src[begin+1 : i])
			if !htmlTags[tag] {
				return "", nil, parseErrorf("Unsupported start tag \"%s\" at byte offset %d", tag, begin)
			}
			arg := ""
			for at(i) != '>' {
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) == '>' {
					break
				}
				nameBegin := i
				for !isSpace(at(i)) && at(i) != '=' && at(i) != '>' {
					i++
				}
				name := strings.ToLower(src[nameBegin:i])
				if name == "" {
					return "", nil, parseErrorf("Empty attribute name in the tag \"%s\" at byte offset %d", tag, begin)
				}
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) != '=' {
					if tag == "blockquote" && name == "expandable" && at(i) != 0 {
						arg = "expandable"
						continue
					}
					return "", nil, parseErrorf("Expected equal sign in declaration of an attribute of the tag \"%s\" at byte offset %d", tag, begin)
				}
				i++
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) == 0 {
					return "", nil, parseErrorf("Unclosed start tag \"%s\" at byte offset %d", tag, begin)
				}
				var value []byte
				if q := at(i); q != '"' && q != '\'' {
					tokBegin := i
					for isAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
						i++
					}
					value = []byte(strings.ToLower(src[tokBegin:i]))
					if !isSpace(at(i)) && at(i) != '>' {
						return "", nil, parseErrorf("Unexpected end of name token at byte offset %d", tokBegin)
					}
				} else {
					i++
					for at(i) != q && at(i) != 0 {
						if at(i) == '&' {
							r, next, err := htmlEntity(src, i)
							if err != nil {
								return "", nil, err
							}
							if next > i {
								value = utf8.AppendRune(value, r)
								i = next
								continue
							}
						}
						value = append(value, src[i])
						i++
					}
					if at(i) == q {
						i++
					}
				}
				if at(i) == 0 {
					return "", nil, parseErrorf("Unclosed start tag at byte offset %d", begin)
				}
				v := string(value)
				switch {
				case tag == "a" && name == "href":
					arg = v
				case tag == "code" && name == "class" && strings.HasPrefix(v, "language-"):
					arg = v[len("language-"):]
				case tag == "span" && name == "class" && strings.HasPrefix(v, "tg-"):
					arg = v[len("tg-"):]
				case tag == "tg-emoji" && name == "emoji-id":
					arg = v
				}
			}
			if tag == "span" && arg != "spoiler" {
				return "", nil, parseErrorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
			}
			stack = append(stack, open{tag: tag, arg: arg, off: u16, beginPos: len(out)})
			continue
		}

		// An end tag.
		if len(stack) == 0 {
			return "", nil, parseErrorf("Unexpected end tag at byte offset %d", begin)
		}
		for !isSpace(at(i)) && at(i) != '>' {
			i++
		}
		name := strings.ToLower(src[begin+2 : i])
		for at(i) != 0 && isSpace(at(i)) {
			i++
		}
		if at(i) != '>' {
			return "", nil, parseErrorf("Unclosed end tag at byte offset %d", begin)
		}
		top := stack[len(stack)-1]
		if name != "" && name != top.tag {
			return "", nil, parseErrorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.tag, name)
		}
		stack = stack[:len(stack)-1]
		if u16 == top.off {
			continue
		}
		e := Entity{Offset: top.off, Length: u16 - top.off}
		switch top.tag {
		case "b", "strong":
			e.Type = "bold"
		case "i", "em":
			e.Type = "italic"
		case "u", "ins":
			e.Type = "underline"
		case "s", "strike", "del":
			e.Type = "strikethrough"
		case "span", "tg-spoiler":
			e.Type = "spoiler"
		case "tg-emoji":
			id, err := customEmojiID("tg://emoji?id=" + top.arg)
			if err != nil {
				return "", nil, err
			}
			e.Type, e.CustomEmojiID = "custom_emoji", id
		case "blockquote":
			e.Type = "blockquote"
			if top.arg == "expandable" {
				e.Type = "expandable_blockquote"
			}
		case "a":
			link := top.arg
			if link == "" {
				link = string(out[top.beginPos:])
			}
			if uid, ok := linkUserID(link); ok {
				e.Type, e.UserID = "text_mention", uid
			} else if u, ok := checkedLink(link); ok {
				e.Type, e.URL = "text_link", u
			}
		case "pre":
			e.Type = "pre"
			// <pre><code class="language-go">…</code></pre> is one pre entity.
			if n := len(ents); n > 0 && ents[n-1].Type == "code" && ents[n-1].Offset == e.Offset && ents[n-1].Length == e.Length && ents[n-1].Language != "" {
				e.Language = ents[n-1].Language
				ents = ents[:n-1]
			}
		case "code":
			e.Type, e.Language = "code", top.arg
			if n := len(ents); n > 0 && ents[n-1].Type == "pre" && ents[n-1].Offset == e.Offset && ents[n-1].Length == e.Length && top.arg != "" {
				ents[n-1].Language = top.arg
				e.Type = ""
			}
		}
		if e.Type != "" {
			ents = append(ents, e)
		}
	}
	if n := len(stack); n > 0 {
		return "", nil, parseErrorf("Can't find end tag corresponding to start tag %s", stack[n-1].tag)
	}
	// A language only means something on pre.
	for i := range ents {
		if ents[i].Type == "code" {
			ents[i].Language = ""
		}
	}
	sortEntities(ents)
	return string(out), ents, nil
}

// htmlEntity decodes the character reference at src[i] ('&'). It returns
// next == i when there is none (the '&' is then literal).
func htmlEntity(src string, i int) (r rune, next int, err error) {
	at := func(j int) byte {
		if j < len(src) {
			return src[j]
		}
		return 0
	}
	j := i + 1
	if at(j) == '#' {
		j++
		var n int64
		if at(j) == 'x' || at(j) == 'X' {
			j++
			for ; isHex(at(j)) && j-i < 12; j++ {
				n = n*16 + int64(hexVal(at(j)))
			}
		} else {
			for ; at(j) >= '0' && at(j) <= '9' && j-i < 12; j++ {
				n = n*10 + int64(at(j)-'0')
			}
		}
		if n == 0 || n >= 0x10FFFF || j-i >= 10 {
			return 0, i, nil
		}
		if n >= 0xD800 && n <= 0xDFFF {
			return 0, i, parseErrorf("Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units")
		}
		r = rune(n)
	} else {
		for isAlpha(at(j)) {
			j++
		}
		switch src[i+1 : j] {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		case "apos":
			r = '\''
		default:
			return 0, i, nil
		}
	}
	if at(j) == ';' {
		j++
	}
	return r, j, nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }
func isHex(c byte) bool   { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// utf16Len counts s in UTF-16 code units, the unit of Telegram's offsets and
// length limits: the client's own count, so that there is one.
func utf16Len(s string) int { return telegram.UTF16Len(s) }
