// Test-only OpenID provider for devicegate's integration tests.
//
// It runs the `oidc-provider` package (pinned in package.json) on 127.0.0.1 with the Device
// Authorization Grant (RFC 8628), refresh token rotation with reuse detection, revocation and
// userinfo, and prints exactly one line to stdout when it accepts connections:
//
//   LISTENING http://127.0.0.1:PORT
//
// Everything else (the library's notices and warnings) goes to stderr. The server never logs
// tokens. Nothing here is fit for production: signing keys, cookie keys and the client secret
// are fixed test values and all state lives in memory. On Node 20 oidc-provider 9.13 prints
// "Unsupported runtime. Use Node.js v22.x LTS" but works: it feature-detects what Node 20 lacks
// (it needs URL.parse, which Node has since 20.18).
//
// Environment (all optional; durations are whole seconds):
//
//   PORT                 port to listen on; default 0 (an ephemeral port).
//   ACCESS_TOKEN_TTL     lifetime of access tokens and ID tokens; default 3600.
//   DEVICE_CODE_TTL      lifetime of a device code (the `expires_in` of the device
//                        authorization response); default 600.
//   REFRESH_TOKEN_TTL    lifetime of each refresh token, counted again from every rotation;
//                        default 1209600 (14 days).
//   POLL_INTERVAL        polling interval to advertise as `interval` in the device authorization
//                        response. Default: none. oidc-provider sends no `interval` at all, so
//                        clients fall back to RFC 8628's default of 5 s.
//   SLOW_DOWN            "1" makes the token endpoint answer `slow_down` (HTTP 400) when a device
//                        code is polled sooner than its interval after the previous poll (or
//                        after it was issued). The interval is POLL_INTERVAL, or 5 s when that is
//                        unset. oidc-provider itself never answers slow_down. Default: off.
//   SLOW_DOWN_INCREMENT  seconds added to a device code's interval on each slow_down, as
//                        RFC 8628 §3.5 requires ("increased by 5 seconds"); default 5.
//   WATCH_STDIN          "1" makes the server exit when its stdin reaches end of file; the Go
//                        harness sets it and holds a pipe open. Default: off.
//
// Test-only endpoints:
//
//   GET  /__test/stats   request counters as JSON (see zeroStats below), counted as requests
//                        arrive, before the provider handles them.
//   POST /__test/reset   sets all counters to zero.
//   POST /__test/device-code-ttl?seconds=N
//                        the lifetime of device codes issued from now on (DEVICE_CODE_TTL).
//
// Sign-in pages are this file's own minimal HTML, without JavaScript: the device pages at /device
// (oidc-provider's routes and forms, our page around them), then /interaction/:uid for login (any
// login name of lower-case letters, digits, ".", "_", "-"; no password) and consent, where every
// requested scope is a ticked checkbox the person may untick, with Allow and Deny buttons.

import * as http from 'node:http';

import Provider from 'oidc-provider';
// Not a public entry point, but the package has no "exports" map and its version is pinned.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

// oidc-provider prints notices with console.info; keep stdout for the LISTENING line alone.
console.log = console.error;
console.info = console.error;

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const RFC8628_DEFAULT_INTERVAL = 5; // RFC 8628 §3.2: "If no value is provided, clients MUST use 5"

// Routes are spelled out (they are oidc-provider's defaults) because the counting and slow_down
// middleware below match on them before the provider routes the request.
const ROUTES = {
  authorization: '/auth',
  code_verification: '/device',
  device_authorization: '/device/auth',
  end_session: '/session/end',
  introspection: '/token/introspection',
  jwks: '/jwks',
  revocation: '/token/revocation',
  token: '/token',
  userinfo: '/me',
};

