package redact

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

const token = "gho_16C7e42F292c6912E7710c838347Ae178B4a"

// write writes chunks one by one, then flushes.
func write(t *testing.T, secrets []string, chunks ...string) string {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, secrets...)
	for _, c := range chunks {
		if n, err := w.Write([]byte(c)); n != len(c) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", c, n, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestWriter(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		chunks  []string
		want    string
	}{
		{"gh auth token", []string{token}, []string{token + "\n"}, "[masked]\n"},
		{"split anywhere", []string{token}, []string{"GH_TOKEN=gho_16C7", "e42F292c6912E7710c838347Ae", "178B4a\nPATH=/bin\n"}, "GH_TOKEN=[masked]\nPATH=/bin\n"},
		{"byte by byte", []string{token}, strings.Split("a "+token+" b", ""), "a [masked] b"},
		{"twice in a line", []string{token}, []string{token + token}, "[masked][masked]"},
		{"a prefix that is not the token", []string{token}, []string{"gho_16C7", " and more"}, "gho_16C7 and more"},
		{"a prefix at the very end", []string{token}, []string{"ends with gho_16"}, "ends with gho_16"},
		{"AWS secrets", []string{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEFAKE"}, []string{"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\naws_session_token = IQoJb3JpZ2luX2VjEFAKE\n"},
			"aws_secret_access_key = [masked]\naws_session_token = [masked]\n"},
		{"a short value is not masked", []string{"abc"}, []string{"abc abc"}, "abc abc"},
		{"no secrets", nil, []string{"as is"}, "as is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := write(t, tt.secrets, tt.chunks...); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWriterHoldsBackOnlyAPrefix: output that cannot be the start of the
// secret goes out with the write that brought it, so a tool's prompt or
// progress line is not delayed.
func TestWriterHoldsBackOnlyAPrefix(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, token)
	w.Write([]byte("Password: "))
	if out.String() != "Password: " {
		t.Fatalf("after the first write: %q", out.String())
	}
	w.Write([]byte("x gho_16C"))
	if out.String() != "Password: x " {
		t.Fatalf("held back more than a prefix of the token: %q", out.String())
	}
}

// FuzzWriter: however the output is split into writes, what comes out is
// the whole output with the secret replaced.
func FuzzWriter(f *testing.F) {
	f.Add("GH_TOKEN="+token+"\n", "gho_16C7e42F", uint8(3))
	f.Add("aaab", "aab", uint8(2))
	f.Add("abababab abababa", "abababa", uint8(1))
	f.Fuzz(func(t *testing.T, in, secret string, cut uint8) {
		var out bytes.Buffer
		w := NewWriter(&out, secret)
		step := int(cut)%7 + 1
		for i := 0; i < len(in); i += step {
			w.Write([]byte(in[i:min(i+step, len(in))]))
		}
		w.Flush()
		want := in
		if len(secret) >= MinLen {
			want = strings.ReplaceAll(in, secret, Mask)
		}
		if out.String() != want {
			t.Fatalf("secret %q, input %q in writes of %d: got %q, want %q", secret, in, step, out.String(), want)
		}
	})
}

// logWriter records what each stream of a pair was given, in order.
type logWriter struct {
	log    *[]run
	stream uint8
}

func (w logWriter) Write(p []byte) (int, error) {
	*w.log = append(*w.log, run{w.stream, append([]byte(nil), p...)})
	return len(p), nil
}

// writePair writes chunks, "1:" ones to the second stream, to a pair and
// returns what each stream got and everything in the order handed on.
func writePair(t *testing.T, secrets []string, chunks ...string) (a, b, merged string) {
	t.Helper()
	var rs []run
	for _, c := range chunks {
		if rest, ok := strings.CutPrefix(c, "1:"); ok {
			rs = append(rs, run{1, []byte(rest)})
		} else {
			rs = append(rs, run{0, []byte(c)})
		}
	}
	return writeRuns(t, secrets, rs)
}

// writeRuns writes each run to its stream of a pair.
func writeRuns(t *testing.T, secrets []string, chunks []run) (a, b, merged string) {
	t.Helper()
	var log []run
	wa, wb := NewPair(logWriter{&log, 0}, logWriter{&log, 1}, secrets...)
	for _, r := range chunks {
		w, c := wa, r.b
		if r.stream == 1 {
			w = wb
		}
		if n, err := w.Write(c); n != len(c) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", c, n, err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	var sa, sb, sm strings.Builder
	for _, r := range log {
		sm.Write(r.b)
		if r.stream == 0 {
			sa.Write(r.b)
		} else {
			sb.Write(r.b)
		}
	}
	return sa.String(), sb.String(), sm.String()
}

func TestPair(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string // "1:" goes to the second stream
		a, b   string
	}{
		{"half on each", []string{"gh=gho_16C7e42F292c6912", "1:E7710c838347Ae178B4a\n"}, "gh=[masked]", "\n"},
		{"begun on the second", []string{"1:warning: gho_16C7e", "42F292c6912E7710c838347Ae178B4a done\n"}, " done\n", "warning: [masked]"},
		{"byte by byte, alternating", func() []string {
			var c []string
			for i, r := range token {
				if i%2 == 1 {
					c = append(c, "1:"+string(r))
				} else {
					c = append(c, string(r))
				}
			}
			return c
		}(), "[masked]", ""},
		{"a prefix then other output", []string{"gho_16C7", "1:progress 10%\n", " and more"}, "gho_16C7 and more", "progress 10%\n"},
		{"each whole on its own", []string{token + "\n", "1:" + token + "\n"}, "[masked]\n", "[masked]\n"},
		{"nothing secret", []string{"out", "1:err"}, "out", "err"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, _ := writePair(t, []string{token}, tt.chunks...)
			if a != tt.a || b != tt.b {
				t.Fatalf("got %q and %q, want %q and %q", a, b, tt.a, tt.b)
			}
		})
	}
}

// FuzzPair: however the output is split into writes and spread over the
// two streams, what the pair hands on, in order, is the whole output with
// the secret replaced; each byte that is not masked goes to the stream it
// was written to, and Mask to the stream of the secret's first byte.
func FuzzPair(f *testing.F) {
	f.Add("GH_TOKEN="+token+"\n", "gho_16C7e42F", uint8(3), uint16(0b1010))
	f.Add("aaab aaaab", "aaaaaaab", uint8(1), uint16(0b0110))
	f.Add("abababab abababa", "abababa", uint8(2), uint16(0xffff))
	f.Fuzz(func(t *testing.T, in, secret string, cut uint8, spread uint16) {
		step := int(cut)%7 + 1
		var chunks []run
		tags := make([]uint8, len(in)) // the stream of each byte of in
		for i, n := 0, 0; i < len(in); i, n = i+step, n+1 {
			c := run{0, []byte(in[i:min(i+step, len(in))])}
			if spread>>(n%16)&1 == 1 {
				c.stream = 1
				for j := i; j < i+len(c.b); j++ {
					tags[j] = 1
				}
			}
			chunks = append(chunks, c)
		}
		a, b, merged := writeRuns(t, []string{secret}, chunks)
		if len(secret) < MinLen {
			secret = "" // not masked
		}
		want := in
		if secret != "" {
			want = strings.ReplaceAll(in, secret, Mask)
		}
		if merged != want {
			t.Fatalf("secret %q, input %q in %q: got %q, want %q", secret, in, chunks, merged, want)
		}
		// Each stream: ReplaceAll's leftmost matches, found independently.
		var wa, wb strings.Builder
		for i := 0; i < len(in); {
			w := &wa
			if tags[i] == 1 {
				w = &wb
			}
			if secret != "" && strings.HasPrefix(in[i:], secret) {
				w.WriteString(Mask)
				i += len(secret)
				continue
			}
			w.WriteByte(in[i])
			i++
		}
		if a != wa.String() || b != wb.String() {
			t.Fatalf("secret %q, input %q in %q: got %q and %q, want %q and %q", secret, in, chunks, a, b, wa.String(), wb.String())
		}
	})
}

// TestWriteRound: chunks of the two streams read at once are fed in the
// order that masks a secret split across them.
func TestWriteRound(t *testing.T) {
	half := len(token) / 2
	tests := []struct {
		name string
		x, y string // stdout, stderr
		a, b string
	}{
		{"start on stdout, then its end on stderr, then more stdout", "gh=" + token[:half] + " and more\n", token[half:] + "\n",
			"gh=[masked] and more\n", "\n"},
		{"start on stderr", "x" + token[half:] + "y", "warning: " + token[:half],
			"xy", "warning: [masked]"},
		{"whole on one", token + "\n", "err\n", "[masked]\n", "err\n"},
		{"nothing secret", "out\n", "err\n", "out\n", "err\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []run
			wa, wb := NewPair(logWriter{&log, 0}, logWriter{&log, 1}, token)
			if _, err := wa.m.writeRound(run{0, []byte(tt.x)}, run{1, []byte(tt.y)}); err != nil {
				t.Fatal(err)
			}
			wb.Flush()
			var a, b strings.Builder
			for _, r := range log {
				[]*strings.Builder{&a, &b}[r.stream].Write(r.b)
			}
			if a.String() != tt.a || b.String() != tt.b {
				t.Fatalf("got %q and %q, want %q and %q", a.String(), b.String(), tt.a, tt.b)
			}
		})
	}
}

