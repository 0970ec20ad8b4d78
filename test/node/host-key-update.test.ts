// UpdateHostKeys against a Nacre server that plays OpenSSH's part: after login
// it announces its host keys (hostkeys-00) and answers hostkeys-prove-00 with
// signatures, good or bad. The client writes only proven keys, only when the
// host was trusted through the user's own known_hosts line, and never when
// the files hold something ssh would not edit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Client } from '../../src/client/client.js';
import { formatOpenSshPublicKeyLine, generateHostKey, type KeySigner } from '../../src/keys/index.js';
import { formatKnownHostLine } from '../../src/trust/index.js';
import { ProtocolError } from '../../src/errors.js';
import { createServer, type Server, type ServerConnection } from '../../src/server/server.js';
import { checkHostKeyProofs, hostKeyProofData, type HostKeysUpdateResult } from '../../src/client/host-key-update.js';
import { Reader } from '../../src/wire/reader.js';
import { Writer } from '../../src/wire/writer.js';
import { fuzz } from '../core/fuzz-helpers.js';

const dirs: string[] = [];
function tempFile(text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'nacre-hkupdate-'));
  dirs.push(d);
  const path = join(d, 'known_hosts');
  writeFileSync(path, text);
  return path;
}

const ed = generateHostKey('ssh-ed25519');
const ecdsa = generateHostKey('ecdsa-sha2-nistp256');
const rsa = generateHostKey('ssh-rsa', 2048);
const stranger = generateHostKey('ssh-ed25519');
const unrelated = generateHostKey('ssh-ed25519');

type Prover = (conn: ServerConnection, keys: Uint8Array[]) => Uint8Array[];
const honest: Prover = (conn, keys) => keys.map((k) => signerFor(k).sign(signerFor(k).algorithms[0]!, hostKeyProofData(conn.node.endpoint.transport.sessionId!, k)));
const signers = [ed, ecdsa, rsa, stranger];
function signerFor(blob: Uint8Array): KeySigner {
  return signers.find((s) => Buffer.from(s.publicBlob).equals(blob))!;
}

/** A server with `ed` as its host key that announces `announce` after login and proves keys with `prover`. */
async function announcingServer(announce: Uint8Array[], prover: Prover): Promise<{ server: Server; port: number }> {
  // announceHostKeys off: this server plays its own announcement (keys it does not hold, bad proofs).
  const server = createServer({ hostKeys: [ed], announceHostKeys: false, auth: { failureDelayMs: 0 }, authenticate: () => true });
  server.on('authenticated', (conn) => {
    conn.handleGlobalRequest('hostkeys-prove-00@openssh.com', (req) => {
      const r = new Reader(req.data, 0, 'prove');
      const keys: Uint8Array[] = [];
      while (r.remaining > 0) keys.push(r.string('key', 4096));
      const w = new Writer(4096);
      for (const sig of prover(conn, keys)) w.string(sig);
      return { success: true, data: w.finish().slice() };
    });
    const w = new Writer(4096);
    for (const k of announce) w.string(k);
    void conn.globalRequest('hostkeys-00@openssh.com', w.finish().slice(), false);
  });
  const { port } = await server.listen(0, '127.0.0.1');
  servers.push(server);
  return { server, port };
}
const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function run(port: number, knownHosts: string, extra: Parameters<typeof connect>[0] = {}): Promise<HostKeysUpdateResult> {
  const c: Client = await connect({ host: '127.0.0.1', port, username: 'u', password: 'x', knownHosts, updateHostKeys: true, keepalive: false, ...extra });
  const result = c.hostKeysUpdate ?? (await once(c, 'hostkeys-updated'))[0];
  await c.close();
  return result;
}

const line = (port: number, k: KeySigner) => formatKnownHostLine('127.0.0.1', port, k.publicBlob);
const keyText = (k: KeySigner) => formatOpenSshPublicKeyLine(k.publicBlob, '');

test('proven keys are added in the server order and deprecated ones removed; comments and other hosts kept', async () => {
  const { port } = await announcingServer([ed.publicBlob, ecdsa.publicBlob, rsa.publicBlob], honest);
  const file = tempFile(`# hosts\n${line(port, ed)}\nelse.example ${keyText(unrelated)}\n${line(port, stranger)}\n`);
  const r = await run(port, file);
  assert.equal(r.skipped, undefined);
  assert.deepEqual(r.added.map((k) => k.keyType), ['ecdsa-sha2-nistp256', 'ssh-rsa']);
  assert.deepEqual(r.removed.map((k) => k.key), [stranger.publicBlob]);
  assert.equal(readFileSync(file, 'utf8'), `# hosts\n${line(port, ed)}\nelse.example ${keyText(unrelated)}\n${line(port, ecdsa)}\n${line(port, rsa)}\n`);
});

