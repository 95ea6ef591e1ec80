package docker

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileTargets: the Dockerfile has one stage per image, the tool
// stage last, and every compose file that builds from it names the target.
// A build without a target gives the last stage (tool), and the legacy
// builder builds every stage before the target: so the tool stage must
// come after the others, and no service may rely on the default.
func TestDockerfileTargets(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, m := range regexp.MustCompile(`(?m)^FROM \S+ AS (\S+)$`).FindAllStringSubmatch(string(b), -1) {
		stages = append(stages, m[1])
	}
	for _, want := range []string{"build", "sidecar", "tool", "demo-idp"} {
		if !strings.Contains(" "+strings.Join(stages, " ")+" ", " "+want+" ") {
			t.Errorf("the Dockerfile has no stage %q (stages: %v)", want, stages)
		}
	}
	if len(stages) == 0 || stages[len(stages)-1] != "tool" {
		t.Errorf("stages %v: the tool stage must be last", stages)
	}

	files, _ := filepath.Glob("../../compose*.yaml")
	more, _ := filepath.Glob("testdata/compose*.yaml")
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	dockerfile := regexp.MustCompile(`^(\s*)dockerfile: Dockerfile\s*$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			m := dockerfile.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			// The build block's other keys, at the same indentation.
			target := false
			for _, next := range lines[i+1:] {
				if !strings.HasPrefix(next, m[1]) || strings.TrimSpace(next) == "" {
					break
				}
				if strings.HasPrefix(next, m[1]+"target: ") {
					target = true
				}
			}
			if !target {
				t.Errorf("%s:%d builds from the Dockerfile without a target", filepath.Base(f), i+1)
			}
		}
	}
}
