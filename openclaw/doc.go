// Package openclaw holds what devicegate adds to the OpenClaw gateway: its
// configuration (openclaw.json), our plugin (plugin/, tested with node
// --test) and gateway-start.sh, the entrypoint compose.yaml gives the
// gateway. The Go package exists for the test of gateway-start.sh.
package openclaw
