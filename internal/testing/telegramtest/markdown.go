package telegramtest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Entity is a formatting entity of a parsed text, as the Bot API reports it
// in Message.entities. Offset and Length count UTF-16 code units.
type Entity struct {
	Type          string // bold, italic, underline, strikethrough, spoiler, code, pre, text_link, text_mention, custom_emoji, blockquote, expandable_blockquote, bot_command
	Offset        int
	Length        int
	URL           string // text_link
	Language      string // pre
	UserID        int64  // text_mention
	CustomEmojiID string // custom_emoji
}

// ParseError is a text Telegram refuses to parse. Error returns Telegram's
// own wording; the server answers 400 "Bad Request: can't parse entities: "
// followed by it.
type ParseError struct {
	Msg string
}

func (e *ParseError) Error() string { return e.Msg }

func parseErrorf(format string, args ...any) error {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

// kind is an entity type while parsing; name is how Telegram's errors call it.
type kind int

const (
	kBold kind = iota
	kItalic
	kUnderline
	kStrike
	kSpoiler
	kCode
	kPre
	kPreCode
	kTextURL
	kCustomEmoji
	kBlockQuote
	kExpandableBlockQuote
)

var kindNames = [...]string{"Bold", "Italic", "Underline", "Strikethrough", "Spoiler", "Code", "Pre", "PreCode", "TextUrl", "CustomEmoji", "BlockQuote", "ExpandableBlockQuote"}
var kindTypes = [...]string{"bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "pre", "text_link", "custom_emoji", "blockquote", "expandable_blockquote"}

func (k kind) String() string { return kindNames[k] }

// mdReserved are the characters MarkdownV2 reserves outside code and pre.
// '\n' is listed only so that the parser sees line starts (for block quotes);
// it is never an error.
const mdReserved = "_*[]()~`>#+-=|{}.!\n"

// ParseMarkdownV2 parses text with parse_mode MarkdownV2 the way Telegram
// does (modelled on tdlib's parser, including its error messages): it returns
// the plain text the person reads and the entities, or a *ParseError.
//
// Rules: any ASCII character 1–126 after '\' is literal; inside `code` and
// ```pre``` only '`' is special; inside a link's (...) a '\' escapes too; any
// other of _*[]()~`>#+-=|{}.! outside an entity marker must be escaped. A '\'
// before anything else (or at the end) is kept as a literal backslash.
func ParseMarkdownV2(src string) (string, []Entity, error) {
	at := func(i int) byte {
		if i < len(src) {
			return src[i]
		}
		return 0
	}
	type open struct {
		k        kind
		arg      string
		off      int // UTF-16 offset in the result
		byteOff  int // byte offset in src, for errors
		beginPos int // byte offset in the result
	}
	var (
		out        []byte
		ents       []Entity
		stack      []open
		u16        int
		haveQuote  bool
		canQuote   = true
		endEntityE = func(o open) error {
			return parseErrorf("Can't find end of %s entity at byte offset %d", o.k, o.byteOff)
		}
	)
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' && at(i+1) >= 1 && at(i+1) <= 126 {
			i++
			u16++
			out = append(out, src[i])
			if src[i] != '\r' {
				canQuote = src[i] == '\n'
			}
			continue
		}
		reserved := mdReserved
		if n := len(stack); n > 0 {
			switch stack[n-1].k {
			case kCode, kPre, kPreCode:
				reserved = "`"
			}
		}
		if strings.IndexByte(reserved, c) < 0 {
			if isFirstUTF8(c) {
				u16 += utf16Width(c)
				if c != '\r' {
					canQuote = false
				}
			}
			out = append(out, c)
			continue
		}

		isEnd := false
		if n := len(stack); n > 0 {
			if haveQuote && c == '\n' && (i+1 == len(src) || src[i+1] != '>') {
				isEnd = true
			} else {
				switch stack[n-1].k {
				case kBold:
					isEnd = c == '*'
				case kItalic:
					isEnd = c == '_' && at(i+1) != '_'
				case kCode:
					isEnd = c == '`'
				case kPre, kPreCode:
					isEnd = c == '`' && at(i+1) == '`' && at(i+2) == '`'
				case kTextURL, kCustomEmoji:
					isEnd = c == ']'
				case kUnderline:
					isEnd = c == '_' && at(i+1) == '_'
				case kStrike:
					isEnd = c == '~'
				case kSpoiler:
					isEnd = c == '|' && at(i+1) == '|'
				}
			}
		}

		if !isEnd {
			// The start of an entity, or a reserved character out of place.
			var (
				k       kind
				arg     string
				byteOff = i
			)
			reservedErr := func() error {
				return parseErrorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
			}
			switch c {
			case '_':
				k = kItalic
				if at(i+1) == '_' {
					k = kUnderline
					i++
				}
			case '*':
				k = kBold
			case '~':
				k = kStrike
			case '|':
				if at(i+1) != '|' {
					return "", nil, reservedErr()
				}
				i++
				k = kSpoiler
			case '[':
				k = kTextURL
			case '`':
				if at(i+1) != '`' || at(i+2) != '`' {
					k = kCode
					break
				}
				i += 3
				k = kPre
				langEnd := i
				for !isSpace(at(langEnd)) && at(langEnd) != '`' {
					langEnd++
				}
				if i != langEnd && langEnd < len(src) && at(langEnd) != '`' {
					k = kPreCode
					arg = src[i:langEnd]
					i = langEnd
				}
				// One line break right after the opening marker is not content.
				if at(i) == '\n' || at(i) == '\r' {
					if (at(i+1) == '\n' || at(i+1) == '\r') && at(i) != at(i+1) {
						i += 2
					} else {
						i++
					}
				}
				i--
			case '!':
				if at(i+1) != '[' {
					return "", nil, reservedErr()
				}
				i++
				k = kCustomEmoji
			case '\n':
				u16++
				out = append(out, '\n')
				canQuote = true
				continue
			case '>':
				if !canQuote {
					return "", nil, reservedErr()
				}
				if haveQuote {
					continue // the next line of the same quote
				}
				k = kBlockQuote
				haveQuote = true
			default:
				return "", nil, reservedErr()
			}
			stack = append(stack, open{k: k, arg: arg, off: u16, byteOff: byteOff, beginPos: len(out)})
			continue
		}

		// The end of the innermost entity.
		top := stack[len(stack)-1]
		k := top.k
		if c == '\n' && k != kBlockQuote {
			// Only "||" right before the line break may close here: it marks
			// the quote as expandable.
			if k != kSpoiler || !(top.byteOff == i-2 || (top.byteOff == i-3 && len(out) > 0 && out[len(out)-1] == '\r')) {
				return "", nil, endEntityE(top)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return "", nil, endEntityE(top)
			}
			top = stack[len(stack)-1]
			if top.k != kBlockQuote {
				return "", nil, endEntityE(top)
			}
			k = kExpandableBlockQuote
		}
		ent := Entity{Type: kindTypes[k], Offset: top.off}
		skip := u16 == top.off
		switch k {
		case kBold, kItalic, kCode, kStrike:
		case kUnderline, kSpoiler:
			i++
		case kPre, kPreCode:
			i += 2
			ent.Language = top.arg
		case kTextURL, kCustomEmoji:
			var link string
			if at(i+1) == '(' {
				i += 2
				begin := i
				var b []byte
				for i < len(src) && src[i] != ')' {
					if src[i] == '\\' && at(i+1) >= 1 && at(i+1) <= 126 {
						b = append(b, src[i+1])
						i += 2
						continue
					}
					b = append(b, src[i])
					i++
				}
				if at(i) != ')' {
					if k == kCustomEmoji {
						return "", nil, parseErrorf("Can't find end of a custom emoji URL at byte offset %d", begin)
					}
					return "", nil, parseErrorf("Can't find end of a URL at byte offset %d", begin)
				}
				link = string(b)
			} else if k == kCustomEmoji {
				return "", nil, parseErrorf("Custom emoji entity must contain a tg://emoji URL")
			} else {
				link = string(out[top.beginPos:]) // [https://example.com] links itself
			}
			if k == kCustomEmoji {
				id, err := customEmojiID(link)
				if err != nil {
					return "", nil, err
				}
				ent.CustomEmojiID = id
				break
			}
			if uid, ok := linkUserID(link); ok {
				ent.Type, ent.UserID = "text_mention", uid
			} else if u, ok := checkedLink(link); ok {
				ent.URL = u
			} else {
				skip = true // Telegram drops a link it can't use, silently
			}
		case kBlockQuote, kExpandableBlockQuote:
			haveQuote = false
			out = append(out, src[i])
			canQuote = true
			u16++
			skip = false
		}
		if !skip {
			ent.Length = u16 - top.off
			ents = append(ents, ent)
		}
		stack = stack[:len(stack)-1]
	}
	if haveQuote && len(stack) > 0 {
		k := kBlockQuote
		if top := stack[len(stack)-1]; top.k == kSpoiler && top.byteOff == len(src)-2 {
			stack = stack[:len(stack)-1]
			k = kExpandableBlockQuote
		}
		if n := len(stack); n > 0 && stack[n-1].k == kBlockQuote {
			if l := u16 - stack[n-1].off; l != 0 {
				ents = append(ents, Entity{Type: kindTypes[k], Offset: stack[n-1].off, Length: l})
			}
			stack = stack[:n-1]
		}
	}
	if n := len(stack); n > 0 {
		return "", nil, endEntityE(stack[n-1])
	}
	sortEntities(ents)
	return string(out), ents, nil
}

