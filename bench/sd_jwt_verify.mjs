// The OpenWallet Foundation's SD-JWT VC library verifying presentations, for bench/wallets.py:
// issuer signature (keys from the issuer's JWKS, fetched once), disclosures, key binding with
// its nonce, and the status list entry (the list fetched once and cached, as a verifier would).
//   node bench/sd_jwt_verify.mjs INPUT.json   -> {"verified": n, "seconds": s}
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(process.env.SD_JWT_MODULES + '/');
const { SDJwtVcInstance } = require('@sd-jwt/sd-jwt-vc');
const { ES256, digest } = require('@sd-jwt/crypto-nodejs');

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const unb64 = (part) => JSON.parse(Buffer.from(part, 'base64url').toString());
const verifiers = new Map();
for (const key of input.jwks.keys) {
  const { kid, use, alg, ...jwk } = key;
  verifiers.set(kid, await ES256.getVerifier(jwk));
}
const instance = new SDJwtVcInstance({
  hasher: digest,
  verifier: async (data, signature) => {
    const found = verifiers.get(unb64(data.split('.')[0]).kid);
    return found ? found(data, signature) : false;
  },
  kbVerifier: async (data, signature, payload) =>
    (await ES256.getVerifier(payload.cnf.jwk))(data, signature),
  statusListFetcher: async () => input.status_list,
});

const started = process.hrtime.bigint();
let verified = 0;
for (const { presentation, nonce } of input.presentations) {
  const result = await instance.verify(presentation, { keyBindingNonce: nonce });
  if (result.kb?.payload?.aud !== input.audience) throw new Error('wrong audience');
  verified += 1;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ verified, seconds }));
