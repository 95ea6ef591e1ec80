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
// flock(2) on the file and renames it to the next numbered generation
// (audit.jsonl.1, .2, ...: the higher the number, the more recent), and a
// writer that finds its file renamed under it opens the new one.
//
// Retention: a generation is deleted only when its newest line is older
// than [Retention] (30 days), so the log always holds the last 30 days
// whatever was written since; an agent cannot flush an entry by writing
// many others. What bounds the disk instead is [Log.Admit], the rate limit
// on agent actions (rate.go).
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// FileName is the name of the log in the data directory; older
// generations are FileName + ".1", ".2", ..., the highest the most recent.
const FileName = "audit.jsonl"

// DefaultMaxSize is the size at which the log is rotated into a new
// generation: about ten thousand events a file.
const DefaultMaxSize = 2 << 20

// Retention is how long an entry is kept at least: a generation is deleted
// at a rotation only when its newest entry is older than this.
const Retention = 30 * 24 * time.Hour

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
	Refused bool      // only refusals ([Event.Refused])
	Last    int       // only the last Last events that match; 0 for all
}

// Log is the audit log of one data directory. The zero MaxSize means
// [DefaultMaxSize], the zero Rate and Burst [DefaultRate] and
// [DefaultBurst]. A Log holds no open file: every Append opens, writes and
// closes, so it is safe to use from any number of processes.
type Log struct {
	Dir     string
	MaxSize int64
	// Rate is how many agent actions a minute [Log.Admit] lets through
	// once Burst is spent.
	Rate  int
	Burst int
	now   func() time.Time
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
		e.Time = l.clock()
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

func (l *Log) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
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
		// lock: then f is an older generation and the line belongs in the new
		// current file.
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
			err := l.rotate()
			f.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		return f, nil
	}
	return nil, errors.New("the log keeps being rotated under this writer")
}

// rotate renames the current log to the next generation and deletes the
// oldest generations whose newest entry is older than [Retention]. The
// caller holds the exclusive lock on the current file: while it does,
// nobody else can rotate (the file stays the current one until the rename
// below), so the numbers listed here are the numbers on disk.
func (l *Log) rotate() error {
	gens, err := l.generations()
	if err != nil {
		return err
	}
	next := 1
	if len(gens) > 0 {
		next = gens[len(gens)-1] + 1
	}
	if err := os.Rename(l.Path(), l.generation(next)); err != nil {
		return err
	}
	// Oldest first; the first generation that still holds a young entry
	// stops the pruning (every later one is younger). A generation that
	// cannot be read is kept: keeping too much is the safe mistake.
	cutoff := l.clock().Add(-Retention)
	for _, g := range append(gens, next) {
		newest, err := newestTime(l.generation(g))
		if err != nil || !newest.Before(cutoff) {
			break
		}
		if err := os.Remove(l.generation(g)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return nil
}

// generation is the file name of older generation n.
func (l *Log) generation(n int) string { return l.Path() + "." + strconv.Itoa(n) }

// generations lists the numbers of the older generations, oldest first.
func (l *Log) generations() ([]int, error) {
	ents, err := os.ReadDir(l.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var gens []int
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), FileName+".")
		if !ok {
			continue
		}
		// Only the names rotate writes: digits, no sign, no leading zero.
		if n, err := strconv.Atoi(num); err == nil && n > 0 && strconv.Itoa(n) == num {
			gens = append(gens, n)
		}
	}
	slices.Sort(gens)
	return gens, nil
}

// newestTime is the time of the newest entry in a generation, or its
// modification time when no line parses (nothing in it is younger than
// its last write).
func newestTime(name string) (time.Time, error) {
	file, err := os.Open(name)
	if err != nil {
		return time.Time{}, err
	}
	defer file.Close()
	var newest time.Time
	err = eachLine(file, func(line []byte) {
		if t, ok := lineTime(line); ok && t.After(newest) {
			newest = t
		}
	})
	if err != nil {
		return time.Time{}, err
	}
	if newest.IsZero() {
		fi, err := file.Stat()
		if err != nil {
			return time.Time{}, err
		}
		newest = fi.ModTime()
	}
	return newest, nil
}

// lineTime reads the time of a line: from the prefix Append writes
// ({"time":"...") without decoding the rest, else by parsing it.
func lineTime(line []byte) (time.Time, bool) {
	const prefix = `{"time":"`
	if rest, ok := bytes.CutPrefix(line, []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, '"'); i > 0 {
			if t, err := time.Parse(time.RFC3339Nano, string(rest[:i])); err == nil {
				return t, true
			}
		}
	}
	e, err := ParseLine(line)
	return e.Time, err == nil
}

// Read returns the events that match f, oldest first, from every
// generation. Lines that do not parse are skipped: a damaged line must not
// hide the rest of the log. With f.Last it keeps only that many events in
// memory, however long the log.
func (l *Log) Read(f Filter) ([]Event, error) {
	var out []Event
	var ring *ring
	if f.Last > 0 {
		ring = newRing(f.Last)
	}
	err := l.scan(f, func(e Event) {
		if ring != nil {
			ring.add(e)
		} else {
			out = append(out, e)
		}
	})
	if err != nil {
		return nil, err
	}
	if ring != nil {
		out = ring.events()
	}
	return out, nil
}

// scan calls fn with every event that matches f, oldest first. The current
// file is opened first and the generations listed after: a rotation in
// between makes it a generation too, which is then skipped (it is read
// last, through the open file), so no line is read twice or missed.
func (l *Log) scan(f Filter, fn func(Event)) error {
	cur, err := os.Open(l.Path())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("audit: %w", err)
	}
	var curInfo fs.FileInfo
	if cur != nil {
		defer cur.Close()
		if curInfo, err = cur.Stat(); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	gens, err := l.generations()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	each := func(line []byte) {
		if e, perr := ParseLine(line); perr == nil && f.match(e) {
			fn(e)
		}
	}
	for _, g := range gens {
		file, err := os.Open(l.generation(g))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted as too old since we listed it
		}
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		fi, err := file.Stat()
		if err == nil && curInfo != nil && os.SameFile(fi, curInfo) {
			file.Close()
			continue
		}
		if err == nil {
			err = eachLine(file, each)
		}
		file.Close()
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	if cur != nil {
		if err := eachLine(cur, each); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// eachLine calls fn with every non-empty line of r, without its newline.
func eachLine(r io.Reader, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			fn(line)
		}
		if err != nil {
			if errors.Is(err, errEOF) {
				return nil
			}
			return err
		}
	}
}

// ring keeps the last n events added; it grows as events come, so a large
// n costs nothing for a short log.
type ring struct {
	n     int
	buf   []Event
	start int // the oldest event once the ring is full
}

func newRing(n int) *ring { return &ring{n: n} }

func (r *ring) add(e Event) {
	if len(r.buf) < r.n {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % r.n
}

// events returns what the ring holds, oldest first.
func (r *ring) events() []Event {
	if r.start == 0 {
		return r.buf
	}
	return append(slices.Clone(r.buf[r.start:]), r.buf[:r.start]...)
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
	if f.Refused && !e.Refused() {
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
