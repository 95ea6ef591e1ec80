package audit

import (
	"strconv"
	"unicode/utf8"
)

// appendJSON appends e as encoding/json marshals it, byte for byte
// (FuzzAppendJSON holds it to that), without reflection: json.Marshal
// builds its encoder for Event on first use, which costs every
// short-lived command (`sidecar token` writes one line and exits) more
// than the rest of its work.
func (e Event) appendJSON(b []byte) ([]byte, error) {
	t, err := e.Time.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, `{"time":`...)
	b = append(b, t...)
	b = appendField(b, "profile", e.Profile)
	b = appendField(b, "caller", e.Caller)
	b = appendField(b, "action", e.Action)
	for _, f := range [...]struct{ name, value string }{
		{"decision", e.Decision}, {"method", e.Method}, {"host", e.Host}, {"path", e.Path}, {"command", e.Command}, {"via", e.Via},
	} {
		if f.value != "" {
			b = appendField(b, f.name, f.value)
		}
	}
	if e.Status != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
	}
	if e.Detail != "" {
		b = appendField(b, "detail", e.Detail)
	}
	return append(b, '}'), nil
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

const hex = "0123456789abcdef"

// appendString is encoding/json's string encoding with its defaults:
// quotes, backslashes and control characters escaped, <, > and & escaped
// for HTML, invalid UTF-8 replaced by U+FFFD, and U+2028 and U+2029
// escaped for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