// FuzzWriteRound: the order fed keeps each stream's own order, what is
// handed on is that order with the secret replaced (strings.ReplaceAll),
// and it masks no fewer secrets than either stream first would.
func FuzzWriteRound(f *testing.F) {
	f.Add("gh=gho_16C7e42F2 and more", "92c6912E7710c838347Ae178B4a\n", token)
	f.Add("aaaab", "aaab", "aaaaaaab")
	f.Fuzz(func(t *testing.T, x, y, secret string) {
		var log []run
		wa, wb := NewPair(logWriter{&log, 0}, logWriter{&log, 1}, secret)
		order, err := wa.m.writeRound(run{0, []byte(x)}, run{1, []byte(y)})
		if err != nil {
			t.Fatal(err)
		}
		wb.Flush()
		var fed, sx, sy, merged strings.Builder
		for _, r := range order {
			fed.Write(r.b)
			[]*strings.Builder{&sx, &sy}[r.stream].Write(r.b)
		}
		for _, r := range log {
			merged.Write(r.b)
		}
		if sx.String() != x || sy.String() != y {
			t.Fatalf("fed %q: not %q and %q in order", order, x, y)
		}
		want := fed.String()
		if len(secret) >= MinLen {
			want = strings.ReplaceAll(want, secret, Mask)
			if n := strings.Count(want, Mask) - strings.Count(fed.String(), Mask); n < strings.Count(x+y, secret) || n < strings.Count(y+x, secret) {
				t.Fatalf("%q and %q masked %d times", x, y, n)
			}
		}
		if merged.String() != want {
			t.Fatalf("fed %q: got %q, want %q", order, merged.String(), want)
		}
	})
}

