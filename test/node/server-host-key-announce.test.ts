// The server's half of UpdateHostKeys (hostkeys-00 / hostkeys-prove-00):
// the proofs it makes verify with the client's half (its checker and the
// whole round against a Nacre server), a key it does not hold and malformed
// request data are refused and never throw, and `announceHostKeys: false`
// sends nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Client } from '../../src/client/client.js';
import { generateHostKey, type KeySigner } from '../../src/keys/index.js';
import { formatKnownHostLine } from '../../src/trust/index.js';
import type { Signer } from '../../src/algorithms/types.js';
import { createServer, type Server, type ServerOptions } from '../../src/server/server.js';
import { checkHostKeyProofs, hostKeyProofData, type HostKeysUpdateResult } from '../../src/client/host-key-update.js';
import { announcedHostKeys, answerHostKeysProve, hostKeyProofPayload, hostKeysAnnouncement, proofSignatureAlgorithm } from '../../src/server/host-key-announce.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';
import { fuzz } from '../core/fuzz-helpers.js';

const ed = generateHostKey('ssh-ed25519');
const ecdsa = generateHostKey('ecdsa-sha2-nistp256');
const rsa = generateHostKey('ssh-rsa', 2048);
const stranger = generateHostKey('ssh-ed25519');
const keys: readonly Signer[] = [ed, ecdsa, rsa];
const session = new Uint8Array(32).fill(9);

function request(blobs: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(4096);
  for (const b of blobs) w.string(b);
  return w.finish().slice();
}

function signatureAlgorithm(signature: Uint8Array): string {
  return new Reader(signature, 0, 'signature').text('algorithm', 256);
}

function replySignatures(data: Uint8Array): Uint8Array[] {
  const r = new Reader(data, 0, 'reply');
  const out: Uint8Array[] = [];
  while (r.remaining > 0) out.push(r.string('signature'));
  return out;
}

test('the proof payload is the one the client checks', () => {
  assert.deepEqual(hostKeyProofPayload(session, rsa.publicBlob), hostKeyProofData(session, rsa.publicBlob));
});

test("each proof verifies with the client's checker; RSA signs with the exchange's RSA algorithm, else rsa-sha2-512", () => {
  const blobs = keys.map((k) => k.publicBlob);
  for (const [kex, rsaAlgorithm] of [
    ['ssh-ed25519', 'rsa-sha2-512'],
    ['ecdsa-sha2-nistp256', 'rsa-sha2-512'],
    ['rsa-sha2-256', 'rsa-sha2-256'],
    ['rsa-sha2-512', 'rsa-sha2-512'],
    ['rsa-sha2-256-cert-v01@openssh.com', 'rsa-sha2-256'],
    ['ssh-ed25519-cert-v01@openssh.com', 'rsa-sha2-512'],
  ] as const) {
    const answer = answerHostKeysProve(keys, request(blobs), session, kex);
    assert.ok(typeof answer === 'object' && answer.success && answer.data, kex);
    const data = answer.data;
    const sigs = replySignatures(data);
    assert.deepEqual(sigs.map(signatureAlgorithm), ['ssh-ed25519', 'ecdsa-sha2-nistp256', rsaAlgorithm], kex);
    assert.equal(checkHostKeyProofs(blobs, data, session, kex).length, 3, kex);
    // The client's proofs are bound to the session.
    assert.throws(() => checkHostKeyProofs(blobs, data, new Uint8Array(32), kex));
  }
  // A subset, in the client's order.
  const some = answerHostKeysProve(keys, request([rsa.publicBlob, ed.publicBlob]), session, 'ssh-ed25519');
  assert.ok(typeof some === 'object' && some.data);
  assert.equal(checkHostKeyProofs([rsa.publicBlob, ed.publicBlob], some.data, session, 'ssh-ed25519').length, 2);
  // Nothing asked, nothing signed (as sshd).
  assert.deepEqual(answerHostKeysProve(keys, new Uint8Array(0), session, 'ssh-ed25519'), { success: true, data: new Uint8Array(0) });
  assert.equal(proofSignatureAlgorithm('ssh-rsa', 'ssh-rsa'), 'ssh-rsa');
});

test('a key the server does not hold, a key named twice, more keys than it has: refused', () => {
  assert.equal(answerHostKeysProve(keys, request([ed.publicBlob, stranger.publicBlob]), session, 'ssh-ed25519'), false);
  assert.equal(answerHostKeysProve(keys, request([ed.publicBlob, ed.publicBlob]), session, 'ssh-ed25519'), false);
  assert.equal(answerHostKeysProve([ed], request([ed.publicBlob, ecdsa.publicBlob]), session, 'ssh-ed25519'), false);
});

