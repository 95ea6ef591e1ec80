package preset

import (
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/testing/configtest"
)

// config.Load, given Kinds, applies each preset's two rules that config
// checks before any preset is consulted: a client id is required unless
// the preset registers its own, and a preset whose tools take no bearer
// token (AWSSSO: role credentials) makes every run a token export
// (policy.CheckExport).
func TestConfigAgreesWithPresets(t *testing.T) {
	for _, ps := range All() {
		t.Run(ps.Kind, func(t *testing.T) {
			load := func(policy string) error {
				configtest.ClearEnv(t)
				t.Setenv("OAUTH_PROVIDER", ps.Kind)
				t.Setenv("OAUTH_POLICY", policy)
				_, err := config.Load(Kinds())
				return err
			}
			err := load("")
			if asked := err != nil && strings.Contains(err.Error(), "OAUTH_CLIENT_ID"); asked == ps.OwnClient {
				t.Errorf("OwnClient %v, but config.Load without a client id: %v", ps.OwnClient, err)
			}
			err = load("deny token; allow run tool")
			if refused := err != nil && strings.Contains(err.Error(), "OAUTH_POLICY"); refused == ps.Bearer() {
				t.Errorf("Bearer %v, but config.Load with a run that exports nothing: %v", ps.Bearer(), err)
			}
		})
	}
}
