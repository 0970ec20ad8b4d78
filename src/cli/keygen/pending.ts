// The features that wait for modules other engineers are writing. Each is
// one function here, so filling one in is a change to one place; until then
// each says so and the tool exits 1.
import type { KeyObject } from 'node:crypto';
import { CliExit } from '../common/exit.js';

export function notSupportedYet(what: string): never {
  throw new CliExit(1, `nacre-keygen: ${what} is not supported yet`);
}

/** `-E md5`: the `MD5:aa:bb:...` fingerprint (awaits src/keys/fingerprint.ts). */
export function md5Fingerprint(_blob: Uint8Array): string {
  return notSupportedYet('the MD5 fingerprint (-E md5)');
}

/** `-l -v`: the randomart picture (awaits src/keys/fingerprint.ts). */
export function randomArt(_blob: Uint8Array, _hash: string): string {
  return notSupportedYet('the randomart picture (-v)');
}

/** The openssh-key-v1 private key file for a generated key (awaits the OpenSSH key writer). */
export function writeOpenSshPrivateKey(_key: { readonly keyObject: KeyObject; readonly comment: string; readonly passphrase: string }): string {
  return notSupportedYet('writing OpenSSH private keys');
}

/** `-Y sign -U` and keys held only in ssh-agent (awaits an agent client). */
export function agentSigner(): never {
  return notSupportedYet('signing with a key in ssh-agent (-U)');
}

/** Signing as a certificate (`-f key-cert.pub`; awaits src/keys/certificate.ts). */
export function certificateSigner(path: string): never {
  return notSupportedYet(`signing with the certificate ${path}`);
}
