// Package demo tests the demo stack (compose.demo.yaml) the way a newcomer
// uses it: the README's "Try it now" commands exactly as written (read from
// README.md, run with bash), the agent's commands through the guard
// included, on a real Docker engine, with a person's part played by a real
// headless Chromium driven through the DevTools protocol (chromedp): the
// verification pages opened from the link sidecar login prints, the code
// typed or carried by verification_uri_complete, the password typed, the
// consent allowed or denied.
//
// It needs a Docker engine, the Compose v2 plugin, the base images (or
// their stand-ins) and Debian's chromium, so it is behind the build tag
// demoe2e. scripts/demo-e2e.sh prepares a machine and runs it:
//
//	bash scripts/demo-e2e.sh
//
// The suite uses the demo's own Compose project, devicegate-demo (the
// README's `docker exec devicegate-demo-sidecar-1 ...` line), refuses to
// run while such a stack exists, and removes it when it ends. A screenshot
// of every page the browser saw is written to DEMO_E2E_ARTIFACTS (default
// e2e/demo/artifacts, ignored by git); the test prints the path.
package demo
