// RSA test keys whose KeyObjects own their key data. A KeyObject straight
// from generateKeyPairSync shares its data with the generation job, and
// Node 20 can deadlock (0% CPU, forever) when the garbage collector
// finalizes that job while an export of the key holds the data's lock;
// see ownKey in src/keys/signer.ts. Sizes the library refuses (512, 768)
// are allowed here, for tests of those refusals.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export function rsaKeyPair(modulusLength: number): { privateKey: KeyObject; publicKey: KeyObject } {
  const der = generateKeyPairSync('rsa', { modulusLength, privateKeyEncoding: { format: 'der', type: 'pkcs8' }, publicKeyEncoding: { format: 'der', type: 'spki' } });
  const privateKey = createPrivateKey({ key: der.privateKey, format: 'der', type: 'pkcs8' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
