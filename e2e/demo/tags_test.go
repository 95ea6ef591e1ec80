package demo

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// serviceImages reads the image of each service of a compose file: the
// `image:` line under a two-space-indented service name in `services:`.
// Enough for our own compose files, which this test is about.
func serviceImages(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	images := map[string]string{}
	inServices, service := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case !strings.HasPrefix(line, " "):
			inServices = strings.HasPrefix(line, "services:")
			service = ""
		case inServices && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			service = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case inServices && service != "" && strings.HasPrefix(line, "    image: "):
			images[service] = strings.TrimSpace(strings.TrimPrefix(line, "    image: "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return images
}

// Each stack builds and runs its own image tags: the demo :demo, the real
// stack :local, the Docker suite :e2e. Sharing one would let building one
// stack silently recreate another's containers (compose recreates a
// container whose image tag now names another image).
func TestStacksHaveTheirOwnImageTags(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	stacks := []struct {
		name  string
		files []string // later files override earlier ones, as with compose -f
		tag   string
	}{
		{"demo", []string{"compose.demo.yaml"}, ":demo"},
		{"real", []string{"compose.yaml", "compose.tool.yaml"}, ":local"},
		{"docker suite", []string{"compose.yaml", "e2e/docker/testdata/compose.test.yaml"}, ":e2e"},
		{"docker suite, tool", []string{"compose.yaml", "e2e/docker/testdata/compose.test.yaml", "compose.tool.yaml", "e2e/docker/testdata/compose.tool.test.yaml"}, ":e2e"},
	}
	// A tag suffix per stack, different for each: no image is shared.
	for _, st := range stacks {
		merged := map[string]string{}
		for _, f := range st.files {
			for svc, img := range serviceImages(t, filepath.Join(root, f)) {
				merged[svc] = img
			}
		}
		if len(merged) == 0 {
			t.Fatalf("%s: no images found in %v", st.name, st.files)
		}
		for svc, img := range merged {
			if !strings.HasSuffix(img, st.tag) {
				t.Errorf("%s: service %s runs %s, want a %s tag of its own", st.name, svc, img, st.tag)
			}
		}
	}
}
