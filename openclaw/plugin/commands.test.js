// Unit tests of the plugin's commands with a fake Docker runner:
//   node --test openclaw/plugin/
// (the whole path through the real gateway is e2e/docker/openclaw_test.go).
import assert from "node:assert/strict";
import { test } from "node:test";
import { authOutcome, checkProfile, createCommands, formatStatus, lastLine, parseArgs, parseEvents } from "./commands.js";

// fakeRunner records each docker invocation and answers from a table of
// results by the command's words; "wait" results stay pending until
// released.
function fakeRunner(results) {
  const calls = [];
  const pending = [];
  const run = (args) => {
    calls.push(args);
    const key = args[2] === "sidecar" ? `sidecar ${args[3]}` : args[2];
    const r = results[key] ?? { code: 1, stdout: "", stderr: `no result for ${key}` };
    if (r === "wait") return new Promise((resolve) => pending.push(resolve));
    return Promise.resolve({ stdout: "", stderr: "", ...r });
  };
  return { run, calls, pending };
}

function setup(results) {
  const runner = fakeRunner(results);
  const notices = [];
  let noticed;
  const noticeDone = new Promise((resolve) => (noticed = resolve));
  const { commands, running } = createCommands({
    run: runner.run,
    notify: async (_ctx, text) => {
      notices.push(text);
      noticed();
    },
    log: {},
  });
  const byName = Object.fromEntries(commands.map((c) => [c.name, c]));
  return { ...runner, notices, noticeDone, byName, running };
}

const signedIn = JSON.stringify({ event: "signed_in", profile: "default", provider: "oidc", name: "Alice Example", email: "alice@example.com" });

test("commands are owner-only and take arguments", () => {
  const { byName } = setup({});
  assert.deepEqual(Object.keys(byName).sort(), ["auth", "auth_status", "logout"]);
  for (const c of Object.values(byName)) {
    assert.equal(c.requireAuth, true, c.name);
    assert.equal(c.acceptsArgs, true, c.name);
    assert.ok(c.description.length <= 70, `${c.name}: description longer than a Telegram menu shows`);
  }
});

test("parseArgs and checkProfile", () => {
  assert.deepEqual(parseArgs(undefined), []);
  assert.deepEqual(parseArgs("  work   confirm "), ["work", "confirm"]);
  for (const good of ["work", "gh", "a", "my_work2"]) assert.equal(checkProfile(good, "auth"), "", good);
  for (const bad of ["Work", "2work", "-x", "--force", "a-b", "x".repeat(33), "wörk", "$(id)", "a;b"]) {
    assert.match(checkProfile(bad, "auth"), /is not a profile name/, bad);
  }
});

test("/auth runs tgauth in the background and posts how it ended", async () => {
  const t = setup({ "tgauth": { code: 0, stdout: `{"event":"code","user_code":"WDJB-MJHT"}\n${signedIn}\n` } });
  const reply = await t.byName.auth.handler({ args: "" });
  assert.match(reply.text, /Starting sign-in \(profile default\)/);
  assert.deepEqual(t.calls[0], ["exec", "myapp-sidecar-1", "tgauth", "--json"]);
  await t.noticeDone;
  assert.deepEqual(t.notices, ["✅ Sign-in finished: Alice Example (alice@example.com) (profile default)."]);
  assert.equal(t.running.size, 0);
});

test("/auth NAME means --profile NAME", async () => {
  const t = setup({ "tgauth": { code: 0, stdout: signedIn } });
  await t.byName.auth.handler({ args: "work" });
  assert.deepEqual(t.calls[0], ["exec", "myapp-sidecar-1", "tgauth", "--json", "--profile", "work"]);
});

test("/auth refuses bad arguments without running anything", async () => {
  const t = setup({});
  for (const args of ["--force", "Work", "a b", "x;rm -rf /"]) {
    const reply = await t.byName.auth.handler({ args });
    assert.match(reply.text, /not a profile name|Usage/, args);
  }
  assert.equal(t.calls.length, 0);
});

test("a second /auth while one runs starts nothing", async () => {
  const t = setup({ "tgauth": "wait" });
  await t.byName.auth.handler({ args: "" });
  const second = await t.byName.auth.handler({ args: "" });
  assert.match(second.text, /already running/);
  const other = await t.byName.auth.handler({ args: "work" });
  assert.match(other.text, /Starting sign-in \(profile work\)/);
  assert.equal(t.calls.length, 2);
  const logout = await t.byName.logout.handler({ args: "confirm" });
  assert.match(logout.text, /is running/);
  assert.equal(t.calls.length, 2);
  t.pending[0]({ code: 5, stdout: "", stderr: "tgauth: error: the code expired\n" });
  await t.noticeDone;
  assert.match(t.notices[0], /timed out.*Send \/auth for a new one/);
});

test("authOutcome says how tgauth ended", () => {
  const cases = [
    [{ code: 0, stdout: JSON.stringify({ event: "already_signed_in", name: "A", email: "a@x" }) }, /Already signed in as A \(a@x\).*\/logout confirm, then \/auth\./],
    [{ code: 3, stdout: "" }, /declined/],
    [{ code: 5, stdout: "" }, /timed out/],
    [{ code: 6, stdout: JSON.stringify({ event: "error", code: 6, message: "invalid_client" }) }, /provider.*: invalid_client/],
    [{ code: 7, stderr: "tgauth: error: Telegram: Forbidden: bot was blocked\ntgauth: hint: unblock it\n" }, /Telegram.*: Telegram: Forbidden: bot was blocked\./],
    [{ code: 2, stderr: "tgauth: error: OAUTH_CLIENT_ID: required\n" }, /configuration.*OAUTH_CLIENT_ID: required/],
    [{ code: 1, stderr: "permission denied while trying to connect\n" }, /exit code 1\): permission denied/],
    [{ code: -1, error: "cannot run docker: ENOENT" }, /could not be started: cannot run docker: ENOENT/],
    [{ code: 8, stderr: "tgauth: error: signing in to profile default as M (m@x) in place of A (a@x): the owner said no\ntgauth: hint: do not retry\n" },
      /Sign-in not used \(profile default\): signing in .* in place of A \(a@x\): the owner said no\. The profile keeps its current account\./],
  ];
  for (const [result, want] of cases) assert.match(authOutcome("", result), want);
  assert.match(authOutcome("work", { code: 5 }), /profile work.*\/auth work/);
});