const PUBLIC_CLIENT_ID = 'devicegate-public';
const CONFIDENTIAL_CLIENT_ID = 'devicegate-confidential';
const CONFIDENTIAL_CLIENT_SECRET = 'devicegate-test-secret-not-secret';
// Code-flow clients (RFC 8252 native apps): loopback redirects, any port (oidc-provider ignores
// the port of a native client's loopback redirect, RFC 8252 §7.3). The confidential one is what
// Google's Desktop app clients are: a secret sent on the code exchange, though not confidential.
const NATIVE_CLIENT_ID = 'devicegate-native';
const NATIVE_CONFIDENTIAL_CLIENT_ID = 'devicegate-native-confidential';
// The https one stands for an owner's own public callback (a reverse proxy to serve); nothing
// serves it in the tests, which play the proxy.
const NATIVE_REDIRECT_URIS = ['http://127.0.0.1/callback', 'http://localhost/callback', 'http://[::1]/callback',
  'https://auth.example.test/devicegate/cb'];

// envSeconds reads a whole number of seconds. An invalid value stops the server with a message
// naming the variable, rather than silently using a default the test did not ask for.
function envInt(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw new Error(`${name}=${JSON.stringify(raw)}: want a whole number >= ${min}`);
  }
  return Number(raw);
}

function envFlag(name) {
  const raw = process.env[name];
  if (raw === undefined || raw === '' || raw === '0' || raw === 'false') {
    return false;
  }
  if (raw === '1' || raw === 'true') {
    return true;
  }
  throw new Error(`${name}=${JSON.stringify(raw)}: want 1 or 0`);
}

const config = {
  port: envInt('PORT', 0, 0),
  accessTokenTTL: envInt('ACCESS_TOKEN_TTL', 60 * 60, 1),
  deviceCodeTTL: envInt('DEVICE_CODE_TTL', 10 * 60, 1),
  refreshTokenTTL: envInt('REFRESH_TOKEN_TTL', 14 * 24 * 60 * 60, 1),
  pollInterval: envInt('POLL_INTERVAL', 0, 1), // 0: do not advertise
  slowDown: envFlag('SLOW_DOWN'),
  slowDownIncrement: envInt('SLOW_DOWN_INCREMENT', 5, 1),
};

// --- counters -------------------------------------------------------------------------------

function zeroStats() {
  return {
    device_authorizations: 0,
    token_requests_by_grant: Object.create(null), // keys come from requests
    refresh_requests: 0,
    revocations: 0,
    userinfo_requests: 0,
    introspections: 0,
    invalid_grant_responses: 0,
    slow_down_responses: 0,
    token_errors_by_code: Object.create(null),
  };
}

let stats = zeroStats();

function bump(map, key) {
  map[key] = (map[key] || 0) + 1;
}

// --- small HTTP helpers ---------------------------------------------------------------------

const BODY_LIMIT = 56 * 1024; // oidc-provider's own limit

// readForm reads an application/x-www-form-urlencoded body. Once it has been read here,
// oidc-provider takes it from ctx.req.body (it warns once on stderr that a body was pre-parsed).
async function readForm(ctx) {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    return new URLSearchParams();
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > BODY_LIMIT) {
      ctx.throw(413, 'request body too large');
    }
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  ctx.req.body = raw;
  return new URLSearchParams(raw);
}

function esc(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
</head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}

// --- storage --------------------------------------------------------------------------------

// UnboundedStore is the storage behind oidc-provider's own in-memory adapter, without its LRU
// limit of about a thousand entries. With the default, a long benchmark would silently lose old
// grants and tokens, and the client under test would see invalid_grant for no reason of its own.
// Entries expire as the provider asks (lifetime plus clock tolerance) and are swept each minute.
class UnboundedStore {
  #entries = new Map();

  get(key) {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      return undefined;
    }
    if (entry.expiry !== undefined && entry.expiry <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key, value, { maxAge } = {}) {
    const expiry = typeof maxAge === 'number' && Number.isFinite(maxAge) ? Date.now() + maxAge : undefined;
    this.#entries.set(key, { value, expiry });
    return this;
  }

  delete(key) {
    return this.#entries.delete(key);
  }

  sweep() {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiry !== undefined && entry.expiry <= now) {
        this.#entries.delete(key);
      }
    }
  }
}

const CLOCK_TOLERANCE = 15; // seconds; oidc-provider's default clockTolerance
const store = new UnboundedStore();
setInterval(() => store.sweep(), 60 * 1000).unref();

// --- accounts -------------------------------------------------------------------------------

