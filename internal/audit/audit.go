// Package audit keeps the audit log: one JSON object per line in
// audit.jsonl in the devicegate data directory, next to the token cache.
//
// Every token export, `sidecar run`, `sidecar api` call, sign-in, refresh,
// logout and approval decision is one [Event]. The log records what was
// done, never with what: no token, no request or response body, no query
// value. [Log.Append] enforces the part it can check (the query and the
// fragment are cut from Path, the user info from Host, secret-looking words
// are masked in Command and Detail), and callers pass only names.
//
// Several processes append at once (`sidecar api` calls run in parallel,
// serve records approvals). Each event is one write(2) to a file opened
// with O_APPEND, so lines never interleave; rotation takes an exclusive
// flock(2) on the file and renames it to audit.jsonl.1, and a writer that
// finds its file renamed under it opens the new one.
package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// FileName is the name of the log in the data directory; the previous
// generation is FileName + ".1".
const FileName = "audit.jsonl"

// DefaultMaxSize is the size at which the log is rotated: about ten
// thousand events. One older generation is kept, so the log never takes
// more than twice this on the volume.
const DefaultMaxSize = 2 << 20

// maxField bounds every string field of a line, so that one event cannot
// grow the log by more than a few kilobytes.
const maxField = 512

// maxLine bounds a line when reading; longer lines are skipped.
const maxLine = 16 << 10

// Callers.
const (
	CallerAgent = "agent" // a command the Docker guard let through (DEVICEGATE_CALLER=agent)
	CallerOwner = "owner" // everything else: the owner's terminal, docker exec on the host, serve
)

// CallerVar is the variable the Docker guard sets to CallerAgent on every
// exec it lets through (dockerguard.CallerVar is this name).
const CallerVar = "DEVICEGATE_CALLER"

// Caller returns who runs this command, from the environment: CallerAgent
// for a command the guard let through (and everything it started), else
// CallerOwner.
func Caller(getenv func(string) string) string {
	if getenv(CallerVar) == CallerAgent {
		return CallerAgent
	}
	return CallerOwner
}

// Actions.
const (
	ActionToken    = "token"
	ActionRun      = "run"
	ActionAPI      = "api"
	ActionSignIn   = "signin"
	ActionRefresh  = "refresh"
	ActionLogout   = "logout"
	ActionApproval = "approval"
)

// Event is one audit line. Never a token, a body or a query value.
type Event struct {
	Time     time.Time `json:"time"`
	Profile  string    `json:"profile"`
	Caller   string    `json:"caller"`             // "agent" or "owner"
	Action   string    `json:"action"`             // "token", "run", "api", "signin", "refresh", "logout", "approval"
	Decision string    `json:"decision,omitempty"` // "allow", "ask", "deny", "allow_once", "allow_1h", "timeout", ...
	Method   string    `json:"method,omitempty"`
	Host     string    `json:"host,omitempty"`
	Path     string    `json:"path,omitempty"`    // without the query
	Command  string    `json:"command,omitempty"` // program name (and subcommand) for run
	Via      string    `json:"via,omitempty"`     // "run gh": a request a tool made through sidecar run's proxy
	Status   int       `json:"status,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Filter selects events in [Log.Read].
type Filter struct {
	Profile string    // only this profile; "" for all
	Since   time.Time // only events at or after this time; zero for all
	Last    int       // only the last Last events that match; 0 for all
}

// Log is the audit log of one data directory. The zero MaxSize means
// [DefaultMaxSize]. A Log holds no open file: every Append opens, writes
// and closes, so it is safe to use from any number of processes.
type Log struct {
	Dir     string
	MaxSize int64
	now     func() time.Time
}

// Open returns the log in dir, the devicegate data directory. Nothing is
// created until the first Append.
func Open(dir string) *Log { return &Log{Dir: dir, now: time.Now} }

// Path is the file the log appends to.
func (l *Log) Path() string { return filepath.Join(l.Dir, FileName) }

func (l *Log) maxSize() int64 {
	if l.MaxSize > 0 {
		return l.MaxSize
	}
	return DefaultMaxSize
}

// Append writes e as one line, after [Sanitize]. A zero Time is now. The
// log keeps UTC: a line reads the same wherever it is read, and writing it
// needs no time zone database (loading it was a tenth of what `sidecar
// token` spent after start).
func (l *Log) Append(e Event) error {
	if e.Time.IsZero() {
		now := time.Now
		if l.now != nil {
			now = l.now
		}
		e.Time = now()
	}
	e.Time = e.Time.UTC()
	line, err := Sanitize(e).appendJSON(make([]byte, 0, 256))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	line = append(line, '\n')
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	f, err := l.openLocked(int64(len(line)))
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("audit: writing %s: %w", l.Path(), err)
	}
	return nil
}

// openLocked opens the current log for appending under an exclusive lock,
// rotated first if n more bytes would take it past the limit.
func (l *Log) openLocked(n int64) (*os.File, error) {
	path := l.Path()
	for range 8 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
		// Another writer may have rotated the file while we waited for the
		// lock: then f is audit.jsonl.1 and the line belongs in the new one.
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		cur, err := os.Stat(path)
		if err != nil || !os.SameFile(fi, cur) {
			f.Close()
			continue
		}
		// A log created by an older release or by hand with a wider mode is
		// narrowed: it names the owner's accounts and what was done with them.
		if fi.Mode().Perm() != 0o600 {
			if err := f.Chmod(0o600); err != nil {
				f.Close()
				return nil, err
			}
		}
		if fi.Size() > 0 && fi.Size()+n > l.maxSize() {
			if err := os.Rename(path, path+".1"); err != nil {
				f.Close()
				return nil, err
			}
			f.Close()
			continue
		}
		return f, nil
	}
	return nil, errors.New("the log keeps being rotated under this writer")
}

