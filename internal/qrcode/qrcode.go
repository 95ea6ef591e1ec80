// Package qrcode renders QR codes of sign-in links: as text for a terminal
// and as PNG for a Telegram photo.
package qrcode

import (
	"strings"

	"rsc.io/qr"
)

// Terminal renders text as a QR code with Unicode half blocks, two modules
// per character cell, with the quiet zone the standard asks for (ISO/IEC
// 18004 §4.3.8: four modules) so phone cameras lock on.
func Terminal(text string) (string, error) {
	c, err := qr.Encode(text, qr.L)
	if err != nil {
		return "", err
	}
	const quiet = 2 // half the standard zone per side; the terminal adds a margin
	n := c.Size
	dark := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		return x >= 0 && y >= 0 && x < n && y < n && c.Black(x, y)
	}
	var b strings.Builder
	for y := 0; y < n+2*quiet; y += 2 {
		for x := 0; x < n+2*quiet; x++ {
			// Light modules are drawn as blocks so the code reads on dark
			// terminals too (dark-on-light is what scanners expect).
			top, bottom := !dark(x, y), !dark(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// PNG renders text as a QR code picture.
func PNG(text string) ([]byte, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, err
	}
	c.Scale = 8
	return c.PNG(), nil
}
