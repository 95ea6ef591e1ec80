// The owner's sign-in commands, without a model: each one runs a fixed
// command in the sidecar container (docker exec through the socket guard)
// and answers from its exit code and JSON output. Nothing here knows about
// OpenClaw beyond the shape of a command definition, so node:test drives it
// with a fake runner (commands.test.js).

// Profile names as the sidecar accepts them (internal/config: profileName).
export const PROFILE_RE = /^[a-z][a-z0-9_]{0,31}$/;

export const DEFAULT_PROFILE = "default";

// Exit codes of sidecar and tgauth (README, "Exit codes").
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  declined: 3,
  signInRequired: 4,
  timedOut: 5,
  provider: 6,
  telegram: 7,
  refused: 8,
};

// How long /auth_status and /logout may take; tgauth bounds itself (the
// code's lifetime times SIDECAR_LOGIN_RESTARTS), this only stops a hung one.
const SHORT_TIMEOUT_MS = 60_000;
const SIGN_IN_TIMEOUT_MS = 2 * 60 * 60_000;

// A line of stderr quoted back to the chat is cut to this many characters.
const MAX_QUOTE = 200;

// parseArgs splits a command's raw argument string into words.
export function parseArgs(raw) {
  const s = (raw ?? "").trim();
  return s === "" ? [] : s.split(/\s+/);
}

// checkProfile returns an error text for a name the sidecar would refuse,
// or "" for a good one.
export function checkProfile(name, command) {
  if (PROFILE_RE.test(name)) return "";
  return `"${clip(name, 40)}" is not a profile name: lower-case letters, digits and _, starting with a letter (e.g. /${command} work).`;
}

function clip(s, n) {
  s = String(s).replace(/\s+/g, " ").trim();
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

function profileArgs(profile) {
  return profile ? ["--profile", profile] : [];
}

// command writes a slash command for profile ("" is the default profile).
function command(name, profile) {
  return profile ? `/${name} ${profile}` : `/${name}`;
}

function label(profile) {
  return profile || DEFAULT_PROFILE;
}

// account names an account as tokencache.Account.String does.
export function account(a) {
  if (!a) return "an unknown account";
  if (a.name && a.email && a.name !== a.email) return `${a.name} (${a.email})`;
  return a.name || a.email || a.subject || "an unknown account";
}

// lastLine is the last non-empty line of a command's stderr, without the
// program's "prog: error: " prefix, for quoting in the chat.
export function lastLine(stderr) {
  const lines = String(stderr ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/: hint: /.test(l));
  if (lines.length === 0) return "";
  return clip(lines[lines.length - 1].replace(/^[a-z]+: error: /, ""), MAX_QUOTE);
}

// parseEvents reads tgauth --json's events, one JSON object a line;
// anything else is skipped.
export function parseEvents(stdout) {
  const events = [];
  for (const line of String(stdout ?? "").split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      const ev = JSON.parse(t);
      if (ev && typeof ev.event === "string") events.push(ev);
    } catch {
      // not an event
    }
  }
  return events;
}

