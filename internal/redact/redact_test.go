package redact

import (
	"bytes"
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