func isFirstUTF8(c byte) bool { return c&0xC0 != 0x80 }

// utf16Width is how many UTF-16 code units the character starting with the
// byte c takes: two for the 4-byte UTF-8 sequences (surrogate pairs).
func utf16Width(c byte) int {
	if c >= 0xF0 {
		return 2
	}
	return 1
}

// isSpace is tdlib's is_space; 0 stands for the end of the text.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', 0, '\v':
		return true
	}
	return false
}

var typeOrder = map[string]int{
	"blockquote": 0, "expandable_blockquote": 0, "pre": 1, "code": 2, "text_link": 3, "text_mention": 3,
	"custom_emoji": 4, "bold": 5, "italic": 6, "underline": 7, "strikethrough": 8, "spoiler": 9, "bot_command": 10,
}

func sortEntities(ents []Entity) {
	sort.SliceStable(ents, func(a, b int) bool {
		x, y := ents[a], ents[b]
		if x.Offset != y.Offset {
			return x.Offset < y.Offset
		}
		if x.Length != y.Length {
			return x.Length > y.Length
		}
		return typeOrder[x.Type] < typeOrder[y.Type]
	})
}

// linkUserID recognises tg://user?id=N mentions.
func linkUserID(link string) (int64, bool) {
	s := strings.ToLower(link)
	s, ok := strings.CutPrefix(s, "tg:")
	if !ok {
		return 0, false
	}
	s = strings.TrimPrefix(s, "//")
	if s, ok = strings.CutPrefix(s, "user"); !ok {
		return 0, false
	}
	s = strings.TrimPrefix(s, "/")
	if s, ok = strings.CutPrefix(s, "?"); !ok {
		return 0, false
	}
	s, _, _ = strings.Cut(s, "#")
	for _, p := range strings.Split(s, "&") {
		if k, v, _ := strings.Cut(p, "="); k == "id" {
			id, err := strconv.ParseInt(v, 10, 32)
			return id, err == nil && id > 0
		}
	}
	return 0, false
}

func customEmojiID(link string) (string, error) {
	rest, ok := strings.CutPrefix(strings.ToLower(link), "tg://emoji?")
	if !ok {
		return "", parseErrorf("Custom emoji URL must have scheme tg and host emoji")
	}
	for _, p := range strings.Split(rest, "&") {
		if k, v, _ := strings.Cut(p, "="); k == "id" {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil && id != 0 {
				return v, nil
			}
			return "", parseErrorf("Invalid custom emoji identifier specified")
		}
	}
	return "", parseErrorf("Custom emoji URL must have an emoji identifier")
}
