// A software stand-in for a FIDO token, for tests of security-key (sk-)
// verification: node:crypto keys sign what a token would (PROTOCOL.u2f).
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { encodePublicKey } from '../../src/keys/blob.js';
import { securityKeySignedData, SK_USER_PRESENT, type SecurityKeyType } from '../../src/keys/security-key.js';
import type { AuthSigner } from '../../src/keys/signer.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';

export interface SoftToken {
  readonly publicBlob: Uint8Array;
  readonly privateKey: KeyObject;
  /** The signature blob a token returns for `data`, with the given flags and counter. */
  sign(data: Uint8Array, flags?: number, counter?: number, signApplication?: string): Uint8Array;
}

/** A software stand-in for a FIDO token enrolled for `application`. */
export function makeToken(type: SecurityKeyType, application = 'ssh:'): SoftToken {
  const ed = type === 'sk-ssh-ed25519@openssh.com';
  const { privateKey, publicKey } = ed ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const plain = new Reader(encodePublicKey(publicKey), 0, 'key');
  plain.text();
  const w = new Writer().string(type);
  if (ed) w.string(plain.string());
  else w.string(plain.string()).string(plain.string());
  const publicBlob = w.string(application).finish().slice();
  return {
    publicBlob,
    privateKey,
    /** The signature blob a token returns for `data`, with the given flags and counter. */
    sign(data: Uint8Array, flags = SK_USER_PRESENT, counter = 7, signApplication = application): Uint8Array {
      return skSignature(type, privateKey, securityKeySignedData(signApplication, flags, counter, data), flags, counter);
    },
  };
}

function skSignature(type: SecurityKeyType, key: KeyObject, signed: Uint8Array, flags: number, counter: number): Uint8Array {
  let sig: Uint8Array;
  if (type === 'sk-ssh-ed25519@openssh.com') {
    sig = nodeSign(null, signed, key);
  } else {
    const rs = nodeSign('sha256', signed, { key, dsaEncoding: 'ieee-p1363' });
    sig = new Writer().mpintFromBytes(rs.subarray(0, 32)).mpintFromBytes(rs.subarray(32)).finish();
  }
  return new Writer().string(type).string(sig).byte(flags).uint32(counter).finish().slice();
}

/** The token as a client-side user key: every signature touched, counter counting up. */
export function tokenSigner(type: SecurityKeyType, token: SoftToken, flags = SK_USER_PRESENT): AuthSigner {
  let counter = 0;
  return Object.freeze({ keyType: type, publicBlob: token.publicBlob, sign: (_algorithm: string, data: Uint8Array) => token.sign(data, flags, ++counter) });
}
