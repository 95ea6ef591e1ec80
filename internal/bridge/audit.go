package bridge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/devicegate/devicegate/internal/audit"
	"github.com/devicegate/devicegate/internal/telegram"
)

// AuditLog is the part of the audit log /audit reads (*audit.Log).
type AuditLog interface {
	Page(f audit.Filter, size, n int) (audit.Page, error)
}

// AuditPageSize is how many lines a page of /audit shows: ten lines of at
// most auditLineLen characters stay well inside Telegram's 4096.
const AuditPageSize = 10

// auditLineLen bounds one line of /audit (a path can be long).
const auditLineLen = 300

// MaxAuditPage is the oldest page /audit reaches back to: reading page n
// keeps n × AuditPageSize lines in memory. `sidecar audit` reads further.
const MaxAuditPage = 1000

// AuditQuery is what /audit asks for: a page, from 1 (the newest), of
// every line or of refusals only.
type AuditQuery struct {
	Denied bool
	Page   int
}

// auditUsage is the reply to arguments /audit does not take.
const auditUsage = "Usage: /audit [denied] [page]: /audit shows the newest lines, /audit 2 the page before, " +
	"/audit denied only refusals (/audit denied 2 for more)."

// ParseAuditArgs reads the arguments of /audit: at most one "denied" and
// at most one page number, in either order.
func ParseAuditArgs(args []string) (AuditQuery, error) {
	q := AuditQuery{Page: 1}
	var seenDenied, seenPage bool
	for _, a := range args {
		switch {
		case strings.EqualFold(a, "denied") && !seenDenied:
			q.Denied, seenDenied = true, true
		case !seenPage && a != "" && strings.Trim(a, "0123456789") == "":
			n, err := strconv.Atoi(a)
			if err != nil || n < 1 || n > MaxAuditPage {
				//lint:ignore ST1005 the error is the chat's answer, a sentence
				return AuditQuery{}, fmt.Errorf("There is no page %s: pages go from 1 (the newest) to %d; "+
					"for older lines run sidecar audit in the sidecar container.", telegram.Truncate(a, 20), MaxAuditPage)
			}
			q.Page, seenPage = n, true
		default:
			//lint:ignore ST1005 the error is the chat's answer, the usage
			return AuditQuery{}, errors.New(auditUsage)
		}
	}
	return q, nil
}

// AuditReply answers /audit with args from log.
func AuditReply(args []string, log AuditLog) telegram.Message {
	q, err := ParseAuditArgs(args)
	if err != nil {
		return telegram.Message{Text: esc(err.Error())}
	}
	p, err := log.Page(audit.Filter{Refused: q.Denied}, AuditPageSize, q.Page)
	return AuditMessage(q, p, err)
}

// AuditMessage renders a page of the audit log for /audit: its lines,
// oldest first, and a footer that says which page of how many it is and
// how to get the others. err is what reading the page returned.
func AuditMessage(q AuditQuery, p audit.Page, err error) telegram.Message {
	what := "the audit log"
	if q.Denied {
		what = "the list of refusals"
	}
	switch {
	case errors.Is(err, audit.ErrNoPage):
		return telegram.Message{Text: esc(fmt.Sprintf("There is no page %d: %s has %s of %d lines; the oldest is %s.",
			q.Page, what, plural(p.Pages, "page"), AuditPageSize, auditCommand(q.Denied, p.Pages)))}
	case err != nil:
		return telegram.Message{Text: esc(telegram.Truncate("Cannot read the audit log: "+err.Error(), 500))}
	case p.Total == 0 && q.Denied:
		return telegram.Message{Text: esc("No refusals in the audit log.")}
	case p.Total == 0:
		return telegram.Message{Text: esc("The audit log is empty.")}
	}
	var b strings.Builder
	if q.Denied {
		b.WriteString("📜 *Audit log: refusals* \\(UTC\\)\n")
	} else {
		b.WriteString("📜 *Audit log* \\(UTC\\)\n")
	}
	for _, e := range p.Events {
		b.WriteString(auditLine(e))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	footer := fmt.Sprintf("Page %d of %d", p.Number, p.Pages)
	switch {
	case p.Pages == 1:
		footer += fmt.Sprintf(", %s", plural(p.Total, "line"))
	case p.Number == 1:
		footer += " (the newest)"
	case p.Number == p.Pages:
		footer += " (the oldest)"
	}
	b.WriteString(esc(footer))
	var nav []string
	if p.Number < p.Pages {
		nav = append(nav, esc("older: ")+code(auditCommand(q.Denied, p.Number+1)))
	}
	if p.Number > 1 {
		nav = append(nav, esc("newer: ")+code(auditCommand(q.Denied, p.Number-1)))
	}
	if len(nav) > 0 {
		b.WriteString(" · " + strings.Join(nav, " · "))
	}
	return telegram.Message{Text: b.String()}
}

// auditLine is one event: the time (copyable), then profile, caller,
// action, decision, what and status; a refusal is marked.
func auditLine(e audit.Event) string {
	fields := []string{e.Profile, e.Caller, e.Action}
	if e.Decision != "" {
		fields = append(fields, e.Decision)
	}
	if w := e.What(); w != "" {
		fields = append(fields, w)
	}
	if e.Status != 0 {
		fields = append(fields, strconv.Itoa(e.Status))
	}
	mark := ""
	if e.Refused() {
		mark = "⛔ "
	}
	return mark + code(e.Time.UTC().Format("01-02 15:04:05")) + " " + esc(telegram.Truncate(strings.Join(fields, " · "), auditLineLen))
}

// auditCommand is the command that shows page n.
func auditCommand(denied bool, n int) string {
	c := "/audit"
	if denied {
		c += " denied"
	}
	if n > 1 {
		c += " " + strconv.Itoa(n)
	}
	return c
}
