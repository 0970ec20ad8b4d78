// UpdateHostKeys, the client's half (OpenSSH's hostkeys-00 / hostkeys-prove-00,
// PROTOCOL §2.5): after login, OpenSSH's sshd announces every host key it
// has. Keys the user's known_hosts does not list yet are new: the server
// must prove it holds their private halves, by signing
//   string "hostkeys-prove-00@openssh.com" || string session_id || string key
// with each. Only then are they added to the first known_hosts file, and the
// host's keys the server no longer has are removed, atomically, file by file.
// When it may happen at all (a host trusted through the user's own
// known_hosts line, not a certificate, not accept-new) is host-key-policy.ts's
// call; which lines change is src/trust/host-key-update.ts's.
import { ProtocolError } from '../errors.js';
import { SIGNATURE_ALGORITHMS, verifySignature } from '../keys/signature.js';
import { blobKeyType, fingerprintSha256 } from '../keys/blob.js';
import { isCertificateType } from '../keys/certificate.js';
import { findHostKeyAlgorithm } from '../algorithms/hostkey.js';
import { knownHostName } from '../trust/known-hosts.js';
import { planHostKeyUpdate, replaceHostKeys } from '../trust/host-key-update.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { MAX_TRUST_FILE_BYTES, isMissingFile, readBounded, updateFileAtomic, type AtomicWriteSteps } from '../io/node/files.js';

export const HOSTKEYS_PROVE_REQUEST = 'hostkeys-prove-00@openssh.com';

/** RSA proofs accepted when the key exchange did not use an RSA host key (SHA-1 is not). */
const RSA_PROOF_ALGORITHMS: readonly string[] = ['rsa-sha2-512', 'rsa-sha2-256'];

/** A host key as UpdateHostKeys reports it. */
export interface HostKeyDescription {
  readonly key: Uint8Array;
  readonly keyType: string;
  readonly fingerprint: string;
}

/** What UpdateHostKeys is about to write: the `updateHostKeys` function (UpdateHostKeys ask) sees it first. */
export interface HostKeysChange {
  /** The name known_hosts lists the host under (`host`, `[host]:port`, or the HostKeyAlias). */
  readonly name: string;
  /** New keys the server proved it holds, to be added to the first known_hosts file. */
  readonly added: readonly HostKeyDescription[];
  /** Keys known_hosts lists for the host that the server no longer announces, to be removed. */
  readonly removed: readonly HostKeyDescription[];
}

/** How an UpdateHostKeys round ended (Client's `hostKeysUpdate` and its 'hostkeys-updated' event). */
export interface HostKeysUpdateResult extends HostKeysChange {
  /** The files rewritten (none when nothing was written). */
  readonly files: readonly string[];
  /** Why nothing was written, when nothing was (not allowed, nothing new, a proof failed, declined ...). */
  readonly skipped?: string;
}

export interface HostKeyUpdateContext {
  /** The announced key blobs, in the server's order. */
  readonly announced: readonly Uint8Array[];
  /** The user's known_hosts files; the first gets the new keys. */
  readonly userFiles: readonly string[];
  /** The host and port known_hosts names the host by. */
  readonly host: string;
  readonly port: number;
  readonly hash: boolean;
  /** The host key algorithms the client accepts (HostKeyAlgorithms): other key types are ignored. */
  readonly acceptedAlgorithms: readonly string[];
  /** The host key algorithm the key exchange used. */
  readonly kexAlgorithm: string;
  readonly sessionId: Uint8Array;
  /** Sends hostkeys-prove-00 with these key blobs; resolves with the reply. */
  prove(keys: readonly Uint8Array[]): Promise<{ success: boolean; data: Uint8Array }>;
  /** UpdateHostKeys ask: true to write. */
  readonly confirm?: (change: HostKeysChange) => boolean | Promise<boolean>;
  readonly debug?: (level: 1 | 2 | 3, message: string) => void;
  /** For tests. */
  readonly fileSteps?: Partial<AtomicWriteSteps>;
}

function describeKey(key: Uint8Array): HostKeyDescription {
  return { key, keyType: blobKeyType(key), fingerprint: fingerprintSha256(key) };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(b);
}

/** The plain key type a host key algorithm signs with (`ssh-rsa` for `rsa-sha2-512`). */
function algorithmKeyType(algorithm: string): string | undefined {
  return findHostKeyAlgorithm(algorithm)?.keyType ?? SIGNATURE_ALGORITHMS[algorithm]?.keyType;
}

/** Whether the client accepts some signature algorithm of this key type (ssh's hostkey_accepted_by_hostkeyalgs). */
function acceptedKeyType(keyType: string, accepted: readonly string[]): boolean {
  return accepted.some((a) => SIGNATURE_ALGORITHMS[a]?.keyType === keyType);
}