// authOutcome is the one line /auth posts when tgauth ends.
export function authOutcome(profile, result) {
  const p = label(profile);
  const events = parseEvents(result.stdout);
  const last = events[events.length - 1];
  if (result.code === EXIT.ok && last && last.event === "signed_in") {
    return `✅ Sign-in finished: ${account(last)} (profile ${p}).`;
  }
  if (result.code === EXIT.ok && last && last.event === "already_signed_in") {
    return `✅ Already signed in as ${account(last)} (profile ${p}). To switch accounts: ${command("logout", profile)} confirm, then ${command("auth", profile)}.`;
  }
  if (result.code === EXIT.ok) {
    return `✅ Sign-in finished (profile ${p}).`;
  }
  const why = (last && last.event === "error" && last.message) ? clip(last.message, MAX_QUOTE) : lastLine(result.stderr);
  const again = command("auth", profile);
  switch (result.code) {
    case EXIT.declined:
      return `❌ Sign-in declined (profile ${p}). Send ${again} to try again.`;
    case EXIT.timedOut:
      return `⌛ Sign-in timed out: the code expired unused (profile ${p}). Send ${again} for a new one.`;
    case EXIT.provider:
      return `❌ Sign-in failed: the provider refused or could not be reached (profile ${p})${why ? ": " + why : ""}.`;
    case EXIT.telegram:
      return `❌ Sign-in failed: the code could not be posted to Telegram (profile ${p})${why ? ": " + why : ""}.`;
    case EXIT.usage:
      return `❌ Sign-in not started: the sidecar's configuration is incomplete (profile ${p})${why ? ": " + why : ""}.`;
    case EXIT.refused:
      // tgauth from this chat runs as the agent: replacing a working
      // sign-in, or a sign-in as another account, is the owner's to
      // allow in the gatekeeper chat.
      return `⛔ Sign-in not used (profile ${p})${why ? ": " + why : ""}. The profile keeps its current account.`;
    default:
      if (result.error) {
        return `❌ Sign-in could not be started: ${clip(result.error, MAX_QUOTE)}.`;
      }
      return `❌ Sign-in failed (profile ${p}, exit code ${result.code})${why ? ": " + why : ""}.`;
  }
}

// formatTime writes a time for a chat: UTC, to the minute.
export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

// formatStatus writes one profile's `sidecar status --json` for a chat.
export function formatStatus(s) {
  const p = s.profile || DEFAULT_PROFILE;
  const head = `• ${p} (${s.provider || "?"})`;
  if (s.state === "signin_required") {
    const why = s.reason ? `: ${clip(s.reason, MAX_QUOTE)}` : "";
    return `${head}: not signed in${why}. Send ${command("auth", p === DEFAULT_PROFILE ? "" : p)} to sign in.`;
  }
  const lines = [`${head}: ${account(s.account)}`];
  const granted = s.scopes_granted ?? [];
  if (granted.length > 0) lines.push(`scopes: ${granted.join(" ")}`);
  const missing = s.scopes_not_granted ?? [];
  if (missing.length > 0) lines.push(`not granted: ${missing.join(" ")}`);
  if (s.access_token_expires_at) {
    const verb = s.state === "expired" ? "expired" : "expires";
    lines.push(`access token ${verb} ${formatTime(s.access_token_expires_at)}${s.has_refresh_token ? "; renewed automatically" : "; no refresh token: sign in again then"}`);
  }
  if (!s.cache_encrypted) lines.push("⚠️ token cache not encrypted (set SIDECAR_CACHE_KEY)");
  return lines.join("\n");
}