// displayName turns a login into a stable test name: "alice" -> "Alice Example".
function displayName(login) {
  return `${login.charAt(0).toUpperCase()}${login.slice(1)} Example`;
}

async function findAccount(ctx, id) {
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        name: displayName(id),
        email: `${id}@example.com`,
        email_verified: true,
      };
    },
  };
}

// --- device pages (the provider's own routes; only their HTML is ours) -------------------

async function userCodeInputSource(ctx, form, out, err) {
  let title = 'Device sign-in';
  let message = '<p id="message">Enter the code displayed on your device.</p>';
  if (err?.name === 'AbortedError') {
    title = 'Sign-in denied';
    message = '<p id="message">The sign-in request was denied. You can close this page.</p>';
  } else if (err?.name === 'ExpiredError') {
    message = '<p id="message" class="error">The code has expired. Start again on your device.</p>';
  } else if (err?.name === 'AlreadyUsedError') {
    message = '<p id="message" class="error">The code has already been used.</p>';
  } else if (err && (err.userCode || err.name === 'NoCodeError')) {
    message = '<p id="message" class="error">The code you entered is incorrect. Try again.</p>';
  } else if (err) {
    message = `<p id="message" class="error">There was an error processing your request: ${esc(out?.error ?? 'error')}</p>`;
  }
  ctx.type = 'html';
  ctx.body = page(title, `${message}
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`);
}

async function userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
  ctx.type = 'html';
  ctx.body = page('Confirm device', `<p id="message">Sign in to <strong>${esc(client.clientName || client.clientId)}</strong>
if your device shows the code <code id="user_code">${esc(userCode)}</code>.</p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
}

async function successSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Sign-in success', '<p id="message">Your device is signed in. You can close this page.</p>');
}

// --- interactions: login and consent ------------------------------------------------------

function loginPage(uid, login = '', error = '') {
  return page('Sign-in', `${error ? `<p id="message" class="error">${esc(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${esc(uid)}/login">
<label>Login <input type="text" name="login" value="${esc(login)}" autocomplete="username"></label>
<button type="submit">Sign in</button>
</form>`);
}

function consentPage(uid, client, scopes) {
  const boxes = scopes.map((s) => `<li><label><input type="checkbox" name="scope" value="${esc(s)}" checked> ${esc(s)}</label></li>`).join('\n');
  return page('Authorize', `<p id="message"><strong>${esc(client.clientName || client.clientId)}</strong> asks for access.</p>
<form id="consent" method="post" action="/interaction/${esc(uid)}/consent">
<ul>
${boxes}
</ul>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`);
}

const LOGIN_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function interactions(provider) {
  const pattern = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent))?$/;

  return async function interactionRoutes(ctx, next) {
    const match = pattern.exec(ctx.path);
    if (!match) {
      return next();
    }
    const [, uid, step] = match;
    ctx.set('cache-control', 'no-store');
    ctx.type = 'html';

    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      ctx.status = 400;
      ctx.body = page('Sign-in failed', `<p id="message" class="error">${esc(err.message)}</p>`);
      return undefined;
    }
    if (details.uid !== uid) {
      ctx.status = 400;
      ctx.body = page('Sign-in failed', '<p id="message" class="error">interaction mismatch</p>');
      return undefined;
    }
    const { prompt, params } = details;
    const client = await provider.Client.find(params.client_id);

    if (ctx.method === 'GET' && step === undefined) {
      switch (prompt.name) {
        case 'login':
          ctx.body = loginPage(uid);
          return undefined;
        case 'consent':
          ctx.body = consentPage(uid, client, prompt.details.missingOIDCScope ?? []);
          return undefined;
        default:
          ctx.throw(501, `prompt ${prompt.name} not implemented`);
      }
    }
    if (ctx.method !== 'POST' || step === undefined) {
      ctx.throw(405);
    }

    const form = await readForm(ctx);
    let result;
    if (step === 'login') {
      if (prompt.name !== 'login') {
        ctx.throw(400, `expected prompt ${prompt.name}, got login`);
      }
      const login = (form.get('login') ?? '').trim().toLowerCase();
      if (!LOGIN_PATTERN.test(login)) {
        ctx.body = loginPage(uid, login, 'Enter a login name: lower-case letters, digits, ".", "_" or "-".');
        return undefined;
      }
      result = { login: { accountId: login } };
    } else {
      if (prompt.name !== 'consent') {
        ctx.throw(400, `expected prompt ${prompt.name}, got consent`);
      }
      if (form.get('decision') !== 'allow') {
        result = { error: 'access_denied', error_description: 'End-User denied the request' };
      } else {
        // Grant what was requested and left ticked, and reject the rest: unticking narrows the
        // grant, so the token response's `scope` is narrower than the request's. Rejecting (not
        // just leaving out) matters: oidc-provider would ask again for scopes neither granted
        // nor rejected.
        const requested = prompt.details.missingOIDCScope ?? [];
        const ticked = new Set(form.getAll('scope'));
        const granted = requested.filter((s) => ticked.has(s));
        const rejected = requested.filter((s) => !ticked.has(s));
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
        if (granted.length > 0) {
          grant.addOIDCScope(granted.join(' '));
        }
        if (rejected.length > 0) {
          grant.rejectOIDCScope(rejected.join(' '));
        }
        if (prompt.details.missingOIDCClaims) {
          grant.addOIDCClaims(prompt.details.missingOIDCClaims);
        }
        result = { consent: { grantId: await grant.save() } };
      }
    }

    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: true,
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  };
}

