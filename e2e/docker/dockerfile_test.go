package docker

import (
	"os"
	"strings"
	"testing"
)

// buildStage returns a Dockerfile's Go build stage: from its FROM line up
// to the next FROM.
func buildStage(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	const from = "FROM ${GO_IMAGE} AS build\n"
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("%s has no %q", file, from)
	}
	rest := s[i+len(from):]
	j := strings.Index(rest, "\nFROM ")
	if j < 0 {
		t.Fatalf("%s: no stage after the build stage", file)
	}
	return rest[:j]
}

// TestToolDockerfileBuildsLikeDockerfile keeps Dockerfile.tool's build
// stage identical to Dockerfile's: the same binaries in both images, and
// every cached layer shared between the two builds.
func TestToolDockerfileBuildsLikeDockerfile(t *testing.T) {
	if a, b := buildStage(t, "Dockerfile"), buildStage(t, "Dockerfile.tool"); a != b {
		t.Errorf("the build stages differ:\nDockerfile:\n%s\nDockerfile.tool:\n%s", a, b)
	}
	for _, file := range []string{"Dockerfile", "Dockerfile.tool"} {
		b, _ := os.ReadFile("../../" + file)
		if !strings.Contains(string(b), "ARG GO_IMAGE=golang:1.26-bookworm\n") {
			t.Errorf("%s: GO_IMAGE default differs", file)
		}
	}
}
