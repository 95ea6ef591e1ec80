// devicegate's OpenClaw plugin: /auth, /auth_status and /logout as plugin
// commands (api.registerCommand), which the gateway runs without a model
// turn and only for authorized senders (the owner, with the shipped
// configuration's allowlist).
import { spawn } from "node:child_process";
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { toolPluginMetadataSymbol } from "openclaw/plugin-sdk/tool-plugin";
import { createCommands } from "./commands.js";

// Bound on what is kept of a command's output.
const MAX_OUTPUT = 1 << 20;

// runDocker runs the Docker client and resolves (never rejects) with its
// exit code and output. The environment is the gateway's: DOCKER_HOST names
// the guard's socket.
function runDocker(docker) {
  return (args, { timeoutMs }) =>
    new Promise((resolve) => {
      let stdout = "";
      let stderr = "";
      let settled = false;
      const done = (r) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve({ stdout, stderr, ...r });
        }
      };
      let child;
      try {
        child = spawn(docker, args, { stdio: ["ignore", "pipe", "pipe"] });
      } catch (err) {
        done({ code: -1, error: `cannot run ${docker}: ${err.message}` });
        return;
      }
      const timer = setTimeout(() => {
        child.kill("SIGTERM");
        done({ code: -1, error: `${args[2] ?? docker} did not finish within ${Math.round(timeoutMs / 1000)} s` });
      }, timeoutMs);
      child.stdout.setEncoding("utf8").on("data", (d) => {
        if (stdout.length < MAX_OUTPUT) stdout += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d) => {
        if (stderr.length < MAX_OUTPUT) stderr += d;
      });
      child.on("error", (err) => done({ code: -1, error: `cannot run ${docker}: ${err.message}` }));
      child.on("close", (code, signal) => done({ code: code ?? -1, error: signal ? `killed by ${signal}` : undefined }));
    });
}

// notifier posts a message to the chat a command came from, through the
// channel's own outbound adapter (so the channel's token, API root, proxy
// and retries apply).
function notifier(api) {
  return async (ctx, text) => {
    const channel = ctx.channelId ?? ctx.channel;
    const adapter = await api.runtime.channel.outbound.loadAdapter(channel);
    if (!adapter?.sendText) throw new Error(`channel ${channel} cannot send text`);
    await adapter.sendText({
      cfg: ctx.config ?? api.config,
      to: ctx.to ?? ctx.from,
      text,
      accountId: ctx.accountId,
      threadId: ctx.messageThreadId,
    });
  };
}

const id = "devicegate";
const name = "devicegate";
const description = "Sign-in commands for the devicegate sidecar (/auth, /auth_status, /logout) that run without the model.";

// The plugin's settings (plugins.entries.devicegate.config).
const configSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    container: {
      type: "string",
      description: "The sidecar container that docker exec runs in (default myapp-sidecar-1).",
    },
    docker: {
      type: "string",
      description: "The Docker client (default docker, found in PATH; DOCKER_HOST names the guard's socket).",
    },
  },
};

const entry = definePluginEntry({
  id,
  name,
  description,
  register(api) {
    const cfg = api.pluginConfig ?? {};
    const { commands } = createCommands({
      run: runDocker(cfg.docker || "docker"),
      notify: notifier(api),
      container: cfg.container || "myapp-sidecar-1",
      log: api.logger,
    });
    for (const c of commands) api.registerCommand(c);
  },
});

// `openclaw plugins validate` and `openclaw plugins build` read a plugin's
// description from the authoring metadata that defineToolPlugin attaches
// under this SDK symbol, and refuse an entry without it. Ours registers
// commands, not tools: the same metadata with no tools lets the CLI check
// openclaw.plugin.json against this file (and `plugins build` regenerate
// it) without changing what the gateway loads.
Object.defineProperty(entry, toolPluginMetadataSymbol, {
  value: { id, name, description, activation: { onStartup: true }, configSchema, tools: [] },
  enumerable: false,
});

export default entry;
