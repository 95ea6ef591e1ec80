// Command floor is the floor `sidecar token` is measured against in
// `make bench`: a static Go binary that does the least a token helper can
// do, read the cached entry, JSON-decode it, check the expiry and print
// the token. Whatever `sidecar token` spends beyond this is its own cost.
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
	var e struct {
		AccessToken string    `json:"access_token"`
		Expiry      time.Time `json:"expiry"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	if !e.Expiry.IsZero() && time.Until(e.Expiry) < time.Minute {
		fmt.Fprintln(os.Stderr, "floor: expired")
		os.Exit(4)
	}
	fmt.Println(e.AccessToken)
}
