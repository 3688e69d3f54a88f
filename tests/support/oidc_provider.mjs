// A real OpenID Connect provider for the tests: npm `oidc-provider` (9.x) in a dev setup.
//
//   node tests/support/oidc_provider.mjs CONFIG.json
//
// CONFIG: {"port": 0-65535, "issuer": "http://127.0.0.1:PORT", "users_file": "users.json",
//          "clients": [{"client_id", "client_secret", "redirect_uris": [...]}]}
// users_file: {"alice": {"groups": ["startup-alpha"], "name": "Alice"}, ...}. It is read at
// every claims lookup, so a test changes someone's groups by rewriting the file: the next
// login sees the change, like a group change in a real IdP.
//
// The dev interactions (login page that accepts any password, consent page) stay on: the
// tests drive them through the real authorization-code flow.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function users() {
  try {
    return JSON.parse(readFileSync(config.users_file, 'utf8'));
  } catch {
    return {};
  }
}

const provider = new Provider(config.issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: c.token_endpoint_auth_method || 'client_secret_post',
  })),
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
  },
  // Not required by the provider; oauthenticator sends S256 PKCE anyway.
  pkce: { required: () => false },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        const user = users()[id] || {};
        return {
          sub: id,
          preferred_username: id,
          name: user.name || id,
          email: `${id}@example.org`,
          groups: user.groups || [],
        };
      },
    };
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening at ${config.issuer}`);
});
