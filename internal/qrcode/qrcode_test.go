package qrcode

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

func TestTerminal(t *testing.T) {
	q, err := Terminal("https://idp.example.com/device?user_code=WDJB-MJHT")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(q, "\n"), "\n")
	width := len([]rune(lines[0]))
	// Two modules per text row: a square code is about half as tall as wide.
	if width < 25 || len(lines) < width/2 || len(lines) > width/2+1 {
		t.Fatalf("%d lines of width %d", len(lines), width)
	}
	for _, l := range lines {
		if len([]rune(l)) != width {
			t.Fatal("ragged QR code")
		}
	}
}

func TestPNG(t *testing.T) {
	b, err := PNG("https://idp.example.com/device?user_code=WDJB-MJHT")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != r.Dy() || r.Dx() < 200 {
		t.Fatalf("bounds %v", r)
	}
}

func TestTooLong(t *testing.T) {
	if _, err := Terminal(strings.Repeat("x", 5000)); err == nil {
		t.Fatal("a text too long for a QR code must be an error, not a panic")
	}
}