test("parseEvents skips what is not an event", () => {
  assert.deepEqual(parseEvents('noise\n{"event":"code"}\n{bad\n{"x":1}\n'), [{ event: "code" }]);
});

test("lastLine quotes the error, not the hint", () => {
  assert.equal(lastLine("sidecar: error: boom\nsidecar: hint: do this\n"), "boom");
  assert.equal(lastLine(""), "");
  assert.ok(lastLine("x".repeat(500)).length <= 200);
});

test("/auth_status formats every profile", async () => {
  const status = [
    { profile: "default", provider: "oidc", state: "ok", account: { name: "Alice Example", email: "alice@example.com" }, scopes_granted: ["openid", "email"], scopes_not_granted: ["api:write"], access_token_expires_at: "2026-12-01T16:00:00Z", has_refresh_token: true, cache_encrypted: true },
    { profile: "work", provider: "microsoft", state: "signin_required", reason: "not signed in", account: {}, cache_encrypted: true },
  ];
  const t = setup({ "sidecar status": { code: 4, stdout: JSON.stringify(status) } });
  const reply = await t.byName.auth_status.handler({ args: "" });
  assert.deepEqual(t.calls[0], ["exec", "myapp-sidecar-1", "sidecar", "status", "--json", "--all"]);
  assert.equal(reply.text, [
    "• default (oidc): Alice Example (alice@example.com)",
    "scopes: openid email",
    "not granted: api:write",
    "access token expires 2026-12-01 16:00 UTC; renewed automatically",
    "• work (microsoft): not signed in: not signed in. Send /auth work to sign in.",
  ].join("\n"));
});

test("/auth_status NAME asks for that profile", async () => {
  const t = setup({ "sidecar status": { code: 0, stdout: JSON.stringify({ profile: "work", provider: "github", state: "ok", account: { name: "octo" }, cache_encrypted: false }) } });
  const reply = await t.byName.auth_status.handler({ args: "work" });
  assert.deepEqual(t.calls[0], ["exec", "myapp-sidecar-1", "sidecar", "status", "--json", "--profile", "work"]);
  assert.match(reply.text, /work \(github\): octo\n⚠️ token cache not encrypted/);
});

test("/auth_status reports a failure", async () => {
  const t = setup({ "sidecar status": { code: 2, stdout: "", stderr: "sidecar: error: SIDECAR_PROFILES: unknown profile \"x\"\n" } });
  const reply = await t.byName.auth_status.handler({ args: "" });
  assert.match(reply.text, /Status unavailable \(exit code 2\): SIDECAR_PROFILES/);
});

test("formatStatus of an expired token", () => {
  assert.match(formatStatus({ state: "expired", provider: "oidc", account: { email: "a@x" }, access_token_expires_at: "2026-01-01T00:00:00Z", has_refresh_token: false, cache_encrypted: true }), /access token expired 2026-01-01 00:00 UTC; no refresh token/);
});

test("/logout asks for confirmation first", async () => {
  const t = setup({ "sidecar logout": { code: 0, stdout: "Signed out of profile work: the provider revoked the tokens and the cache is deleted.\n" } });
  const ask = await t.byName.logout.handler({ args: "work" });
  assert.match(ask.text, /To go ahead, send: \/logout work confirm/);
  assert.equal(t.calls.length, 0);
  const done = await t.byName.logout.handler({ args: "work confirm" });
  assert.deepEqual(t.calls[0], ["exec", "myapp-sidecar-1", "sidecar", "logout", "--profile", "work"]);
  assert.equal(done.text, "✅ Signed out of profile work: the provider revoked the tokens and the cache is deleted.");
});

test("/logout confirm for the default profile and failures", async () => {
  const t = setup({ "sidecar logout": { code: 6, stdout: "", stderr: "sidecar: error: revocation failed: 503\nsidecar: hint: --force\n" } });
  const r = await t.byName.logout.handler({ args: "confirm" });
  assert.deepEqual(t.calls[0], ["exec", "myapp-sidecar-1", "sidecar", "logout"]);
  assert.match(r.text, /Logout failed \(profile default, exit code 6\): revocation failed: 503\. The tokens are kept/);
  assert.match((await t.byName.logout.handler({ args: "a b confirm" })).text, /Usage/);
});

test("/logout refused by the owner in the gatekeeper chat keeps the sign-in", async () => {
  const t = setup({ "sidecar logout": { code: 8, stdout: "", stderr: "sidecar: error: signing out of profile default: the owner said no\nsidecar: hint: do not retry\n" } });
  assert.match((await t.byName.logout.handler({ args: "" })).text, /gatekeeper chat/);
  const r = await t.byName.logout.handler({ args: "confirm" });
  assert.match(r.text, /Logout not done \(profile default\): signing out of profile default: the owner said no\. The sign-in is kept\./);
});
