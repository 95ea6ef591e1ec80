package app

import (
	"testing"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/testing/configtest"
)

func TestOpen(t *testing.T) {
	configtest.ClearEnv(t)
	t.Setenv("SIDECAR_PROFILES", "work")
	t.Setenv("OAUTH_WORK_PROVIDER", "microsoft")
	t.Setenv("OAUTH_WORK_CLIENT_ID", "ms-id")
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Open("")
	if err != nil {
		t.Fatal(err)
	}
	if s.Profile != "work" || s.Provider.Kind != "microsoft" || s.Store != a.Store || s.HTTP != a.HTTP || s.Restarts != 3 {
		t.Fatalf("session %+v", s)
	}
	if _, err := a.Open("nope"); cli.Code(err) != exitcode.Usage {
		t.Fatalf("unknown profile: %v (exit %d)", err, cli.Code(err))
	}
}