// BenchmarkPairRound: masking a tool's two outputs read together, in
// rounds of 32 KiB each (the relay's worst case: both streams busy).
func BenchmarkPairRound(b *testing.B) {
	chunk := bytes.Repeat([]byte("log line with gho_ and more text 0123456789\n"), 32<<10/44)
	wa, _ := NewPair(io.Discard, io.Discard, token)
	b.SetBytes(int64(2 * len(chunk)))
	for b.Loop() {
		if _, err := wa.m.writeRound(run{0, chunk}, run{1, chunk}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriter: masking one stream in writes of 32 KiB.
func BenchmarkWriter(b *testing.B) {
	chunk := bytes.Repeat([]byte("log line with gho_ and more text 0123456789\n"), 32<<10/44)
	w := NewWriter(io.Discard, token)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		w.Write(chunk)
	}
}

// TestWriteRoundKeepsAStart: when a round's order does not matter for
// what it masks, the one that leaves a secret's start held wins, so the
// next round can complete it on the other stream.
func TestWriteRoundKeepsAStart(t *testing.T) {
	var log []run
	wa, wb := NewPair(logWriter{&log, 0}, logWriter{&log, 1}, token)
	if _, err := wa.m.writeRound(run{0, []byte("gh=" + token[:10])}, run{1, []byte("progress 10%\n")}); err != nil {
		t.Fatal(err)
	}
	wb.Write([]byte(token[10:] + "\n"))
	wa.Flush()
	var a, b strings.Builder
	for _, r := range log {
		[]*strings.Builder{&a, &b}[r.stream].Write(r.b)
	}
	if a.String() != "gh=[masked]" || b.String() != "progress 10%\n\n" {
		t.Fatalf("got %q and %q", a.String(), b.String())
	}
}