// Read returns the events that match f, oldest first, from the previous
// generation and the current one. Lines that do not parse are skipped: a
// damaged line must not hide the rest of the log.
func (l *Log) Read(f Filter) ([]Event, error) {
	var out []Event
	for _, name := range []string{l.Path() + ".1", l.Path()} {
		evs, err := readFile(name, f)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		out = append(out, evs...)
	}
	if f.Last > 0 && len(out) > f.Last {
		out = out[len(out)-f.Last:]
	}
	return out, nil
}

func readFile(name string, f Filter) ([]Event, error) {
	file, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	r := bufio.NewReaderSize(file, 64<<10)
	var out []Event
	for {
		line, err := readLine(r)
		if len(line) > 0 {
			if e, perr := ParseLine(line); perr == nil && f.match(e) {
				out = append(out, e)
			}
		}
		if err != nil {
			if errors.Is(err, errEOF) {
				return out, nil
			}
			return out, err
		}
	}
}

var errEOF = errors.New("eof")

// readLine returns the next line without its newline; a line longer than
// maxLine comes back empty (skipped), the reader past it.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	long := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !long {
			if len(buf)+len(chunk) > maxLine+1 {
				long, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case err == nil:
			if long {
				return nil, nil
			}
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default: // io.EOF or a read error: the last line may lack its newline
			if long {
				buf = nil
			}
			if err.Error() == "EOF" {
				return buf, errEOF
			}
			return buf, err
		}
	}
}

func (f Filter) match(e Event) bool {
	if f.Profile != "" && e.Profile != f.Profile {
		return false
	}
	return f.Since.IsZero() || !e.Time.Before(f.Since)
}

// ParseLine parses one line of the log. It fails on anything but a single
// JSON object with a time and an action.
func ParseLine(line []byte) (Event, error) {
	var e Event
	if len(line) > maxLine {
		return e, errors.New("audit line too long")
	}
	if !utf8.Valid(line) {
		return e, errors.New("audit line is not UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Event{}, fmt.Errorf("audit line: %w", err)
	}
	if dec.More() {
		return Event{}, errors.New("audit line: trailing data")
	}
	if e.Time.IsZero() || e.Action == "" {
		return Event{}, errors.New("audit line: no time or action")
	}
	return e, nil
}

// Sanitize returns e as the log stores it: the query and fragment cut from
// Path, user info and anything but host[:port] from Host, control
// characters removed, secret-looking words masked in Command and Detail,
// and every string field bounded.
func Sanitize(e Event) Event {
	e.Profile = clean(e.Profile)
	e.Caller = clean(e.Caller)
	e.Action = clean(e.Action)
	e.Decision = clean(e.Decision)
	e.Method = clean(e.Method)
	e.Host = clean(hostOnly(e.Host))
	e.Path = clean(maskPath(pathOnly(e.Path)))
	e.Command = clean(Mask(e.Command))
	e.Via = clean(Mask(e.Via))
	e.Detail = clean(Mask(e.Detail))
	return e
}

func pathOnly(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return p
}

func hostOnly(h string) string {
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexAny(h, "/?#"); i >= 0 {
		h = h[:i]
	}
	if i := strings.LastIndexByte(h, '@'); i >= 0 {
		h = h[i+1:]
	}
	return h
}

// clean removes control characters (a line is one line) and bounds s.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > maxField {
		cut := maxField
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// secretish matches what a token looks like: a JWT, the bearer scheme with
// its credentials, the prefixed tokens of GitHub, Slack and Google, and any
// run of 32 or more characters of the base64/hex alphabets (device codes,
// refresh tokens, client secrets). Compiled on first use, not at start:
// every sidecar command, `sidecar token` included, would pay for it.
var secretish = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(
		`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*` +
			`|(?i:bearer|basic)\s+\S+` +
			`|\b(?:gh[pousr]_|github_pat_|xox[abprs]-|ya29\.)[A-Za-z0-9_.-]+` +
			`|[A-Za-z0-9_+/=.~-]{32,}`)
})

// secretishSegment is secretish for one path segment: a slash separates
// segments there rather than being part of a base64 word.
var secretishSegment = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(
		`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*` +
			`|\b(?:gh[pousr]_|github_pat_|xox[abprs]-|ya29\.)[A-Za-z0-9_.-]+` +
			`|[A-Za-z0-9_+=.~%-]{32,}`)
})

// Mask replaces every secret-looking word in s with "[masked]".
func Mask(s string) string {
	if s == "" {
		return s // most events have no command or detail: compile nothing
	}
	return secretish().ReplaceAllString(s, "[masked]")
}

// maskPath masks secret-looking path segments. Long opaque ids (a Graph
// message id) are masked too: the log keeps what kind of thing was used.
func maskPath(p string) string {
	if p == "" {
		return p
	}
	return secretishSegment().ReplaceAllString(p, "[masked]")
}
