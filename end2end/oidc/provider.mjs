// A real OpenID Connect provider for Tessera's single sign-on tests (Rust and Playwright),
// built on npm's `oidc-provider`. Plain http on 127.0.0.1, in-memory storage,
// keys generated at start, no outbound network.
//
// Usage:
//   node end2end/oidc/provider.mjs config.json
//   OIDC_CONFIG='{"port":0,...}' node end2end/oidc/provider.mjs
//
// Config:
//   {
//     "port": 0,                      // 0 = pick any free port
//     "issuerHost": "127.0.0.1",      // host used in the issuer URL (we always bind 127.0.0.1)
//     "clients":  [{ "client_id": "...", "client_secret": "...", "redirect_uris": ["http://127.0.0.1:8080/cb"] }],
//     "accounts": [{ "sub": "...", "email": "...", "email_verified": true, "name": "...", "password": "..." }]
//   }
//
// Once listening, exactly one line is written to stdout:
//   {"issuer":"http://127.0.0.1:PORT"}
// Everything else (oidc-provider warnings / notices, our logs) goes to stderr.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

import Provider from 'oidc-provider';

// oidc-provider prints "NOTICE" lines with console.info (= stdout), e.g. every time a
// default TTL or renderError helper is used. Keep stdout reserved for the issuer line.
console.info = console.error;
console.log = console.error;

// ---------------------------------------------------------------------------
// 1. Configuration
// ---------------------------------------------------------------------------

function loadConfig() {
  if (process.argv[2]) return JSON.parse(readFileSync(process.argv[2], 'utf8'));
  if (process.env.OIDC_CONFIG) return JSON.parse(process.env.OIDC_CONFIG);
  throw new Error('usage: node provider.mjs <config.json>   (or set OIDC_CONFIG to a JSON string)');
}

const config = loadConfig();
const port = Number(config.port ?? 0);
const issuerHost = config.issuerHost ?? '127.0.0.1';
const clients = config.clients ?? [];
const accounts = config.accounts ?? [];

// Accounts are looked up by `sub`; the login form also accepts the e-mail address.
const accountsBySub = new Map(accounts.map((a) => [String(a.sub), a]));
function findAccountByLogin(login) {
  return accountsBySub.get(login) ?? accounts.find((a) => a.email === login);
}

// Constant-time string comparison for passwords.
function sameString(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

// ---------------------------------------------------------------------------
// 2. Keys, generated fresh on every start
// ---------------------------------------------------------------------------

// RS256 signing key for ID tokens, as a private JWK (oidc-provider publishes only the public part at /jwks).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

// Keys used to sign the provider's cookies (koa keygrip).
const cookieKeys = [randomBytes(32).toString('base64url')];

// ---------------------------------------------------------------------------
// 3. Start listening first, so that port 0 resolves to a real port before the
//    issuer URL (which must contain the port) is fixed.
// ---------------------------------------------------------------------------

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://${issuerHost}:${server.address().port}`;

// ---------------------------------------------------------------------------
// 4. The provider
// ---------------------------------------------------------------------------

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // The registered method is "basic", but in 9.x a client registered with either
    // client_secret_basic or client_secret_post may authenticate with both.
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  })),

  // Authorization code flow only.
  responseTypes: ['code'],

  // Client authentication methods advertised/allowed at the token endpoint.
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],

  // PKCE for every client, including confidential ones (the default only forces it for
  // public clients). 9.x only implements the S256 method; "plain" is rejected.
  pkce: { required: () => true },

  // Scopes and the claims each one releases.
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put scope-requested claims into the ID token itself. With the default (true) a
  // code flow that also issues an access token would only expose them via /me (userinfo).
  conformIdTokenClaims: false,

  // Built-in development login/consent pages (see the password check in step 5).
  features: {
    devInteractions: { enabled: true },
  },

  jwks: { keys: [signingJwk] },
  cookies: { keys: cookieKeys },

  // Resolve configured accounts. `claims()` returns everything; oidc-provider filters
  // the result according to the granted scopes/claims.
  async findAccount(ctx, sub) {
    const account = accountsBySub.get(String(sub));
    if (!account) return undefined;
    return {
      accountId: String(account.sub),
      async claims() {
        return {
          sub: String(account.sub),
          email: account.email,
          email_verified: Boolean(account.email_verified),
          name: account.name,
        };
      },
    };
  },

  // Skip the consent page: every configured client is treated as first-party, and the
  // first time a user signs in to it a grant for openid/email/profile is created.
  async loadExistingGrant(ctx) {
    const { client, session, result } = ctx.oidc;
    const grantId = result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);

    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name']);
    await grant.save();
    return grant;
  },

  // Explicit lifetimes (seconds). Also silences the "define the expiration" notices.
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
});

// ---------------------------------------------------------------------------
// 5. Password check.
//
// devInteractions' own login handler (POST /interaction/:uid with prompt=login)
// takes the "login" field as the account id and ignores "password" entirely.
// This middleware runs before the provider's routes and takes over that POST
// while the pending prompt is "login": it checks the password against the config,
// then finishes the interaction exactly as devInteractions would. The GET pages and
// the consent POST are still served by devInteractions.
// ---------------------------------------------------------------------------

async function readForm(req, limit = 16 * 1024) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function loginFailedPage(action, login) {
  // Same field names / button as the devInteractions login form so a test can retry.
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign-in</title></head>
<body>
  <h1>Sign-in</h1>
  <p class="error" role="alert">Invalid login or password</p>
  <form autocomplete="off" action="${escapeHtml(action)}" method="post">
    <input type="hidden" name="prompt" value="login"/>
    <input required type="text" name="login" placeholder="Enter any login" value="${escapeHtml(login)}">
    <input required type="password" name="password" placeholder="and password" autofocus="on">
    <button type="submit" class="login login-submit">Sign-in</button>
  </form>
</body></html>`;
}

provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();

  // Throws SessionNotFound (rendered by the provider) if the interaction cookie is missing.
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    return next();
  }
  if (details.prompt.name !== 'login') return next(); // e.g. consent -> devInteractions

  const form = await readForm(ctx.req);
  const login = form.get('login') ?? '';
  const password = form.get('password') ?? '';
  const account = findAccountByLogin(login);

  ctx.set('cache-control', 'no-store');
  if (!account || !sameString(password, account.password ?? '')) {
    console.error(`[provider] login failed for ${JSON.stringify(login)}`);
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = loginFailedPage(ctx.path, login);
    return undefined;
  }

  const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
    login: { accountId: String(account.sub) },
  }, { mergeWithLastSubmission: false });
  ctx.redirect(returnTo);
  ctx.status = 303;
  return undefined;
});

// The devInteractions page layout @imports a Google Fonts stylesheet. Strip it so a
// browser under test never reaches out to the internet (and never waits on it).
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);?/g, '');
  }
});

// ---------------------------------------------------------------------------
// 6. Serve, announce, and shut down cleanly.
// ---------------------------------------------------------------------------

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
