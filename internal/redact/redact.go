// Package redact masks secrets in a stream of output: what `sidecar run`
// relays from a tool to the agent.
//
// A tool started with the owner's token can print it (`gh auth token`,
// `env`, a debug log), and whatever reaches the agent is the agent's. So
// when the agent runs a tool, its output passes through a [Writer] that
// replaces every occurrence of the token (and, for AWS, of the secret key
// and session token) with [Mask], as CI systems mask secrets in logs. It
// only sees the literal value: a tool that encodes the token (base64, a
// URL escape) is not caught, which is why the policy, not this, decides
// what runs, and why tools get placeholders rather than the token where
// they can. A [NewPair] masks a tool's standard output and error as one
// stream, in the order they are read, so that a secret split across the
// two is caught too; a tool that reorders the pieces is not.
package redact

import (
	"bytes"
	"cmp"
	"io"
	"slices"
	"sync"
)

// Mask replaces a secret.
const Mask = "[masked]"

// MinLen is the shortest value worth masking: shorter ones would mask
// ordinary words and numbers.
const MinLen = 8

// Writer writes to W what is written to it, with every secret replaced by
// Mask, however the writes split it. It holds back the end of a write that
// could be the start of a secret (at most the longest secret's length
// minus one byte) until the next write shows it is not, or Flush.
//
// The two Writers of [NewPair] share what they hold back: they mask a
// secret that a tool splits across its standard output and error.
type Writer struct {
	m      *masker
	stream int
}

// NewWriter returns a Writer to w masking secrets; values shorter than
// MinLen are ignored.
func NewWriter(w io.Writer, secrets ...string) *Writer {
	return &Writer{m: newMasker([]io.Writer{w}, secrets)}
}

// NewPair returns two Writers, to a and to b, that mask secrets in what
// is written to either as if it were one stream, in the order of the
// writes: a tool that writes the start of a secret to its standard output
// and the rest to its standard error has it masked. Each byte that is not
// masked goes to its own Writer's destination; Mask goes where the
// secret began. Flushing either flushes both. They are safe to use from
// two goroutines (as exec.Cmd copies a child's two outputs), but then the
// order of the writes is the order in which the goroutines deliver them.
func NewPair(a, b io.Writer, secrets ...string) (*Writer, *Writer) {
	m := newMasker([]io.Writer{a, b}, secrets)
	return &Writer{m: m, stream: 0}, &Writer{m: m, stream: 1}
}

// Write reports len(p) written once p is masked and handed on, except
// for the part held back.
func (rw *Writer) Write(p []byte) (int, error) {
	return rw.m.write(rw.stream, p)
}

// Flush writes what is held back: the stream has ended, so it was not a
// secret.
func (rw *Writer) Flush() error {
	return rw.m.flush()
}

// masker masks secrets in the writes to one or more streams, taken as one
// sequence of bytes each marked with its stream.
type masker struct {
	mu      sync.Mutex
	w       []io.Writer
	secrets [][]byte
	// held is what could still be the start of a secret, in the order
	// written; from[i] is the stream of held[i].
	held []byte
	from []uint8
}

func newMasker(w []io.Writer, secrets []string) *masker {
	m := &masker{w: w}
	for _, s := range secrets {
		if len(s) >= MinLen {
			m.secrets = append(m.secrets, []byte(s))
		}
	}
	// The longest first, so a secret that contains another is masked whole.
	slices.SortFunc(m.secrets, func(a, b []byte) int { return cmp.Compare(len(b), len(a)) })
	return m
}

