// The keys nacre offers, as ssh finds them: the IdentityFile list (or, when
// there is none, the default ~/.ssh/id_* files that exist), each preceded by
// its `-cert.pub` (or a CertificateFile). An encrypted key whose `.pub` is
// beside it is offered by its public half and its passphrase is asked only
// when the server accepts that key, once (three tries, as ssh); without a
// `.pub`, the passphrase is asked before connecting.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import {
  KeyFileError,
  certificateSigner,
  expandHome,
  parseOpenSshPublicKeyLine,
  signerFromPrivateKeyPath,
  type AuthSigner,
  type KeySigner,
} from '../../client-entry.js';
import type { Logger } from '../common/log.js';
import { strerror } from '../common/exit.js';

/** OpenSSH 10's default identities, in its order. */
export const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'];

export interface IdentityDeps {
  readonly log: Logger;
  /** Asks for a passphrase; null gives the key up. */
  askPassphrase(prompt: string): Promise<string | null>;
  readonly home?: string;
}

/** An identity: its signer and where it came from, for -v. */
export interface Identity {
  readonly path: string;
  readonly signer: AuthSigner;
}

function readPublicLine(path: string): { keyType: string; blob: Uint8Array } | null {
  try {
    const parsed = parseOpenSshPublicKeyLine(readFileSync(path, 'utf8').trim());
    return { keyType: parsed.type, blob: parsed.blob };
  } catch {
    return null;
  }
}

/** Asks for the key's passphrase (up to three times) and loads it; null when none worked. */
async function unlock(path: string, deps: IdentityDeps): Promise<KeySigner | null> {
  for (let tries = 0; tries < 3; tries++) {
    const passphrase = await deps.askPassphrase(`Enter passphrase for key '${path}': `);
    if (passphrase === null || passphrase === '') return null;
    try {
      return signerFromPrivateKeyPath(path, passphrase);
    } catch (err) {
      if (!(err instanceof KeyFileError) || err.problem !== 'wrong-passphrase') throw err;
      deps.log.debug(1, `${path}: bad passphrase`);
    }
  }
  return null;
}

/** A signer that unlocks the key the first time it must sign, then keeps it. */
function lazySigner(path: string, pub: { keyType: string; blob: Uint8Array }, deps: IdentityDeps): AuthSigner {
  let loaded: Promise<KeySigner | null> | null = null;
  return {
    keyType: pub.keyType,
    publicBlob: pub.blob,
    async sign(algorithm, data) {
      loaded ??= unlock(path, deps);
      const signer = await loaded;
      if (!signer) throw new KeyFileError('no passphrase given', 'passphrase-required', { path });
      return signer.sign(algorithm, data);
    },
  };
}

/** One key file's signers (its certificate first), or none when it cannot be used (said on the log). */
async function loadOne(path: string, explicit: boolean, certificateFiles: readonly string[], deps: IdentityDeps): Promise<Identity[]> {
  if (!existsSync(path)) {
    if (explicit) deps.log.info(`Warning: Identity file ${path} not accessible: No such file or directory.`);
    return [];
  }
  let signer: AuthSigner;
  try {
    signer = signerFromPrivateKeyPath(path);
  } catch (err) {
    if (!(err instanceof KeyFileError) || err.problem !== 'passphrase-required') {
      deps.log.info(`Load key "${path}": ${err instanceof KeyFileError ? err.detail : strerror(err)}`);
      return [];
    }
    const pub = readPublicLine(`${path}.pub`);
    if (pub) signer = lazySigner(path, pub, deps);
    else {
      const unlocked = await unlock(path, deps);
      if (!unlocked) return [];
      signer = unlocked;
    }
  }
  deps.log.debug(1, `identity file ${path} type ${signer.keyType}`);
  const out: Identity[] = [];
  for (const certPath of [`${path}-cert.pub`, ...certificateFiles]) {
    if (!existsSync(certPath)) continue;
    try {
      out.push({ path: certPath, signer: certificateSigner(signer, readFileSync(certPath, 'utf8').trim()) });
    } catch {
      // a certificate for another key, or not one: ssh skips it
    }
  }
  out.push({ path, signer });
  return out;
}

/** The identities for these IdentityFile and CertificateFile values (`~` expanded); defaults when none are given. */
export async function loadIdentities(identityFiles: readonly string[], certificateFiles: readonly string[], deps: IdentityDeps): Promise<Identity[]> {
  const home = deps.home ?? homedir();
  const explicit = identityFiles.length > 0;
  const paths = explicit ? identityFiles.map((f) => expandHome(f)) : DEFAULT_IDENTITIES.map((n) => `${home}/.ssh/${n}`);
  const certs = certificateFiles.map((f) => expandHome(f));
  const out: Identity[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    if (seen.has(path)) continue;
    seen.add(path);
    out.push(...(await loadOne(path, explicit, certs, deps)));
  }
  return out;
}