test('a bad proof, a refused prove request or a malformed reply writes nothing', async () => {
  const cases: [string, Prover][] = [
    ['bad signature', (conn, keys) => keys.map((k) => signerFor(k).sign(signerFor(k).algorithms[0]!, hostKeyProofData(new Uint8Array(32), k)))],
    ['signed by another key', (conn, keys) => keys.map(() => stranger.sign('ssh-ed25519', hostKeyProofData(conn.node.endpoint.transport.sessionId!, keys[0]!)))],
    ['too few signatures', (conn, keys) => honest(conn, keys).slice(1)],
    ['extra bytes', (conn, keys) => [...honest(conn, keys), new Uint8Array(3)]],
  ];
  for (const [what, prover] of cases) {
    const { port } = await announcingServer([ed.publicBlob, ecdsa.publicBlob], prover);
    const start = `${line(port, ed)}\n`;
    const file = tempFile(start);
    const r = await run(port, file);
    assert.match(r.skipped ?? '', /no update|does not verify|proof/, what);
    assert.equal(readFileSync(file, 'utf8'), start, what);
  }
});

test('an RSA proof with SHA-1 is disregarded when the exchange was not RSA, as ssh does; the other keys are learned', async () => {
  const sha1: Prover = (conn, keys) => keys.map((k) => signerFor(k).sign(signerFor(k).keyType === 'ssh-rsa' ? 'ssh-rsa' : signerFor(k).algorithms[0]!, hostKeyProofData(conn.node.endpoint.transport.sessionId!, k)));
  const { port } = await announcingServer([ed.publicBlob, rsa.publicBlob, ecdsa.publicBlob], sha1);
  const file = tempFile(`${line(port, ed)}\n`);
  const r = await run(port, file);
  assert.deepEqual(r.added.map((k) => k.keyType), ['ecdsa-sha2-nistp256']);
  assert.equal(readFileSync(file, 'utf8'), `${line(port, ed)}\n${line(port, ecdsa)}\n`);
});

test('files ssh would not edit are left alone: markers, wildcards, several names, a duplicate announcement', async () => {
  const { port } = await announcingServer([ed.publicBlob, ecdsa.publicBlob], honest);
  const known = line(port, ed);
  for (const [extra, why] of [
    [`@revoked ${line(port, stranger)}`, /@revoked line/],
    [`[127.0.0.*]:${port} ${keyText(stranger)}`, /wildcards or several names/],
    [`[127.0.0.1]:${port},a,b ${keyText(stranger)}`, /wildcards or several names/],
  ] as const) {
    const start = `${known}\n${extra}\n`;
    const file = tempFile(start);
    const r = await run(port, file);
    assert.match(r.skipped ?? '', why);
    assert.equal(readFileSync(file, 'utf8'), start);
  }
  const dup = await announcingServer([ed.publicBlob, ecdsa.publicBlob, ecdsa.publicBlob], honest);
  const file = tempFile(`${line(dup.port, ed)}\n`);
  assert.match((await run(dup.port, file)).skipped ?? '', /announced its ecdsa-sha2-nistp256 host key twice/);
});

test('an overridden mismatch disables the update; an unknown key the user accepted (verifyHostKey) enables it; without updateHostKeys nothing runs', async () => {
  const { port } = await announcingServer([ed.publicBlob, ecdsa.publicBlob], honest);
  const mismatch = `${line(port, stranger)}\n`;
  const file = tempFile(mismatch);
  const r = await run(port, file, { verifyHostKey: () => ({ accept: 'mismatch' }) });
  assert.match(r.skipped ?? '', /disabled: the host key is not trusted by known_hosts \("mismatch"\)/);
  assert.equal(readFileSync(file, 'utf8'), mismatch);

  // The user said yes to an unknown key (verifyHostKey) and accept-new recorded it: ssh then learns the rest.
  const empty = tempFile('');
  const learned = await run(port, empty, { verifyHostKey: () => true, acceptUnknownHostKey: true });
  assert.deepEqual(learned.added.map((k) => k.keyType), ['ecdsa-sha2-nistp256']);
  assert.equal(readFileSync(empty, 'utf8'), `${line(port, ed)}\n${line(port, ecdsa)}\n`);

  // without updateHostKeys nothing runs: the announcement is only reported
  const c = await connect({ host: '127.0.0.1', port, username: 'u', password: 'x', knownHosts: tempFile(`${line(port, ed)}\n`), keepalive: false });
  if (c.announcedHostKeys.length === 0) await once(c, 'hostkeys');
  assert.equal(c.announcedHostKeys.length, 2);
  assert.equal(c.hostKeysUpdate, null);
  await c.close();
});

test('the proof reply parser: random, truncated and bit-flipped replies give a ProtocolError or a subset of the keys, nothing else', () => {
  const session = new Uint8Array(32).fill(7);
  const keys = [ecdsa.publicBlob, rsa.publicBlob];
  const w = new Writer(4096);
  for (const k of keys) w.string(signerFor(k).sign(signerFor(k).algorithms[0]!, hostKeyProofData(session, k)));
  const good = w.finish().slice();
  assert.equal(checkHostKeyProofs(keys, good, session, 'ssh-ed25519').length, 2);
  const n = fuzz('hostkeys-prove', [good], 3000, (input) => {
    const proven = checkHostKeyProofs(keys, input, session, 'ssh-ed25519');
    assert.ok(proven.every((p) => keys.includes(p)));
  }, (err) => err instanceof ProtocolError);
  assert.ok(n >= 3000);
});
