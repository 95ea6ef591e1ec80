package tokencache

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// readEntry reads a cache file as Save writes it, without reflection:
// encoding/json builds its decoder for Entry (and Account, ScopedToken,
// AWS, time.Time) on first use, and every `sidecar token` is a first use:
// that was the largest part of what it spent after starting.
//
// It is strict rather than general. It accepts the members Save writes,
// each once, spelled exactly, with values of their own type, and gives up
// (ok false) on anything else (an unknown or repeated member, a key in
// other letter case, null where Save never writes one, invalid UTF-8, a
// surrogate escape, data after the object), and the caller then decodes
// with encoding/json. What it accepts it decodes exactly as
// encoding/json does (FuzzReadEntry holds it to that), so the two paths
// never disagree.
func readEntry(b []byte) (e *Entry, ok bool) {
	r := reader{b: b}
	e = new(Entry)
	r.object(func(key string) bool {
		switch key {
		case "version":
			e.Version = r.int()
		case "profile":
			e.Profile = r.string()
		case "provider":
			e.Provider = r.string()
		case "access_token":
			e.AccessToken = r.string()
		case "token_type":
			e.TokenType = r.string()
		case "refresh_token":
			e.RefreshToken = r.string()
		case "expiry":
			e.Expiry = r.time()
		case "scopes_granted":
			e.ScopesGranted = r.strings()
		case "scopes_requested":
			e.ScopesRequested = r.strings()
		case "account":
			e.Account = r.account()
		case "signed_in_at":
			e.SignedInAt = r.time()
		case "refreshed_at":
			e.RefreshedAt = r.time()
		case "refresh_issued_at":
			e.RefreshIssuedAt = r.time()
		case "refresh_expires_at":
			e.RefreshExpiresAt = r.time()
		case "signin_required":
			e.SignInRequired = r.bool()
		case "reason":
			e.Reason = r.string()
		case "notified_at":
			e.NotifiedAt = r.time()
		case "one_off":
			e.OneOff = r.bool()
		case "flow":
			e.Flow = r.string()
		case "scoped":
			e.Scoped = r.scoped()
		case "aws":
			e.AWS = r.aws()
		default:
			return false
		}
		return true
	})
	r.space()
	if r.failed || r.i != len(r.b) {
		return nil, false
	}
	return e, true
}

func (r *reader) account() (a Account) {
	r.object(func(key string) bool {
		switch key {
		case "name":
			a.Name = r.string()
		case "email":
			a.Email = r.string()
		case "subject":
			a.Subject = r.string()
		default:
			return false
		}
		return true
	})
	return a
}

func (r *reader) scoped() map[string]*ScopedToken {
	m := map[string]*ScopedToken{}
	r.object(func(key string) bool {
		t := new(ScopedToken)
		r.object(func(field string) bool {
			switch field {
			case "scopes":
				t.Scopes = r.strings()
			case "access_token":
				t.AccessToken = r.string()
			case "token_type":
				t.TokenType = r.string()
			case "expiry":
				t.Expiry = r.time()
			case "scopes_granted":
				t.ScopesGranted = r.strings()
			case "refreshed_at":
				t.RefreshedAt = r.time()
			default:
				return false
			}
			return true
		})
		m[key] = t
		return true
	})
	return m
}

func (r *reader) aws() *AWS {
	a := new(AWS)
	r.object(func(key string) bool {
		switch key {
		case "start_url":
			a.StartURL = r.string()
		case "region":
			a.Region = r.string()
		case "account_id":
			a.AccountID = r.string()
		case "role_name":
			a.RoleName = r.string()
		case "client_id":
			a.ClientID = r.string()
		case "client_secret":
			a.ClientSecret = r.string()
		case "registration_expires_at":
			a.RegistrationExpiresAt = r.time()
		case "credentials":
			c := new(AWSCredentials)
			r.object(func(field string) bool {
				switch field {
				case "access_key_id":
					c.AccessKeyID = r.string()
				case "secret_access_key":
					c.SecretAccessKey = r.string()
				case "session_token":
					c.SessionToken = r.string()
				case "expiration":
					c.Expiration = r.time()
				default:
					return false
				}
				return true
			})
			a.Credentials = c
		default:
			return false
		}
		return true
	})
	return a
}

// reader reads JSON values off b. The first thing it does not accept sets
// failed; from then on every read returns a zero value.
type reader struct {
	b      []byte
	i      int
	failed bool
}

