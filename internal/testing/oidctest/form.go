package oidctest

import (
	"html"
	"net/url"
	"strings"
)

// This file reads just enough HTML to find a page's title, its visible text and its forms,
// the way a browser would submit them. It uses only the standard library so that the package
// adds no dependency to the module; the provider's pages are small and well-formed, and the
// parser never fails: at worst it finds fewer forms, which the caller reports with the page.

// page is a parsed HTML page.
type page struct {
	url   *url.URL // where the page was fetched, for resolving form actions
	title string
	text  string // visible text, whitespace collapsed
	forms []*form
}

// form is an HTML form with its controls in document order, including controls outside it
// that name it with a form="id" attribute (as the provider's device pages do).
type form struct {
	id, action, method string
	fields             []*field
}

// field is an input, button or textarea.
type field struct {
	tag, typ    string // typ is lower case; "text" for a plain input, "submit" for a plain button
	name, value string
	checked     bool
	disabled    bool
	label       string // a button's text
}

// isButton reports whether the field submits its form when clicked.
func (f *field) isButton() bool {
	return (f.tag == "button" && f.typ == "submit") || (f.tag == "input" && (f.typ == "submit" || f.typ == "image"))
}

// field returns the first control with the given name, or nil.
func (f *form) field(name string) *field {
	for _, fl := range f.fields {
		if fl.name == name {
			return fl
		}
	}
	return nil
}

// buttons returns the form's submit buttons.
func (f *form) buttons() []*field {
	var out []*field
	for _, fl := range f.fields {
		if fl.isButton() {
			out = append(out, fl)
		}
	}
	return out
}

// values returns what a browser sends when the person clicks button (nil: submit without a
// button, as pressing Enter in a text field does). Unticked boxes and other buttons are left out.
func (f *form) values(button *field) url.Values {
	v := url.Values{}
	for _, fl := range f.fields {
		if fl.disabled || fl.name == "" {
			continue
		}
		switch {
		case fl.isButton():
			if fl == button {
				v.Add(fl.name, fl.value)
			}
		case fl.tag == "button":
			// type=button or reset: never submitted
		case fl.typ == "checkbox" || fl.typ == "radio":
			if fl.checked {
				value := fl.value
				if value == "" {
					value = "on"
				}
				v.Add(fl.name, value)
			}
		case fl.typ == "reset" || fl.typ == "file":
		default:
			v.Add(fl.name, fl.value)
		}
	}
	return v
}

// formWith returns the first form with a control of the given name.
func (p *page) formWith(name string) *form {
	for _, f := range p.forms {
		if f.field(name) != nil {
			return f
		}
	}
	return nil
}

// parsePage parses an HTML document.
func parsePage(u *url.URL, doc string) *page {
	p := &page{url: u}
	var (
		text     strings.Builder
		current  *form    // the open <form>, if any
		pending  []*field // controls with form="id", placed after parsing
		pendingF []string // their form ids
		byID     = map[string]*form{}
		button   *field // the open <button>, collecting its label
	)
	addText := func(s string) {
		s = html.UnescapeString(s)
		if button != nil {
			button.label += s
		}
		text.WriteString(s)
		text.WriteByte(' ')
	}
	addField := func(fl *field, attrs map[string]string) {
		if id, ok := attrs["form"]; ok {
			pending = append(pending, fl)
			pendingF = append(pendingF, id)
		} else if current != nil {
			current.fields = append(current.fields, fl)
		}
	}

	for i := 0; i < len(doc); {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			addText(doc[i:])
			break
		}
		addText(doc[i : i+lt])
		i += lt
		rest := doc[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				i = len(doc)
			} else {
				i += 4 + end + 3
			}
			continue
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
			i += skipPast(rest, '>')
			continue
		}
		name, attrs, n := parseTag(rest)
		if n == 0 { // a lone "<" is text
			addText("<")
			i++
			continue
		}
		i += n
		switch name {
		case "/form":
			current = nil
		case "/button":
			if button != nil {
				button.label = strings.Join(strings.Fields(button.label), " ")
			}
			button = nil
		case "form":
			current = &form{id: attrs["id"], action: attrs["action"], method: strings.ToUpper(attrs["method"])}
			if current.method == "" {
				current.method = "GET"
			}
			p.forms = append(p.forms, current)
			if current.id != "" {
				byID[current.id] = current
			}
		case "input", "button":
			_, disabled := attrs["disabled"]
			_, checked := attrs["checked"]
			fl := &field{tag: name, typ: strings.ToLower(attrs["type"]), name: attrs["name"], value: attrs["value"], checked: checked, disabled: disabled}
			if fl.typ == "" {
				fl.typ = map[string]string{"input": "text", "button": "submit"}[name]
			}
			addField(fl, attrs)
			if name == "button" {
				button = fl
			}
		case "textarea", "title", "script", "style":
			// Raw text up to the closing tag.
			end := indexFold(doc[i:], "</"+name)
			if end < 0 {
				end = len(doc) - i
			}
			raw := doc[i : i+end]
			i += end
			i += skipPast(doc[i:], '>')
			switch name {
			case "textarea":
				addField(&field{tag: name, typ: "textarea", name: attrs["name"], value: html.UnescapeString(raw)}, attrs)
			case "title":
				p.title = strings.Join(strings.Fields(html.UnescapeString(raw)), " ")
			}
		}
	}
	for k, fl := range pending {
		if f := byID[pendingF[k]]; f != nil {
			f.fields = append(f.fields, fl)
		}
	}
	p.text = strings.Join(strings.Fields(text.String()), " ")
	return p
}

// parseTag parses a start or end tag at the start of s. It returns the lower-case name ("/form"
// for an end tag), the attributes with decoded values (names lower case, first one wins) and
// the tag's length; length 0 means s does not start with a tag.
func parseTag(s string) (name string, attrs map[string]string, n int) {
	i := 1
	end := false
	if i < len(s) && s[i] == '/' {
		end = true
		i++
	}
	start := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == start || !isLetter(s[start]) {
		return "", nil, 0
	}
	name = strings.ToLower(s[start:i])
	if end {
		name = "/" + name
	}
	attrs = map[string]string{}
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '>' {
			return name, attrs, i + 1
		}
		start := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/' {
			i++
		}
		key := strings.ToLower(s[start:i])
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		value := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				j := strings.IndexByte(s[i+1:], q)
				if j < 0 {
					value, i = s[i+1:], len(s)
				} else {
					value, i = s[i+1:i+1+j], i+1+j+1
				}
			} else {
				start := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				value = s[start:i]
			}
		}
		if _, seen := attrs[key]; !seen && key != "" {
			attrs[key] = html.UnescapeString(value)
		}
	}
	return name, attrs, len(s) // unterminated tag: it runs to the end of the document
}

// skipPast returns the length of s up to and including the first c, or len(s).
func skipPast(s string, c byte) int {
	if j := strings.IndexByte(s, c); j >= 0 {
		return j + 1
	}
	return len(s)
}

// indexFold is strings.Index ignoring ASCII case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isNameByte(c byte) bool {
	return isLetter(c) || ('0' <= c && c <= '9') || c == '-' || c == '_' || c == ':'
}
