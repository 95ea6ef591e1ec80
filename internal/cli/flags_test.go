package cli

import (
	"bytes"
	"errors"
	"flag"
	"testing"
	"time"
)

// A bad flag is reported once, by the caller, with --names; the usage is
// printed for --help only.
func TestParseFlagErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for none
		help    bool
	}{
		{"unknown flag", []string{"--bogus"}, "token: flag provided but not defined: --bogus", false},
		{"unknown single-dash flag", []string{"-bogus"}, "token: flag provided but not defined: --bogus", false},
		{"bad duration", []string{"--min-ttl", "xyz"}, `token: invalid value "xyz" for flag --min-ttl: parse error`, false},
		{"value looking like a flag", []string{"--min-ttl=-x for flag -y"}, `token: invalid value "-x for flag -y" for flag --min-ttl: parse error`, false},
		{"bad bool", []string{"--json=maybe"}, `token: invalid boolean value "maybe" for --json: parse error`, false},
		{"missing value", []string{"--profile"}, "token: flag needs an argument: --profile", false},
		{"help", []string{"--help"}, "", true},
		{"h", []string{"-h"}, "", true},
		{"fine", []string{"--profile", "gh", "--min-ttl", "5m"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			fs := NewFlags("token", &out, "usage: sidecar token [flags]")
			fs.String("profile", "", "")
			fs.Duration("min-ttl", time.Minute, "")
			fs.Bool("json", false, "")
			_, _, err := Parse(fs, tt.args)
			switch {
			case tt.help:
				if !errors.Is(err, flag.ErrHelp) {
					t.Fatalf("err = %v, want flag.ErrHelp", err)
				}
				if out.String() != "usage: sidecar token [flags]\n" {
					t.Errorf("printed %q, want the usage once", out.String())
				}
				return
			case tt.wantErr == "":
				if err != nil {
					t.Fatal(err)
				}
			default:
				var u *UsageError
				if !errors.As(err, &u) || u.Msg != tt.wantErr || u.Cmd != "token" {
					t.Fatalf("err = %#v, want UsageError{%q, Cmd: token}", err, tt.wantErr)
				}
			}
			if out.Len() != 0 {
				t.Errorf("printed %q before the caller reported anything", out.String())
			}
		})
	}
}

// Report prints a flag error once, then the hint naming the subcommand's
// help.
func TestReportFlagError(t *testing.T) {
	fs := NewFlags("token", new(bytes.Buffer), "usage")
	fs.Duration("min-ttl", time.Minute, "")
	_, _, err := Parse(fs, []string{"--min-ttl", "soon"})
	var stderr bytes.Buffer
	if code := Sidecar.Report(&stderr, err); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	want := "sidecar: error: token: invalid value \"soon\" for flag --min-ttl: parse error\n" +
		"sidecar: hint: run `sidecar help token` for usage\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
}

func TestReportNearest(t *testing.T) {
	var stderr bytes.Buffer
	Sidecar.Report(&stderr, &UsageError{Msg: `unknown command "tokne"`, Nearest: "token"})
	want := "sidecar: error: unknown command \"tokne\"\n" +
		"sidecar: hint: did you mean token?\n" +
		"sidecar: hint: run `sidecar help` for usage\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
}

// FuzzDoubleDash: the rewrite only ever adds one dash, never panics.
func FuzzDoubleDash(f *testing.F) {
	for _, s := range []string{
		"flag provided but not defined: -x",
		"flag needs an argument: -x",
		`invalid value "v" for flag -x: parse error`,
		`invalid boolean value "v" for -x: parse error`,
		`invalid value "\" for flag -" for flag -x: e`,
		`invalid value "unterminated`,
	} {
		f.Add(s)
	}
	f.Add(`invalid value "--" for flag -x: e`)
	f.Fuzz(func(t *testing.T, msg string) {
		got := doubleDash(msg)
		if got == msg {
			return
		}
		for i := range len(got) - 1 {
			if got[i:i+2] == "--" && got[:i]+got[i+1:] == msg {
				return
			}
		}
		t.Fatalf("doubleDash(%q) = %q: not msg with one dash added", msg, got)
	})
}