/** The data a hostkeys-prove-00 signature covers. */
export function hostKeyProofData(sessionId: Uint8Array, key: Uint8Array): Uint8Array {
  return new Writer(64 + sessionId.length + key.length).string(HOSTKEYS_PROVE_REQUEST).string(sessionId).string(key).finish().slice();
}

/**
 * Checks the reply to hostkeys-prove-00: one signature per key asked about,
 * in order, nothing after. Returns the keys proven; an RSA proof with an
 * algorithm not accepted (SHA-1 when the exchange was not RSA) drops its key
 * as ssh does. A bad signature or a malformed reply is a ProtocolError:
 * nothing is then written.
 */
export function checkHostKeyProofs(keys: readonly Uint8Array[], reply: Uint8Array, sessionId: Uint8Array, kexAlgorithm: string): Uint8Array[] {
  const r = new Reader(reply, 0, 'hostkeys-prove-00 reply');
  const rsaKexAlgorithm = algorithmKeyType(kexAlgorithm) === 'ssh-rsa' ? kexAlgorithm : null;
  const proven: Uint8Array[] = [];
  for (const key of keys) {
    const keyType = blobKeyType(key);
    const signature = r.string('host key proof', 64 * 1024);
    const sigAlgorithm = new Reader(signature, 0, 'host key proof').text('signature algorithm', 256);
    let algorithm = keyType;
    if (keyType === 'ssh-rsa') {
      if (rsaKexAlgorithm === null && !RSA_PROOF_ALGORITHMS.includes(sigAlgorithm)) continue;
      algorithm = rsaKexAlgorithm ?? sigAlgorithm;
    }
    if (!verifySignature(key, algorithm, hostKeyProofData(sessionId, key), signature)) {
      throw new ProtocolError(`the server's proof for its ${keyType} host key ${fingerprintSha256(key)} does not verify (${sigAlgorithm})`);
    }
    proven.push(key);
  }
  r.end();
  return proven;
}

/**
 * One UpdateHostKeys round for an announcement, as ssh's client_input_hostkeys:
 * filter the announced keys, compare them with the user's files, ask for
 * proofs of the new ones, then rewrite the files. Never throws: what went
 * wrong is the result's `skipped`.
 */
export async function updateHostKeys(ctx: HostKeyUpdateContext): Promise<HostKeysUpdateResult> {
  const name = knownHostName(ctx.host, ctx.port);
  const debug = (level: 1 | 2 | 3, m: string) => ctx.debug?.(level, m);
  const nothing = (skipped: string, added: HostKeyDescription[] = [], removed: HostKeyDescription[] = []): HostKeysUpdateResult => {
    debug(1, `UpdateHostKeys: ${skipped}`);
    return { name, added, removed, files: [], skipped };
  };

  const keys: Uint8Array[] = [];
  for (const key of ctx.announced) {
    let keyType: string;
    try {
      keyType = blobKeyType(key);
    } catch {
      continue;
    }
    if (isCertificateType(keyType)) {
      debug(3, `${keyType} key is a certificate; skipping`);
      continue;
    }
    if (!acceptedKeyType(keyType, ctx.acceptedAlgorithms)) {
      debug(3, `${keyType} key not permitted by HostKeyAlgorithms`);
      continue;
    }
    if (keys.some((k) => same(k, key))) return nothing(`the server announced its ${keyType} host key twice`);
    keys.push(key);
  }
  if (keys.length === 0) return nothing('the server sent no usable host keys');

  let texts: { path: string; text: string; exists: boolean }[];
  try {
    texts = ctx.userFiles.map((path) => {
      try {
        return { path, text: readBounded(path, MAX_TRUST_FILE_BYTES, 'known_hosts file').toString('utf8'), exists: true };
      } catch (err) {
        if (isMissingFile(err)) return { path, text: '', exists: false };
        throw err;
      }
    });
  } catch (err) {
    return nothing(`cannot read known_hosts: ${(err as Error).message}`);
  }
  // ssh would still strip the host from the other files: that would leave it unknown.
  if (texts[0]?.exists !== true) return nothing(`the first known_hosts file ${ctx.userFiles[0] ?? '(none)'} does not exist`);
  const plan = planHostKeyUpdate(texts, name, keys);
  const removed = plan.deprecated.map((d) => describeKey(d.key));
  if (plan.skip) return nothing(plan.skip, [], removed);

  let proven: Uint8Array[] = [];
  if (plan.newKeys.length > 0) {
    debug(3, `asking the server to prove ownership of ${plan.newKeys.length} keys`);
    try {
      const reply = await ctx.prove(plan.newKeys);
      if (!reply.success) return nothing('the server failed to confirm ownership of its private host keys');
      proven = checkHostKeyProofs(plan.newKeys, reply.data, ctx.sessionId, ctx.kexAlgorithm);
    } catch (err) {
      return nothing(`no update: ${(err as Error).message}`);
    }
  }
  const added = proven.map(describeKey);
  for (const k of added) debug(1, `Learned new hostkey: ${k.keyType} ${k.fingerprint}`);
  for (const k of removed) debug(1, `Deprecating obsolete hostkey: ${k.keyType} ${k.fingerprint}`);
  if (added.length === 0 && removed.length === 0) return nothing('no new or deprecated keys', added, removed);
  if (ctx.confirm) {
    let yes = false;
    try {
      yes = (await ctx.confirm({ name, added, removed })) === true;
    } catch {
      yes = false;
    }
    if (!yes) return nothing('the update was declined', added, removed);
  }

  // Keys stay in the server's order: the ones already known, and the new proven ones.
  const keep = keys.filter((k) => plan.knownKeys.some((x) => same(x, k)) || proven.some((x) => same(x, k)));
  const files: string[] = [];
  for (const [i, f] of texts.entries()) {
    // ssh edits only files that exist; new keys go to the first.
    if (!f.exists) continue;
    try {
      const changed = updateFileAtomic(
        f.path,
        (current) => {
          const next = replaceHostKeys(current, ctx.host, ctx.port, name, i === 0 ? keep : [], { hash: ctx.hash });
          return next.text === current ? null : next.text;
        },
        { what: 'known_hosts file', maxBytes: MAX_TRUST_FILE_BYTES, ...(ctx.fileSteps ? { steps: ctx.fileSteps } : {}) },
      );
      if (changed) files.push(f.path);
    } catch (err) {
      debug(1, `UpdateHostKeys: cannot update ${f.path}: ${(err as Error).message}`);
    }
  }
  return { name, added, removed, files };
}