func (r *reader) fail() { r.failed = true }

// space skips JSON whitespace.
func (r *reader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// next skips whitespace and consumes c, or fails.
func (r *reader) next(c byte) bool {
	r.space()
	if r.failed || r.i == len(r.b) || r.b[r.i] != c {
		r.fail()
		return false
	}
	r.i++
	return true
}

// peek skips whitespace and reports whether c comes next.
func (r *reader) peek(c byte) bool {
	r.space()
	return !r.failed && r.i < len(r.b) && r.b[r.i] == c
}

// object reads {"key": value, ...}; member reads each value, and returns
// false for a key it does not know. A key seen twice fails: encoding/json
// would keep the last one, or merge two maps.
func (r *reader) object(member func(key string) bool) {
	if !r.next('{') {
		return
	}
	if r.peek('}') {
		r.i++
		return
	}
	var seen []string
	for !r.failed {
		key := r.string()
		for _, k := range seen {
			if k == key {
				r.fail()
			}
		}
		seen = append(seen, key)
		if !r.next(':') || !member(key) {
			r.fail()
			return
		}
		if r.peek(',') {
			r.i++
			continue
		}
		r.next('}')
		return
	}
}

// literal consumes word (true, false, null) if it comes next.
func (r *reader) literal(word string) bool {
	r.space()
	if r.failed || len(r.b)-r.i < len(word) || string(r.b[r.i:r.i+len(word)]) != word {
		return false
	}
	r.i += len(word)
	return true
}

func (r *reader) bool() bool {
	switch {
	case r.literal("true"):
		return true
	case r.literal("false"):
		return false
	}
	r.fail()
	return false
}

// int reads a small non-negative integer without a sign, fraction or
// exponent (the format version).
func (r *reader) int() int {
	r.space()
	start := r.i
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		r.i++
	}
	digits := string(r.b[start:r.i])
	if r.failed || digits == "" || len(digits) > 9 || len(digits) > 1 && digits[0] == '0' {
		r.fail()
		return 0
	}
	n, _ := strconv.Atoi(digits)
	return n
}

// strings reads an array of strings; null is nil, as encoding/json has it.
func (r *reader) strings() []string {
	if r.literal("null") {
		return nil
	}
	if !r.next('[') {
		return nil
	}
	out := []string{}
	if r.peek(']') {
		r.i++
		return out
	}
	for !r.failed {
		out = append(out, r.string())
		if r.peek(',') {
			r.i++
			continue
		}
		r.next(']')
		break
	}
	return out
}

// time reads what time.Time's MarshalJSON writes, with its UnmarshalJSON:
// the quoted RFC 3339 text, which holds no escapes.
func (r *reader) time() time.Time {
	r.space()
	start := r.i
	if !r.next('"') {
		return time.Time{}
	}
	for r.i < len(r.b) && r.b[r.i] != '"' && r.b[r.i] != '\\' && r.b[r.i] >= 0x20 && r.b[r.i] < utf8.RuneSelf {
		r.i++
	}
	if !r.next('"') {
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalJSON(r.b[start:r.i]); err != nil {
		r.fail()
		return time.Time{}
	}
	return t
}

// string reads a JSON string: UTF-8, with the escapes of RFC 8259 §7
// except surrogate halves, which encoding/json pairs or replaces.
func (r *reader) string() string {
	if !r.next('"') {
		return ""
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !utf8.Valid(s) {
				r.fail() // encoding/json replaces each bad byte with U+FFFD
				return ""
			}
			return string(s)
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			r.fail()
			return ""
		}
		r.i++
	}
	r.fail()
	return ""
}

// escaped finishes a string that holds an escape, from its start.
func (r *reader) escaped(start int) string {
	buf := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			if !utf8.Valid(buf) {
				r.fail()
				return ""
			}
			return string(buf)
		case c < 0x20:
			r.fail()
			return ""
		case c != '\\':
			buf = append(buf, c)
			r.i++
			continue
		}
		if r.i+1 == len(r.b) {
			break
		}
		r.i += 2
		switch e := r.b[r.i-1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			if len(r.b)-r.i < 4 {
				r.fail()
				return ""
			}
			n, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 16)
			if err != nil || 0xD800 <= n && n < 0xE000 {
				r.fail()
				return ""
			}
			r.i += 4
			buf = utf8.AppendRune(buf, rune(n))
		default:
			r.fail()
			return ""
		}
	}
	r.fail()
	return ""
}
