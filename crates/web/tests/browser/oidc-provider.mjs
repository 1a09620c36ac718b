// A real OpenID Connect provider for cpts's sign-in tests (crates/web/tests/web/oidc.rs):
// oidc-provider (certified by the OpenID Foundation) configured like Pro Santé Connect: scopes
// `openid scope_all`, `acr_values=eidas1`, the national identifier (« 8 » + RPPS) in
// `SubjectNameID`, the professional's exercices and activités with SIRET/FINESS in
// `SubjectRefPro`, a signed (JWT) userinfo, PKCE required, back-channel logout.
//
// Started by the test: `node oidc-provider.mjs` with, in the environment, REDIRECT_URI,
// POST_LOGOUT_REDIRECT_URI, BACKCHANNEL_LOGOUT_URI, CLIENT_ID, CLIENT_SECRET and optionally
// CLOCK_OFFSET_SECONDS (the provider's clock shifted: its tokens are born expired) and
// ID_TOKEN_TTL. Listens on a free port of 127.0.0.1 and prints one line: {"issuer": "..."}.
//
// Sign-in stands in for the CPS card: the interaction page asks for an RPPS (11 digits) and
// accepts it; the account's claims are built from it. With PROFILE=proconnect it is shaped like
// ProConnect instead: scopes openid email given_name usual_name uid siret, the agent's e-mail
// typed at sign-in, a JSON userinfo, client_secret_post.

import http from 'node:http';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';

// Its start-up warnings (in-memory adapter, Node version) are expected in a test: not shown.
const warn = console.warn;
console.warn = (...args) => {
  if (!String(args[0]).includes('oidc-provider WARNING')) warn(...args);
};
// Imported once warnings are filtered (a static import would run first).
const { default: Provider } = await import('oidc-provider');

const env = (k, d) => process.env[k] ?? d;
const proconnect = env('PROFILE', 'psc') === 'proconnect';
const offset = Number(env('CLOCK_OFFSET_SECONDS', '0')) * 1000;
if (offset) {
  const real = Date.now;
  Date.now = () => real() + offset;
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

// Claim shapes of Pro Santé Connect's userinfo (scope_all), with illustrative values.
// ProConnect's claims (scopes openid email given_name usual_name uid siret); accounts by subject.
const agents = new Map();
function agentOf(email) {
  const sub = createHash('sha256').update(email).digest('hex').slice(0, 32);
  agents.set(sub, email);
  return sub;
}
function agentClaims(sub) {
  return { sub, email: agents.get(sub), given_name: 'Léa', usual_name: 'MARTIN', uid: sub, siret: '13002509700037' };
}

function claimsOf(idNat) {
  return {
    sub: idNat,
    SubjectNameID: idNat,
    preferred_username: idNat,
    given_name: 'Claire',
    family_name: 'MARTIN',
    SubjectOrganization: 'CABINET DU DOCTEUR MARTIN',
    SubjectRole: ['10^1.2.250.1.213.1.1.5.5'],
    SubjectRefPro: {
      codeCivilite: 'MME',
      exercices: [
        {
          codeProfession: '10',
          codeCategorieProfessionnelle: 'C',
          codeCiviliteDexercice: 'DR',
          nomDexercice: 'MARTIN',
          prenomDexercice: 'Claire',
          codeTypeSavoirFaire: 'S',
          codeSavoirFaire: 'SM54',
          activities: [
            {
              codeModeExercice: 'L',
              codeSecteurDactivite: 'SA07',
              codeSectionPharmacien: '',
              codeRole: '',
              numeroSiretSite: '73282932000074',
              numeroSirenSite: '732829320',
              numeroFinessSite: '',
              numeroFinessetablissementJuridique: '',
              identifiantTechniqueDeLaStructure: 'R10100000000001',
              raisonSocialeSite: 'CABINET DU DOCTEUR MARTIN',
              enseigneCommercialeSite: '',
              codePostal: '75018',
              codeCommune: '75118',
              codeDepartement: '75',
              autoriteDEnregistrement: 'CNOM/CNOM/CNOM',
            },
          ],
        },
      ],
    },
  };
}

const server = http.createServer();
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const issuer = `http://127.0.0.1:${server.address().port}`;

const client = {
  client_id: env('CLIENT_ID', 'cpts'),
  client_secret: env('CLIENT_SECRET', 'secret-de-test'),
  redirect_uris: [env('REDIRECT_URI')],
  post_logout_redirect_uris: [env('POST_LOGOUT_REDIRECT_URI')],
  backchannel_logout_uri: env('BACKCHANNEL_LOGOUT_URI'),
  backchannel_logout_session_required: true,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: proconnect ? 'client_secret_post' : 'client_secret_basic',
  id_token_signed_response_alg: 'RS256',
  ...(proconnect ? {} : { userinfo_signed_response_alg: 'RS256' }),
};
const shape = proconnect
  ? {
      scopes: ['openid', 'email', 'given_name', 'usual_name', 'uid', 'siret'],
      claims: { openid: ['sub'], email: ['email'], given_name: ['given_name'], usual_name: ['usual_name'], uid: ['uid'], siret: ['siret'] },
    }
  : {
      scopes: ['openid', 'scope_all'],
      claims: {
        openid: ['sub'],
        scope_all: ['SubjectNameID', 'preferred_username', 'given_name', 'family_name', 'SubjectOrganization', 'SubjectRole', 'SubjectRefPro'],
      },
    };

const provider = new Provider(issuer, {
  clients: [client],
  jwks: { keys: [jwk] },
  ...shape,
  acrValues: ['eidas1'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  ttl: { IdToken: Number(env('ID_TOKEN_TTL', '300')) },
  cookies: { keys: ['cle-de-test-des-cookies'] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => (proconnect ? agentClaims(id) : claimsOf(id)) }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The relying party under test listens on 127.0.0.1: lift the SSRF guard that refuses
  // back-channel calls to loopback addresses (a test-only setting).
  fetch: (url, options) => {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
});
const callback = provider.callback();

function page(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="fr"><body>${html}</body></html>`);
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

server.on('request', async (req, res) => {
  const m = new URL(req.url, issuer).pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!m) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      const what = proconnect ? 'Adresse électronique' : 'RPPS';
      return page(res, 200, `<h1>${proconnect ? 'ProConnect' : 'Carte CPS'} (simulé)</h1>
<form method="post" action="/interaction/${details.uid}/login"><label>${what} <input name="login"></label><button>Valider</button></form>`);
    }
    const login = (await body(req)).get('login') ?? '';
    if (!proconnect && !/^\d{11}$/.test(login)) return page(res, 400, 'RPPS attendu (11 chiffres)');
    if (proconnect && !login.includes('@')) return page(res, 400, 'adresse électronique attendue');
    const accountId = proconnect ? agentOf(login.toLowerCase()) : `8${login}`;
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId, acr: 'eidas1', amr: ['pwd'] }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  } catch (e) {
    page(res, 500, String(e));
  }
});

provider.on('backchannel.error', (ctx, err) => console.error('backchannel.error', err));
console.log(JSON.stringify({ issuer }));