/** What `watchHostKeyAnnouncements` needs of the Client (narrow, to keep this module below it). */
export interface HostKeyAnnouncer {
  once(event: 'hostkeys', listener: (keys: readonly { readonly key: Uint8Array }[]) => void): unknown;
  emit(event: 'hostkeys-updated', result: HostKeysUpdateResult): boolean;
  hostKeysUpdate: HostKeysUpdateResult | null;
  readonly algorithms: { readonly hostKey: string } | null;
  globalRequest(name: string, data?: Uint8Array, wantReply?: boolean): Promise<{ success: boolean; data: Uint8Array }>;
}

export interface HostKeyWatchOptions {
  readonly updateHostKeys: boolean | ((change: HostKeysChange) => boolean | Promise<boolean>);
  /** The policy's verdict on this connection (host-key-policy.ts `updateHostKeysAllowed`). */
  readonly allowed: () => true | string;
  readonly userFiles: readonly string[];
  readonly host: string;
  readonly port: number;
  readonly hash: boolean;
  readonly acceptedAlgorithms: readonly string[];
  readonly sessionId: () => Uint8Array | null;
  readonly debug?: (level: 1 | 2 | 3, message: string) => void;
}

/**
 * Runs one UpdateHostKeys round on the server's first hostkeys-00
 * announcement (ssh handles one per connection), storing the result on the
 * client and emitting 'hostkeys-updated'.
 */
export function watchHostKeyAnnouncements(client: HostKeyAnnouncer, o: HostKeyWatchOptions): void {
  if (o.updateHostKeys === false) return;
  client.once('hostkeys', (announced) => {
    const finish = (result: HostKeysUpdateResult) => {
      client.hostKeysUpdate = result;
      client.emit('hostkeys-updated', result);
    };
    const allowed = o.allowed();
    const sessionId = o.sessionId();
    if (allowed !== true || sessionId === null || client.algorithms === null) {
      const skipped = allowed !== true ? `disabled: ${allowed}` : 'no session yet';
      o.debug?.(1, `UpdateHostKeys ${skipped}`);
      finish({ name: knownHostName(o.host, o.port), added: [], removed: [], files: [], skipped });
      return;
    }
    void updateHostKeys({
      announced: announced.map((k) => k.key),
      userFiles: o.userFiles,
      host: o.host,
      port: o.port,
      hash: o.hash,
      acceptedAlgorithms: o.acceptedAlgorithms,
      kexAlgorithm: client.algorithms.hostKey,
      sessionId,
      prove: (keys) => {
        const w = new Writer(keys.reduce((n, k) => n + 4 + k.length, 0));
        for (const k of keys) w.string(k);
        return client.globalRequest(HOSTKEYS_PROVE_REQUEST, w.finish().slice(), true);
      },
      ...(typeof o.updateHostKeys === 'function' ? { confirm: o.updateHostKeys } : {}),
      ...(o.debug ? { debug: o.debug } : {}),
    })
      .catch((err: unknown) => ({ name: knownHostName(o.host, o.port), added: [], removed: [], files: [], skipped: String(err) }))
      .then(finish);
  });
}
