// Package docker holds the end-to-end tests that run devicegate the way it
// is deployed: the image built from the repository's Dockerfile, the stack
// started from compose.yaml, and the agent's Docker CLI talking to the
// socket guard.
//
// The tests need a Docker engine, the Compose v2 plugin, the base images (or
// their stand-ins) and Node.js for the test identity provider, so they are
// behind the build tag dockere2e and plain `go test ./...` skips them.
// scripts/docker-e2e.sh prepares a machine and runs them:
//
//	bash scripts/docker-e2e.sh
//
// or, on a machine that already has all of the above:
//
//	go test -tags dockere2e -count=1 -v ./e2e/docker/
//
// The suite uses the Compose project "myapp", which the guard and the agent
// expect. It refuses to run when a myapp stack that it did not start exists
// on the engine, and removes its own containers and volumes when it ends.
// Set DOCKER_E2E_REPORT to a file path to get the measurements as Markdown.
package docker