// --- polling: advertised interval and slow_down -------------------------------------------

// polls remembers, per device code, when it was last polled (or issued) and its current
// interval. Only used with SLOW_DOWN=1.
const polls = new Map();

function polling() {
  const baseInterval = config.pollInterval || RFC8628_DEFAULT_INTERVAL;

  return async function pollingMiddleware(ctx, next) {
    if (ctx.method === 'POST' && ctx.path === ROUTES.token && config.slowDown
      && ctx.state.form?.get('grant_type') === DEVICE_CODE_GRANT) {
      const code = ctx.state.form.get('device_code');
      const state = polls.get(code);
      const now = Date.now();
      if (state) {
        const early = now - state.last < state.interval * 1000;
        state.last = now;
        if (early) {
          // RFC 8628 §3.5: the interval "MUST be increased by 5 seconds for this and all
          // subsequent requests". `interval` in the body is not in the RFC (GitHub sends it).
          state.interval += config.slowDownIncrement;
          ctx.status = 400;
          ctx.set('cache-control', 'no-store');
          ctx.body = {
            error: 'slow_down',
            error_description: 'you are polling too quickly and should back off at a reasonable rate',
            interval: state.interval,
          };
          return;
        }
      }
    }

    await next();

    if (ctx.method === 'POST' && ctx.path === ROUTES.device_authorization
      && ctx.status === 200 && ctx.body?.device_code) {
      if (config.pollInterval) {
        ctx.body = { ...ctx.body, interval: config.pollInterval };
      }
      if (config.slowDown) {
        polls.set(ctx.body.device_code, { last: Date.now(), interval: baseInterval });
      }
    }
  };
}

// --- counting and test endpoints ----------------------------------------------------------

// counting is the outermost middleware, so it sees every request the provider sees, including
// the slow_down answers above. Token request bodies are read here to learn the grant type.
async function counting(ctx, next) {
  if (ctx.path.startsWith('/__test/')) {
    return testEndpoints(ctx);
  }

  if (ctx.method === 'POST' && ctx.path === ROUTES.token) {
    ctx.state.form = await readForm(ctx);
    const grantType = ctx.state.form.get('grant_type') ?? '';
    bump(stats.token_requests_by_grant, grantType);
    if (grantType === 'refresh_token') {
      stats.refresh_requests += 1;
    }
  } else if (ctx.method === 'POST' && ctx.path === ROUTES.device_authorization) {
    stats.device_authorizations += 1;
  } else if (ctx.method === 'POST' && ctx.path === ROUTES.revocation) {
    stats.revocations += 1;
  } else if (ctx.method === 'POST' && ctx.path === ROUTES.introspection) {
    stats.introspections += 1;
  } else if (ctx.path === ROUTES.userinfo) {
    stats.userinfo_requests += 1;
  }

  await next();

  const error = ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body)
    ? ctx.body.error : undefined;
  if (error === 'invalid_grant') {
    stats.invalid_grant_responses += 1;
  }
  if (error === 'slow_down') {
    stats.slow_down_responses += 1;
  }
  if (error && ctx.path === ROUTES.token) {
    bump(stats.token_errors_by_code, error);
  }
  return undefined;
}

