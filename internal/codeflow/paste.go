package codeflow

import (
	"net/url"
	"strings"
)

// MaxPaste bounds a pasted text: a redirect address is well under 2 KB
// (Microsoft's codes are the longest, about 1 KB).
const MaxPaste = 8 << 10

// Redirect is the authorization response read from a pasted address
// (RFC 6749 §4.1.2 and §4.1.2.1).
type Redirect struct {
	URL              *url.URL // the address, without its query's meaning
	State            string
	Code             string // on success
	Error            string // on failure, e.g. access_denied
	ErrorDescription string
}

// ParseRedirect finds the redirect address in what the person pasted:
// the address alone, or with words around it ("here: <address> thanks"),
// in angle brackets or quotes as chat apps and people write them. It
// wants an http(s) address whose query has state and either code or
// error. Anything else is a *PasteError with ReasonMalformed.
func ParseRedirect(text string) (*Redirect, error) {
	if len(text) > MaxPaste {
		return nil, pasteErr(ReasonMalformed, "the text is too long to be a sign-in address (%d bytes)", len(text))
	}
	for _, field := range strings.Fields(text) {
		i := indexFold(field, "http://")
		if j := indexFold(field, "https://"); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			continue
		}
		// Quotes and brackets people or apps put around an address; a
		// query value never ends in these (base64url, percent-encoded).
		raw := strings.TrimRight(field[i:], `"'<>()[]{},;`)
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			continue
		}
		r := &Redirect{
			State: q.Get("state"), Code: q.Get("code"),
			Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
		}
		if r.State == "" || (r.Code == "" && r.Error == "") {
			continue
		}
		u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
		r.URL = u
		return r, nil
	}
	return nil, pasteErr(ReasonMalformed, "no sign-in address found: after you allow, copy the whole address your browser shows (it begins with the redirect address and holds code= and state=) and send it")
}

// StateOf returns the state a pasted text carries, "" when it carries
// none: how a paste finds the sign-in that waits for it.
func StateOf(text string) string {
	r, err := ParseRedirect(text)
	if err != nil {
		return ""
	}
	return r.State
}

func indexFold(s, sub string) int {
	if len(s) < len(sub) {
		return -1
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
