package oidctest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartWithoutPackages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "server.js"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := start(t.Context(), dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "oidctest: hint: run: npm ci --prefix internal/testing/oidctest/node") {
		t.Errorf("start without node_modules: %v, want the install hint", err)
	}
}

func TestOutputBuffer(t *testing.T) {
	t.Parallel()
	ready := make(chan string, 1)
	b := &outputBuffer{ready: ready}
	for _, chunk := range []string{"oidc-provider WARNING: x\nLIST", "ENING http://127.0.0.1:4", "2\nLISTENING http://other\n"} {
		b.Write([]byte(chunk))
	}
	select {
	case issuer := <-ready:
		if issuer != "http://127.0.0.1:42" {
			t.Errorf("issuer %q", issuer)
		}
	default:
		t.Fatal("LISTENING line not reported")
	}
	if !strings.Contains(b.String(), "WARNING: x") {
		t.Errorf("output %q", b.String())
	}
}