function testEndpoints(ctx) {
  ctx.set('cache-control', 'no-store');
  if (ctx.path === '/__test/stats' && ctx.method === 'GET') {
    ctx.body = stats;
  } else if (ctx.path === '/__test/reset' && ctx.method === 'POST') {
    stats = zeroStats();
    ctx.status = 204;
  } else if (ctx.path === '/__test/device-code-ttl' && ctx.method === 'POST') {
    const n = Number(ctx.query.seconds);
    if (!Number.isInteger(n) || n < 1) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'seconds: want a whole number of at least 1' };
      return;
    }
    config.deviceCodeTTL = n;
    ctx.status = 204;
  } else {
    ctx.status = 404;
    ctx.body = { error: 'not_found' };
  }
}

// --- provider -------------------------------------------------------------------------------

function newProvider(issuer) {
  const grantTypes = [DEVICE_CODE_GRANT, 'refresh_token'];
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: PUBLIC_CLIENT_ID,
        client_name: 'devicegate (public)',
        token_endpoint_auth_method: 'none',
        grant_types: grantTypes,
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: CONFIDENTIAL_CLIENT_ID,
        client_name: 'devicegate (confidential)',
        client_secret: CONFIDENTIAL_CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: grantTypes,
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: NATIVE_CLIENT_ID,
        client_name: 'devicegate (native, code flow)',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: NATIVE_REDIRECT_URIS,
      },
      {
        client_id: NATIVE_CONFIDENTIAL_CLIENT_ID,
        client_name: 'devicegate (native with a secret, code flow)',
        application_type: 'native',
        client_secret: CONFIDENTIAL_CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: NATIVE_REDIRECT_URIS,
      },
    ],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read', 'api:write'],
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    findAccount,
    adapter: (model) => new MemoryAdapter(model, store, CLOCK_TOLERANCE),
    clockTolerance: CLOCK_TOLERANCE,
    routes: ROUTES,
    cookies: { keys: ['oidctest-cookie-key-not-secret'] },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource,
        userCodeConfirmSource,
        successSource,
      },
      revocation: { enabled: true },
      introspection: { enabled: true },
      userinfo: { enabled: true },
    },
    // Every refresh rotates the refresh token (RFC 9700 §4.14.2). Presenting a rotated one again
    // makes oidc-provider answer invalid_grant ("refresh token already used") and revoke the
    // whole grant: the newest refresh token and all access tokens die with it.
    rotateRefreshToken: true,
    // Refresh tokens only when the person granted offline_access (as Microsoft and Auth0 do).
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && code.scopes.has('offline_access'),
    ttl: {
      AccessToken: config.accessTokenTTL,
      IdToken: config.accessTokenTTL,
      DeviceCode: () => config.deviceCodeTTL, // read per code: /__test/device-code-ttl changes it
      RefreshToken: config.refreshTokenTTL,
      // A grant must outlive its refresh tokens, or refreshing fails with "grant not found".
      Grant: Math.max(config.refreshTokenTTL, 14 * 24 * 60 * 60),
      Interaction: 60 * 60,
      Session: 14 * 24 * 60 * 60,
    },
  });

  provider.use(counting);
  provider.use(polling());
  provider.use(interactions(provider));
  return provider;
}

// The issuer must contain the port, which is known only once the socket is bound, so the
// server listens first and gets its request handler afterwards.
const server = http.createServer();
server.listen(config.port, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = newProvider(issuer);
  server.on('request', provider.callback());
  process.stdout.write(`LISTENING ${issuer}\n`);
});

// With WATCH_STDIN=1, exit when the parent closes our stdin (or dies without cleaning up), so no
// provider outlives the test that started it.
if (envFlag('WATCH_STDIN')) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
