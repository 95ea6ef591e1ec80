// Command floor is the floor `sidecar token` is measured against in
// `make bench`: a static Go binary that does the least a token helper can
// do with the same cache file: read it, JSON-decode it, check the expiry
// and print the token. Whatever `sidecar token` spends beyond this (its
// configuration, its larger binary, the work of packages it links) is its
// own cost.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	b, err := os.ReadFile(filepath.Join(os.Getenv("XDG_DATA_HOME"), "devicegate", "default.token"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	var e map[string]any
	if err := json.Unmarshal(b, &e); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	if s, ok := e["expiry"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err != nil || time.Until(t) < time.Minute {
			fmt.Fprintln(os.Stderr, "floor: expired")
			os.Exit(4)
		}
	}
	fmt.Println(e["access_token"])
}