test('malformed prove data: random, truncated, bit-flipped requests are refused or answered, never thrown', () => {
  const good = request(keys.map((k) => k.publicBlob));
  const n = fuzz('hostkeys-prove-server', [good, request([ed.publicBlob])], 2000, (input) => {
    const answer = answerHostKeysProve(keys, input, session, 'ssh-ed25519');
    if (answer === false) return;
    assert.ok(typeof answer === 'object' && answer.success && answer.data);
    // Answered only when the input was whole known keys: the proofs verify for them.
    const r = new Reader(input, 0, 'input');
    const asked: Uint8Array[] = [];
    while (r.remaining > 0) asked.push(r.string('key'));
    assert.equal(checkHostKeyProofs(asked, answer.data, session, 'ssh-ed25519').length, asked.length);
  }, () => false);
  assert.ok(n >= 2000);
});

test('the announcement lists plain keys once each, in order; certificate signers are left out', () => {
  const cert: Signer = { keyType: 'ssh-ed25519-cert-v01@openssh.com', publicBlob: new Uint8Array([1, 2, 3]), sign: () => new Uint8Array(0) };
  const list = announcedHostKeys([ed, cert, rsa, ed]);
  assert.deepEqual(list, [ed, rsa]);
  const r = new Reader(hostKeysAnnouncement(list), 0, 'announcement');
  assert.deepEqual(r.string('k'), ed.publicBlob);
  assert.deepEqual(r.string('k'), rsa.publicBlob);
  r.end();
});

// ------------------------------------------------------------ over the wire

const dirs: string[] = [];
const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function knownHosts(text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'nacre-hkannounce-'));
  dirs.push(d);
  const path = join(d, 'known_hosts');
  writeFileSync(path, text);
  return path;
}

async function server(options: Partial<ServerOptions>): Promise<number> {
  const s = createServer({ hostKeys: keys, auth: { failureDelayMs: 0 }, authenticate: () => true, ...options });
  servers.push(s);
  return (await s.listen(0, '127.0.0.1')).port;
}

async function login(port: number, extra: Parameters<typeof connect>[0]): Promise<Client> {
  return connect({ host: '127.0.0.1', port, username: 'u', password: 'x', keepalive: false, ...extra });
}

const line = (port: number, k: KeySigner) => formatKnownHostLine('127.0.0.1', port, k.publicBlob);

test('a Nacre client with updateHostKeys learns the keys createServer announces and proves', async () => {
  for (const hostKey of [['ssh-ed25519'], ['rsa-sha2-256']]) {
    const port = await server({ algorithms: { hostKey } });
    const first = hostKey[0] === 'ssh-ed25519' ? ed : rsa;
    const file = knownHosts(`${line(port, first)}\n`);
    const c = await login(port, { knownHosts: file, updateHostKeys: true });
    const result: HostKeysUpdateResult = c.hostKeysUpdate ?? (await once(c, 'hostkeys-updated'))[0];
    await c.close();
    assert.equal(result.skipped, undefined, hostKey[0]);
    assert.deepEqual(result.added.map((k) => k.keyType).sort(), keys.filter((k) => k !== first).map((k) => k.keyType).sort());
    // The known key stays where it was; the new ones follow in the server's order.
    const expected = [first, ...keys.filter((k) => k !== first)];
    assert.equal(readFileSync(file, 'utf8'), expected.map((k) => `${line(port, k as KeySigner)}\n`).join(''));
  }
});

test('over the wire: an unknown key and malformed data get REQUEST_FAILURE and the connection lives on', async () => {
  const port = await server({});
  const c = await login(port, { verifyHostKey: () => true });
  if (c.announcedHostKeys.length === 0) await once(c, 'hostkeys');
  assert.deepEqual(c.announcedHostKeys.map((k) => Buffer.from(k.key)), keys.map((k) => Buffer.from(k.publicBlob)));
  const ask = (data: Uint8Array) => c.globalRequest('hostkeys-prove-00@openssh.com', data, true);
  assert.equal((await ask(request([stranger.publicBlob]))).success, false);
  assert.equal((await ask(new Uint8Array([0, 0, 1]))).success, false);
  assert.equal((await ask(new Uint8Array([0, 0, 0, 9, 1]))).success, false);
  const good = await ask(request([ecdsa.publicBlob]));
  assert.equal(good.success, true);
  const sessionId = c.node.endpoint.transport.sessionId!;
  assert.equal(checkHostKeyProofs([ecdsa.publicBlob], good.data, sessionId, c.algorithms!.hostKey).length, 1);
  // Four requests answered per connection (each costs a signature per key on the shared event loop): the fifth is refused.
  assert.equal((await ask(request([ecdsa.publicBlob]))).success, false);
  // ... and the connection still answers.
  assert.equal((await c.globalRequest('no-such-request@nacre', new Uint8Array(0), true)).success, false);
  await c.close();
});

test('announceHostKeys: false sends no announcement and refuses the proof request', async () => {
  const port = await server({ announceHostKeys: false });
  const c = await login(port, { verifyHostKey: () => true });
  const reply = await c.globalRequest('hostkeys-prove-00@openssh.com', request([ed.publicBlob]), true);
  assert.equal(reply.success, false);
  // The announcement would have come right after the login, before this reply.
  assert.equal(c.announcedHostKeys.length, 0);
  await c.close();
});
