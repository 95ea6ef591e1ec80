package bridge

import (
	"errors"
	"fmt"
	"strings"

	"github.com/devicegate/devicegate/internal/approval"
	dgate "github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/telegram"
)

// The approval message shows everything that decides what happens (issue
// 17): the method and the whole URL with its query, every header beyond
// the standard ones, the body's start (secret-looking values masked by the
// gate, URLs never), the token's variant and scopes, run's whole command
// line, and the tool whose request it is. Only the body's preview may be
// shortened to fit Telegram's 4096 characters; a question whose other
// parts do not fit is not asked (ErrTooLong).

// ErrTooLong is returned by Approvals.Ask for a question that cannot be
// shown in full in one message: the owner cannot allow what they cannot
// see, so it is denied.
var ErrTooLong = errors.New("the request is too long to show in one Telegram message")

// questionBudget is how much of a message's 4096 characters the
// description may take: the rest is for the title, the timeout or outcome
// line and the separators.
const questionBudget = telegram.MaxTextLen - 256

// rich builds MarkdownV2 and counts the text the person reads, in UTF-16
// code units as Telegram counts its limit.
type rich struct {
	md, plain strings.Builder
	n         int
}

func (r *rich) text(s string) {
	r.md.WriteString(esc(s))
	r.plain.WriteString(s)
	r.n += telegram.UTF16Len(s)
}
func (r *rich) code(s string) {
	r.md.WriteString(code(s))
	r.plain.WriteString(s)
	r.n += telegram.UTF16Len(s)
}
func (r *rich) bold(s string) {
	r.md.WriteString("*" + esc(s) + "*")
	r.plain.WriteString(s)
	r.n += telegram.UTF16Len(s)
}
func (r *rich) pre(s string) {
	r.md.WriteString("```\n" + telegram.EscapeCode(s) + "\n```\n")
	r.plain.WriteString(s + "\n")
	r.n += telegram.UTF16Len(s) + 2
}

// QuestionText is the question as plain text, whole (for a terminal:
// `sidecar approvals`), with the same lines as the Telegram message.
func QuestionText(req approval.Request) string {
	head, tail := describeParts(req)
	s := head.plain.String()
	if p := req.Preview; p != "" && req.Action == approval.ActionAPI {
		s += p + "\n"
	}
	return s + tail.plain.String()
}

// describeQuestion renders req within budget characters; ok is false when
// even without a preview it does not fit.
func describeQuestion(req approval.Request, budget int) (md string, ok bool) {
	head, tail := describeParts(req)
	preview := ""
	if req.Action == approval.ActionAPI {
		preview = req.Preview
	}
	room := budget - head.n - tail.n
	if room < 0 {
		return "", false
	}
	md = head.md.String()
	if preview != "" {
		const note = "\n… %d more characters not shown"
		if n := telegram.UTF16Len(preview); n+2 > room {
			cut := telegram.Truncate(preview, room-2-len(note)-8)
			preview = strings.TrimSuffix(cut, "…") + fmt.Sprintf(note, n-telegram.UTF16Len(strings.TrimSuffix(cut, "…")))
		}
		if room > len(note)+16 {
			var p rich
			p.pre(preview)
			md += p.md.String()
		} else {
			md += esc("(no room for the body's start: see its size and SHA-256 above)") + "\n"
		}
	}
	return md + tail.md.String(), true
}

// describeParts renders all but the preview: head before it, tail after.
func describeParts(req approval.Request) (head, tail *rich) {
	head, tail = &rich{}, &rich{}
	who := req.Profile
	if req.Account != "" {
		who += " (" + req.Account + ")"
	}
	head.text("Account: " + who + "\n")
	if req.Via != "" {
		head.text("Made by ")
		head.code(strings.TrimPrefix(req.Via, "run "))
		head.text(", a tool started with sidecar run\n")
	}
	switch dgate.Kind(req.Action) {
	case dgate.API:
		head.text("API call: ")
		head.code(req.Method + " " + req.URL())
		head.text("\n")
		if len(req.Headers) > 0 {
			head.text("Headers:\n")
			for _, h := range req.Headers {
				head.code(h)
				head.text("\n")
			}
		}
		if req.BodySize > 0 {
			head.text("Body: " + byteSize(req.BodySize))
			if len(req.BodyDigest) >= 16 {
				head.text(", SHA-256 " + req.BodyDigest[:16] + "…")
			}
			head.text("\n")
		}
	case dgate.Token:
		switch req.Variant {
		case dgate.VariantScoped:
			head.text("Wants a token for just these scopes (")
			head.code("sidecar token --scope")
			head.text("): whoever holds it can act as you within them until it expires.\nScopes: ")
			head.code(strings.Join(req.Scopes, " "))
			head.text("\n")
		case dgate.VariantAWS:
			head.text("Wants AWS role credentials (")
			head.code("sidecar token --aws-credentials")
			head.text("): whoever holds them can act as the role until they expire.\n")
		default:
			head.text("Wants the raw access token (")
			head.code("sidecar token")
			head.text("): whoever holds it can act as you until it expires.\n")
		}
	case dgate.Run:
		head.text("Wants to run a program (")
		head.code("sidecar run")
		head.text("):\n")
		head.pre(shellJoin(req.Command))
		if req.WithToken {
			head.text("⚠️ The program gets the raw token itself (with-token): it can print it or send it anywhere.\n")
		}
	case dgate.SignIn, dgate.Logout:
		describeSignIn(head, req)
	default:
		head.text("Action: " + req.Action + "\n")
	}
	if req.Rule != "" {
		tail.text("Rule: ")
		tail.code(req.Rule)
		tail.text("\n")
	}
	return head, tail
}
