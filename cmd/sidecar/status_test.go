package main

import (
	"bytes"
	"testing"

	"github.com/devicegate/devicegate/internal/confine"
)

// TestPrintTools: status says what a kernel without Landlock, or with an
// older one, leaves a tool able to do.
func TestPrintTools(t *testing.T) {
	tests := []struct {
		name string
		s    confine.Support
		want string
	}{
		{"everything", confine.Support{ABI: 7, HidesFiles: true, ScopesSignals: true, ScopesAbstractUnixSockets: true},
			"Tools:     confined (Landlock ABI 7): no cache or secret files, no signals or abstract unix sockets outside\n"},
		{"no scopes", confine.Support{ABI: 5, HidesFiles: true, Missing: []string{"tools can signal other processes (stop or kill sidecar serve): Landlock ABI 6 needed, kernel has 5"}},
			"Tools:     partly confined (Landlock ABI 5): no cache or secret files\n" +
				"Missing:   tools can signal other processes (stop or kill sidecar serve): Landlock ABI 6 needed, kernel has 5\n"},
		{"no Landlock", confine.Support{Missing: []string{"tools can read the token cache and the secret files: Landlock ABI 1 needed, the kernel has no Landlock"}},
			"Tools:     NOT confined (the kernel has no Landlock)\n" +
				"Missing:   tools can read the token cache and the secret files: Landlock ABI 1 needed, the kernel has no Landlock\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printTools(&b, tt.s)
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}
