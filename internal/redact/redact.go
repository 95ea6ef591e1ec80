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
// what runs.
package redact

import (
	"bytes"
	"cmp"
	"io"
	"slices"
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
type Writer struct {
	w       io.Writer
	secrets [][]byte
	held    []byte
}

// NewWriter returns a Writer to w masking secrets; values shorter than
// MinLen are ignored.
func NewWriter(w io.Writer, secrets ...string) *Writer {
	rw := &Writer{w: w}
	for _, s := range secrets {
		if len(s) >= MinLen {
			rw.secrets = append(rw.secrets, []byte(s))
		}
	}
	// The longest first, so a secret that contains another is masked whole.
	slices.SortFunc(rw.secrets, func(a, b []byte) int { return cmp.Compare(len(b), len(a)) })
	return rw
}

// Write reports len(p) written once p is masked and handed on, except
// for the part held back.
func (rw *Writer) Write(p []byte) (int, error) {
	if len(rw.secrets) == 0 {
		return rw.w.Write(p)
	}
	buf := append(rw.held, p...)
	rw.held = nil
	buf = rw.mask(buf)
	keep := rw.pending(buf)
	rw.held = append([]byte(nil), buf[len(buf)-keep:]...)
	if out := buf[:len(buf)-keep]; len(out) > 0 {
		if _, err := rw.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what is held back: the stream has ended, so it was not a
// secret.
func (rw *Writer) Flush() error {
	if len(rw.held) == 0 {
		return nil
	}
	_, err := rw.w.Write(rw.held)
	rw.held = nil
	return err
}

// mask replaces every whole secret in b.
func (rw *Writer) mask(b []byte) []byte {
	for _, s := range rw.secrets {
		if bytes.Contains(b, s) {
			b = bytes.ReplaceAll(b, s, []byte(Mask))
		}
	}
	return b
}

// pending is the length of the longest end of b that begins a secret.
func (rw *Writer) pending(b []byte) int {
	longest := 0
	for _, s := range rw.secrets {
		for n := min(len(s)-1, len(b)); n > longest; n-- {
			if bytes.HasPrefix(s, b[len(b)-n:]) {
				longest = n
				break
			}
		}
	}
	return longest
}
