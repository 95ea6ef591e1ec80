package approval

import (
	"errors"
	"strings"
	"testing"
)

func TestCallbackRoundTrip(t *testing.T) {
	id := NewID()
	if len(id) != idLen {
		t.Fatalf("id %q", id)
	}
	if NewID() == id {
		t.Fatal("two ids alike")
	}
	for _, c := range Choices {
		data := CallbackData(id, c)
		if len(data) > 64 {
			t.Errorf("callback data %q is over Telegram's 64 bytes", data)
		}
		gid, gc, err := ParseCallback(data)
		if err != nil || gid != id || gc != c {
			t.Errorf("ParseCallback(%q) = %q, %q, %v", data, gid, gc, err)
		}
		if c.Label() == "?" {
			t.Errorf("choice %q has no label", c)
		}
	}
}

func TestParseCallbackRefuses(t *testing.T) {
	id := "0123456789abcdef"
	for _, data := range []string{
		"",
		"ap1:",
		"ap1:" + id,
		"ap1:" + id + ":",
		"ap1:" + id + ":x",
		"ap1:" + id + ":oo",
		"ap2:" + id + ":o",
		"ap1:" + strings.ToUpper(id) + ":o",
		"ap1:0123456789abcde:o",
		"ap1:0123456789abcdefa:o",
		"ap1:0123456789abcdeg:o",
		"/logout",
		strings.Repeat("a", 100),
	} {
		if _, _, err := ParseCallback(data); !errors.Is(err, ErrCallback) {
			t.Errorf("ParseCallback(%q): %v, want ErrCallback", data, err)
		}
	}
}

func FuzzParseCallback(f *testing.F) {
	f.Add("ap1:0123456789abcdef:o")
	f.Add("ap1:0123456789abcdef:h")
	f.Add("ap1:0123456789abcdef:d")
	f.Add("ap1:")
	f.Fuzz(func(t *testing.T, data string) {
		id, c, err := ParseCallback(data)
		if err != nil {
			if !errors.Is(err, ErrCallback) {
				t.Fatalf("error %v is not ErrCallback", err)
			}
			return
		}
		if CallbackData(id, c) != data {
			t.Fatalf("%q parsed to %q %q, which writes %q", data, id, c, CallbackData(id, c))
		}
	})
}
