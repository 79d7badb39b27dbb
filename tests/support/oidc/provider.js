// A real OpenID Connect provider (panva/oidc-provider) on loopback, for gennai's sign-in tests.
//
//   PORT=… REDIRECT_URI=http://127.0.0.1:…/auth/oidc/callback CLIENT_SECRET=… node provider.js
//
// Issuer http://127.0.0.1:PORT, one confidential client "gennai" (client_secret_basic, PKCE
// S256 required), its development login and consent pages (any password; the login is the
// subject of one of ACCOUNTS below). Prints "READY <issuer>" once it listens.
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const ACCOUNTS = {
  'alice-0001': {
    sub: 'alice-0001',
    preferred_username: 'alice',
    name: '山田 アリス',
    email: 'alice@example.go.jp',
    email_verified: true,
    groups: ['g-soumu', 'g-soumu-admins', 'g-auditors', 'g-nowhere'],
  },
  'bob-0002': {
    sub: 'bob-0002',
    preferred_username: 'bob',
    name: 'Bob 鈴木',
    email: 'bob@example.go.jp',
    email_verified: true,
    groups: ['g-soumu'],
  },
};

const configuration = {
  clients: [
    {
      client_id: 'gennai',
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // Every client must use PKCE (S256 only), not just public ones.
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  scopes: ['openid', 'profile', 'email', 'groups'],
  // The development login form's "login" is the account id, which is the subject.
  async findAccount(_ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { ...account };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
  },
  cookies: { keys: ['gennai-test-provider-cookie-key'] },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

http.createServer(provider.callback()).listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
