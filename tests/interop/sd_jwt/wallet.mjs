// A learner's wallet built on the OpenWallet Foundation's SD-JWT libraries (@sd-jwt/*):
// it runs the OpenID4VCI pre-authorized code flow against a running credledger, verifies the
// SD-JWT VC it receives, presents a subset with a key binding JWT and verifies that too, and
// reads the issuer's Token Status List. Nothing here comes from credledger's own code.
//
//   node wallet.mjs receive OFFER_URI PIN NONCE AUDIENCE FRAME_JSON  (a presentation frame)
//   node wallet.mjs status SD_JWT
//   node wallet.mjs verify PRESENTATION NONCE AUDIENCE
// Each prints one JSON object.
import { createRequire } from 'node:module';

const require = createRequire(process.env.SD_JWT_MODULES + '/');
const { SDJwtVcInstance } = require('@sd-jwt/sd-jwt-vc');
const { ES256, digest, generateSalt } = require('@sd-jwt/crypto-nodejs');

const b64url = (text) => Buffer.from(text).toString('base64url');
const unb64 = (part) => JSON.parse(Buffer.from(part, 'base64url').toString());

async function getJson(url, init) {
  const response = await fetch(url, init);
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(`${url}: ${JSON.stringify(body)}`), { body });
  return body;
}

// The issuer's keys, from its SD-JWT VC issuer metadata (/.well-known/jwt-vc-issuer + path).
async function issuerKeys(iss) {
  const url = new URL(iss);
  const metadata = await getJson(`${url.origin}/.well-known/jwt-vc-issuer${url.pathname}`);
  if (metadata.issuer !== iss) throw new Error(`metadata names ${metadata.issuer}, not ${iss}`);
  return metadata.jwks.keys;
}

function instance(keys, extra = {}) {
  const verifier = async (data, signature) => {
    const header = unb64(data.split('.')[0]);
    const key = keys.find((k) => k.kid === header.kid);
    if (!key) return false;
    const { kid, use, alg, ...jwk } = key;
    return (await ES256.getVerifier(jwk))(data, signature);
  };
  const kbVerifier = async (data, signature, payload) =>
    (await ES256.getVerifier(payload.cnf.jwk))(data, signature);
  return new SDJwtVcInstance({
    hasher: digest,
    saltGenerator: generateSalt,
    signAlg: 'ES256',
    verifier,
    kbVerifier,
    ...extra,
  });
}

async function receive(offerUri, pin, nonce, audience, frame) {
  const offer = JSON.parse(new URL(offerUri).searchParams.get('credential_offer'));
  const issuer = offer.credential_issuer;
  const metadata = await getJson(`${issuer}/.well-known/openid-credential-issuer`);
  const server = await getJson(`${issuer}/.well-known/oauth-authorization-server`);
  const grant = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
  const token = await getJson(server.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: grant,
      'pre-authorized_code': offer.grants[grant]['pre-authorized_code'],
      tx_code: pin,
    }),
  });
  const { c_nonce } = await getJson(metadata.nonce_endpoint, { method: 'POST' });
  const { privateKey, publicKey } = await ES256.generateKeyPair();
  const header = { alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: publicKey };
  const body = { aud: issuer, nonce: c_nonce, iat: Math.floor(Date.now() / 1000) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(body))}`;
  const proof = `${input}.${await (await ES256.getSigner(privateKey))(input)}`;
  const answer = await getJson(metadata.credential_endpoint, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      credential_configuration_id: offer.credential_configuration_ids[0],
      proofs: { jwt: [proof] },
    }),
  });
  const credential = answer.credentials[0].credential;
  const iss = unb64(credential.split('~')[0].split('.')[1]).iss;
  const keys = await issuerKeys(iss);
  const wallet = instance(keys, {
    kbSigner: await ES256.getSigner(privateKey),
    kbSignAlg: 'ES256',
  });
  const issued = await wallet.verify(credential);
  const presentation = await wallet.present(credential, frame, {
    kb: { payload: { aud: audience, nonce, iat: Math.floor(Date.now() / 1000) } },
  });
  const presented = await instance(keys).verify(presentation, {
    keyBindingNonce: nonce,
    requiredClaimKeys: Object.keys(frame),
  });
  return {
    credential,
    credential_claims: Object.keys(await wallet.getClaims(credential)),
    issued_vct: issued.payload.vct,
    presentation,
    presented_claims: Object.keys(presented.payload),
    key_binding: presented.kb !== undefined,
    credit_points: presented.payload.credit_points,
  };
}

async function status(credential) {
  const iss = unb64(credential.split('~')[0].split('.')[1]).iss;
  try {
    await instance(await issuerKeys(iss)).verify(credential);
    return { status: 'valid' };
  } catch (error) {
    return { status: 'invalid', error: String(error.message) };
  }
}

async function verify(presentation, nonce, audience) {
  const iss = unb64(presentation.split('~')[0].split('.')[1]).iss;
  try {
    const result = await instance(await issuerKeys(iss)).verify(presentation, {
      keyBindingNonce: nonce,
    });
    if (result.kb?.payload?.aud !== audience) throw new Error('the key binding is for another audience');
    return { verified: true, claims: Object.keys(result.payload) };
  } catch (error) {
    return { verified: false, error: String(error.message) };
  }
}

const [command, ...args] = process.argv.slice(2);
const run = { receive: (u, p, n, a, c) => receive(u, p, n, a, JSON.parse(c)), status, verify }[command];
run(...args)
  .then((result) => console.log(JSON.stringify(result)))
  .catch((error) => {
    console.log(JSON.stringify({ error: String(error.message), body: error.body ?? null }));
    process.exit(1);
  });
