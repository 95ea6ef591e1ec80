package main

import (
	"context"
	"flag"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/dockerguard"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
)

func TestChildEnv(t *testing.T) {
	in := []string{
		"PATH=/usr/bin", "HOME=/home/nonroot", "LANG=C.UTF-8", "GH_HOST=ghe.example",
		"SIDECAR_CACHE_KEY=k", "SIDECAR_CACHE_KEY_FILE=/run/secrets/cache_key", "sidecar_cache_key=k",
		"TELEGRAM_BOT_TOKEN=t", "TELEGRAM_BOT_TOKEN_FILE=/run/secrets/telegram_bot_token", "TELEGRAM_CHAT_ID=1",
		"OAUTH_CLIENT_SECRET=s", "OAUTH_CLIENT_SECRET_FILE=/run/secrets/oauth_client_secret",
		"OAUTH_WORK_CLIENT_SECRET_FILE=/run/secrets/work", "OAUTH_PROVIDER=github", "OAUTH_CLIENT_ID=Iv1",
		"SIDECAR_PROFILES=work", "GUARD_RUN_TOOLS=gh", "ACCESS_TOKEN=stale", "access_token=stale",
		"SIDECARX=kept", "MY_OAUTH_THING=kept", "XDG_DATA_HOME=/data",
	}
	got := childEnv(in)
	want := []string{"PATH=/usr/bin", "HOME=/home/nonroot", "LANG=C.UTF-8", "GH_HOST=ghe.example", "SIDECARX=kept", "MY_OAUTH_THING=kept", "XDG_DATA_HOME=/data"}
	if !slices.Equal(got, want) {
		t.Errorf("childEnv kept %q, want %q", got, want)
	}
	if len(in) != 22 || in[4] != "SIDECAR_CACHE_KEY=k" {
		t.Error("childEnv changed its argument")
	}
}

// TestGuardKnowsRunFlags fails when `sidecar run` gains a flag that the
// guard's parse of its command line does not know.
func TestGuardKnowsRunFlags(t *testing.T) {
	var names []string
	newRunFlags(io.Discard).fs.VisitAll(func(f *flag.Flag) {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			t.Errorf("-%s is a boolean flag: dockerguard.SidecarRunTool reads every flag as taking a value", f.Name)
		}
		names = append(names, f.Name)
	})
	want := slices.Sorted(slices.Values(dockerguard.SidecarRunValueFlags))
	if !slices.Equal(names, want) {
		t.Errorf("sidecar run has flags %q, the guard knows %q", names, want)
	}
}

// runProgram is what runCmd would start for args: the program, or "" when
// it stops at the flags.
func runProgram(args []string) string {
	f := newRunFlags(io.Discard)
	if err := f.fs.Parse(args); err != nil || len(f.fs.Args()) == 0 {
		return ""
	}
	return f.fs.Args()[0]
}

// FuzzGuardAgreesWithRun checks that whenever the guard names the program
// of a `sidecar run` command line, sidecar starts exactly that program.
func FuzzGuardAgreesWithRun(f *testing.F) {
	for _, s := range []string{
		"gh", "-- gh", "--profile p gh", "--profile -- sh", "-profile=p -- gh", "--env A --env=B gh",
		"--min-ttl 1m -- gh", "-- -- gh", "- gh", "--- gh", "-=x gh", "-h gh", "--help", "--profile",
		"--min-ttl=bad gh", "--env -- sh", "", "-profile=-- sh",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, " ")
		tool, err := dockerguard.SidecarRunTool(args)
		if err != nil {
			return
		}
		if got := runProgram(args); got != "" && got != tool {
			t.Fatalf("args %q: the guard sees %q, sidecar runs %q", args, tool, got)
		}
	})
}

func TestToolEnv(t *testing.T) {
	tests := []struct {
		name  string
		p     config.Profile
		extra []string
		want  []string
	}{
		{"github", config.Profile{Provider: "github"}, nil,
			[]string{"ACCESS_TOKEN=T", "GH_TOKEN=T", "GITHUB_TOKEN=T"}},
		{"github with --env", config.Profile{Provider: "github"}, []string{"MY_TOKEN"},
			[]string{"ACCESS_TOKEN=T", "GH_TOKEN=T", "GITHUB_TOKEN=T", "MY_TOKEN=T"}},
		{"github.com API spelled out", config.Profile{Provider: "github", ApiURL: "https://API.github.com/"}, nil,
			[]string{"ACCESS_TOKEN=T", "GH_TOKEN=T", "GITHUB_TOKEN=T"}},
		{"GitHub Enterprise Server", config.Profile{Provider: "github", ApiURL: "https://ghe.example.com/api/v3"}, nil,
			[]string{"GH_HOST=ghe.example.com", "ACCESS_TOKEN=T", "GH_TOKEN=T", "GITHUB_TOKEN=T", "GH_ENTERPRISE_TOKEN=T", "GITHUB_ENTERPRISE_TOKEN=T"}},
		{"GitHub Enterprise Server on a port", config.Profile{Provider: "github", ApiURL: "https://127.0.0.1:8443/api/v3"}, nil,
			[]string{"GH_HOST=127.0.0.1:8443", "ACCESS_TOKEN=T", "GH_TOKEN=T", "GITHUB_TOKEN=T", "GH_ENTERPRISE_TOKEN=T", "GITHUB_ENTERPRISE_TOKEN=T"}},
		{"google", config.Profile{Provider: "google"}, nil,
			[]string{"ACCESS_TOKEN=T", "GOOGLE_OAUTH_ACCESS_TOKEN=T"}},
		// A Microsoft token is for the one resource its scopes name (Graph
		// by default): the tool gets that token; another resource is
		// another profile.
		{"microsoft", config.Profile{Provider: "microsoft", Tenant: "consumers"}, []string{"AZURE_TOKEN"},
			[]string{"ACCESS_TOKEN=T", "AZURE_TOKEN=T"}},
		{"keycloak", config.Profile{Provider: "keycloak", Issuer: "https://kc.example/realms/r"}, nil,
			[]string{"ACCESS_TOKEN=T"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := provider.New(&tt.p, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			got, err := toolEnv(context.Background(), &session.Session{Provider: p}, "T", tt.extra)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("toolEnv = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
