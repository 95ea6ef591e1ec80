package telegramtest

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// checkedLink is the fake's version of Telegram's link check for text links:
// it returns the link to store, or false when Telegram would drop the link
// (the text stays, unlinked). A link without a scheme gets "http://".
func checkedLink(link string) (string, bool) {
	if link == "" || !utf8.ValidString(link) || strings.ContainsAny(link, " \t\r\n") {
		return "", false
	}
	if !strings.Contains(link, "://") && !hasScheme(link, "tg:", "ton:") {
		link = "http://" + link
	}
	if !linkOK(link) {
		return "", false
	}
	return link, true
}

// buttonURLOK reports whether Telegram accepts link as an inline keyboard
// button URL: http(s) with a host that has a dot (so not "localhost"), or a
// tg:// link.
func buttonURLOK(link string) bool {
	if link == "" || !utf8.ValidString(link) || strings.ContainsAny(link, " \t\r\n") {
		return false
	}
	if !strings.Contains(link, "://") && !hasScheme(link, "tg:") {
		link = "http://" + link
	}
	return linkOK(link) && !hasScheme(link, "ton:")
}

func hasScheme(link string, schemes ...string) bool {
	for _, s := range schemes {
		if len(link) >= len(s) && strings.EqualFold(link[:len(s)], s) {
			return true
		}
	}
	return false
}

func linkOK(link string) bool {
	u, err := url.Parse(link)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "tg", "ton":
		return u.Host != "" || u.Opaque != ""
	case "http", "https":
		return hostOK(u.Hostname()) && portOK(u.Port())
	}
	return false
}

// hostOK wants a dotted name of letters, digits and hyphens (or non-ASCII
// letters, for internationalised names) with no empty label.
func hostOK(h string) bool {
	if !strings.Contains(h, ".") || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			ok := r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r >= 0x80
			if !ok {
				return false
			}
		}
	}
	return true
}

func portOK(p string) bool {
	if p == "" {
		return true
	}
	n := 0
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
		if n > 65535 {
			return false
		}
	}
	return n > 0
}