// createCommands returns the command definitions. deps:
//   run(args, {timeoutMs}) -> Promise<{code, stdout, stderr, error?}>
//     runs the Docker client with args (never rejects);
//   notify(ctx, text) -> Promise<void>: posts a message to the chat the
//     command came from, after the handler has answered;
//   container: the sidecar container's name;
//   log: {info, warn} (optional).
export function createCommands({ run, notify, container = "myapp-sidecar-1", log = console }) {
  const running = new Map(); // profile label -> Promise of the running /auth
  const exec = (argv, opts) => run(["exec", container, ...argv], opts);

  const auth = {
    name: "auth",
    description: "Sign in to your account: /auth [profile]",
    acceptsArgs: true,
    requireAuth: true,
    handler: async (ctx) => {
      const args = parseArgs(ctx.args);
      if (args.length > 1) return { text: "Usage: /auth [profile], e.g. /auth or /auth work." };
      const profile = args[0] ?? "";
      if (profile) {
        const bad = checkProfile(profile, "auth");
        if (bad) return { text: bad };
      }
      const key = label(profile);
      if (running.has(key)) {
        return { text: `A sign-in for profile ${key} is already running: use the code above, or wait for it to end.` };
      }
      const job = exec(["tgauth", "--json", ...profileArgs(profile)], { timeoutMs: SIGN_IN_TIMEOUT_MS })
        .then((result) => authOutcome(profile, result))
        .catch((err) => `❌ Sign-in failed (profile ${key}): ${clip(err?.message ?? err, MAX_QUOTE)}.`)
        .then(async (line) => {
          running.delete(key);
          log.info?.(`devicegate: /auth for profile ${key} ended`);
          try {
            await notify(ctx, line);
          } catch (err) {
            log.warn?.(`devicegate: could not post the end of /auth: ${err?.message ?? err}`);
          }
        });
      running.set(key, job);
      log.info?.(`devicegate: /auth for profile ${key} started`);
      return { text: `Starting sign-in (profile ${key}); the code follows.` };
    },
  };

  const status = {
    name: "auth_status",
    description: "Signed-in account, scopes, expiry: /auth_status [profile]",
    acceptsArgs: true,
    requireAuth: true,
    handler: async (ctx) => {
      const args = parseArgs(ctx.args);
      if (args.length > 1) return { text: "Usage: /auth_status [profile]" };
      const profile = args[0] ?? "";
      if (profile) {
        const bad = checkProfile(profile, "auth_status");
        if (bad) return { text: bad };
      }
      const sel = profile ? ["--profile", profile] : ["--all"];
      const r = await exec(["sidecar", "status", "--json", ...sel], { timeoutMs: SHORT_TIMEOUT_MS });
      // 4 (sign-in required) still prints the status.
      if (r.code === EXIT.ok || r.code === EXIT.signInRequired) {
        let parsed;
        try {
          parsed = JSON.parse(r.stdout);
        } catch {
          parsed = undefined;
        }
        if (parsed) {
          const list = Array.isArray(parsed) ? parsed : [parsed];
          if (list.length === 0) return { text: "No profile is configured in the sidecar (.env: OAUTH_PROVIDER, OAUTH_CLIENT_ID)." };
          return { text: list.map(formatStatus).join("\n") };
        }
      }
      const why = r.error ? clip(r.error, MAX_QUOTE) : lastLine(r.stderr);
      return { text: `❌ Status unavailable (exit code ${r.code})${why ? ": " + why : ""}.` };
    },
  };

  const logout = {
    name: "logout",
    description: "Revoke and forget a sign-in: /logout [profile] confirm",
    acceptsArgs: true,
    requireAuth: true,
    handler: async (ctx) => {
      const args = parseArgs(ctx.args);
      let confirmed = false;
      if (args.length > 0 && args[args.length - 1] === "confirm") {
        confirmed = true;
        args.pop();
      }
      if (args.length > 1) return { text: "Usage: /logout [profile] confirm" };
      const profile = args[0] ?? "";
      if (profile) {
        const bad = checkProfile(profile, "logout");
        if (bad) return { text: bad };
      }
      const key = label(profile);
      const again = `${command("logout", profile)} confirm`;
      if (!confirmed) {
        return { text: `This revokes the sign-in of profile ${key} at the provider and deletes its tokens; the agent loses access until the next /auth. devicegate then asks you to approve it in its gatekeeper chat (a sign-out sent here passes through the agent's container). To go ahead, send: ${again}` };
      }
      if (running.has(key)) {
        return { text: `A sign-in for profile ${key} is running; wait for it to end, then send ${again}.` };
      }
      const r = await exec(["sidecar", "logout", ...profileArgs(profile)], { timeoutMs: SHORT_TIMEOUT_MS });
      if (r.code === EXIT.ok) {
        const line = String(r.stdout).trim().split("\n").pop();
        return { text: `✅ ${clip(line || `Signed out of profile ${key}.`, 400)}` };
      }
      const why = r.error ? clip(r.error, MAX_QUOTE) : lastLine(r.stderr);
      if (r.code === EXIT.refused) {
        return { text: `⛔ Logout not done (profile ${key})${why ? ": " + why : ""}. The sign-in is kept. Approve it in the gatekeeper chat when asked, or send /logout to the gatekeeper bot.` };
      }
      return { text: `❌ Logout failed (profile ${key}, exit code ${r.code})${why ? ": " + why : ""}. The tokens are kept; try again.` };
    },
  };

  return { commands: [auth, status, logout], running };
}