func (m *masker) write(stream int, p []byte) (int, error) {
	if len(m.secrets) == 0 {
		return m.w[stream].Write(p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.feed(run{uint8(stream), p})
	if err := m.scan(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (m *masker) flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scan(true)
}

// feed appends r to what is held.
func (m *masker) feed(r run) {
	m.held = append(m.held, r.b...)
	for range r.b {
		m.from = append(m.from, r.stream)
	}
}

// scan hands on everything held that is decided.
func (m *masker) scan(final bool) error {
	out, n, _ := m.decide(final)
	// What is handed on is copied before held is reused.
	err := out.writeTo(m.w)
	m.held = append(m.held[:0], m.held[n:]...)
	m.from = append(m.from[:0], m.from[n:]...)
	return err
}

// decide returns what of the held bytes is decided, and how many of them
// that is, and how many secrets it masks: from the left, a whole secret
// (the longest that matches) becomes Mask, a byte that begins no secret
// goes out as it is, and what could still become a secret stays held,
// unless final. This is strings.ReplaceAll's leftmost scan, so the output
// is the same however the writes split the input.
func (m *masker) decide(final bool) (out runs, n, masks int) {
	i := 0
scan:
	for i < len(m.held) {
		rest := m.held[i:]
		for _, s := range m.secrets {
			if bytes.HasPrefix(rest, s) {
				out.add(m.from[i], []byte(Mask))
				masks++
				i += len(s)
				continue scan
			}
		}
		if !final {
			for _, s := range m.secrets {
				if len(rest) < len(s) && bytes.HasPrefix(s, rest) {
					break scan // decided by what comes next
				}
			}
		}
		// No secret starts here: hand on every byte up to the next that
		// starts one.
		next := len(m.held)
		for _, s := range m.secrets {
			if j := bytes.IndexByte(rest[1:], s[0]); j >= 0 {
				next = min(next, i+1+j)
			}
		}
		for j := i; j < next; {
			k := j + 1
			for k < next && m.from[k] == m.from[j] {
				k++
			}
			out.add(m.from[j], m.held[j:k])
			j = k
		}
		i = next
	}
	return out, i, masks
}

// writeRound hands on x and y, read from the two streams at the same time,
// so that their order is unknown (a tool writes to its two pipes, and
// the reader finds both full): it feeds them in the order, among those
// that keep each stream's own order, that masks the most secrets, and
// then leaves the longest start of a secret held for the next round. So
// a secret whose start was written to one stream, then its end to the
// other, then more to the first, is masked although the first stream's
// two writes were read as one. It returns the order fed.
func (m *masker) writeRound(x, y run) ([]run, error) {
	if len(m.secrets) == 0 {
		_, err := m.w[x.stream].Write(x.b)
		if err == nil {
			_, err = m.w[y.stream].Write(y.b)
		}
		return []run{x, y}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	orders := m.orders(x, y)
	best := orders[0]
	// Nothing held, no secret split across x and y, and neither ends
	// with a secret's start: the order does not matter.
	if len(m.held) > 0 || len(orders) > 2 || m.endsWithStart(x.b) || m.endsWithStart(y.b) {
		// The most masks; then the most left undecided: a secret's start
		// at the end, which the next round may complete.
		most, undecided := -1, -1
		for _, order := range orders {
			c := masker{secrets: m.secrets, held: slices.Clone(m.held), from: slices.Clone(m.from)}
			for _, r := range order {
				c.feed(r)
			}
			_, n, masks := c.decide(false)
			if masks > most || masks == most && len(c.held)-n > undecided {
				best, most, undecided = order, masks, len(c.held)-n
			}
		}
	}
	for _, r := range best {
		m.feed(r)
	}
	return best, m.scan(false)
}

// endsWithStart tells whether b ends with the start of a secret.
func (m *masker) endsWithStart(b []byte) bool {
	for _, s := range m.secrets {
		for n := min(len(s)-1, len(b)); n > 0; n-- {
			if bytes.HasSuffix(b, s[:n]) {
				return true
			}
		}
	}
	return false
}

// orders returns the orders of x and y worth trying: x then y, y then x,
// and for each secret split in two, the start found in one and the end
// in the other, the order that puts the end right after the start.
func (m *masker) orders(x, y run) [][]run {
	out := [][]run{{x, y}, {y, x}}
	cut := func(a, b run, p, q int) []run {
		return []run{{b.stream, b.b[:q]}, {a.stream, a.b[:p]}, {b.stream, b.b[q:]}, {a.stream, a.b[p:]}}
	}
	for _, s := range m.secrets {
		for _, ab := range [2][2]run{{x, y}, {y, x}} {
			a, b := ab[0], ab[1]
			// If a holds no s[:j], it holds no longer start either; if
			// b holds no s[j:], it holds no longer end: only the splits
			// between the longest start found and the longest end found
			// can be in both.
			hi := 0
			for hi+1 < len(s) && bytes.Contains(a.b, s[:hi+1]) {
				hi++
			}
			lo := len(s)
			for lo-1 > 0 && bytes.Contains(b.b, s[lo-1:]) {
				lo--
			}
			for j := max(lo, 1); j <= hi; j++ {
				p, q := bytes.Index(a.b, s[:j]), bytes.Index(b.b, s[j:])
				if p >= 0 && q >= 0 {
					out = append(out, cut(a, b, p+j, q))
				}
			}
		}
	}
	return out
}

// runs is output in order, each run of bytes for one stream.
type runs []run

type run struct {
	stream uint8
	b      []byte
}

func (r *runs) add(stream uint8, b []byte) {
	if n := len(*r); n > 0 && (*r)[n-1].stream == stream {
		(*r)[n-1].b = append((*r)[n-1].b, b...)
		return
	}
	*r = append(*r, run{stream, append([]byte(nil), b...)})
}

func (r runs) writeTo(w []io.Writer) error {
	for _, x := range r {
		if _, err := w[x.stream].Write(x.b); err != nil {
			return err
		}
	}
	return nil
}
