// Package skills holds the OpenClaw skills: one folder per skill, each a
// SKILL.md that tells the agent how to run the sidecar through
// `docker exec myapp-sidecar-1 ...`. The Go package exists for its test,
// which checks every skill against OpenClaw's skill rules and every
// command a skill shows against the Docker socket guard's policy, so that
// a skill cannot teach the agent a command the guard refuses.
package skills
