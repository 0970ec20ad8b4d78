// RevokedHostKeys (`revokedHostKeys`) with host certificates: a KRL revoking
// the certificate by serial or key id, or a key list naming its CA, refuses
// the host even though its CA is trusted through @cert-authority; and
// hostKeyAlias names the host as the certificate's principal.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostKeyRejectedError } from '../../src/errors.js';
import { buildKrl, encodeKrl, formatOpenSshPublicKeyLine, generateHostKey, parseKrlSpec } from '../../src/keys/index.js';
import { signCertificate } from '../../src/keys/certificate.js';
import { formatKnownHostLine } from '../../src/trust/index.js';
import { startServer, passwordSecret, testHostKey, type TestServer } from './server-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nacre-revoked-host-'));
const ca = generateHostKey('ssh-ed25519');
const now = BigInt(Math.floor(Date.now() / 1000));
const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function certServer(principals: string[]): Promise<TestServer> {
  const cert = signCertificate({ publicKey: testHostKey().publicBlob, kind: 'host', random: randomBytes, keyId: 'web-1', serial: 7n, principals, validAfter: now - 60n, validBefore: now + 3600n }, ca);
  const t = await startServer({ authenticate: passwordSecret, hostCertificates: [cert] });
  servers.push(t);
  return t;
}

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test('a trusted host certificate is refused when RevokedHostKeys revokes it by serial or key id, or lists its CA; not for other serials', async () => {
  const t = await certServer(['127.0.0.1']);
  const kh = file('kh', `${formatKnownHostLine('127.0.0.1', t.port, ca.publicBlob, { marker: 'cert-authority' })}\n`);
  const krl = (spec: string) => encodeKrl(buildKrl(parseKrlSpec(spec, { caKey: ca.publicBlob })));
  const opts = { password: 'secret', knownHosts: kh, verifyHostKey: undefined };
  const ok = await t.connect({ ...opts, revokedHostKeys: file('other-serial.krl', krl('serial: 8\nid: web-2\n')) });
  assert.equal(ok.hostKey?.certificate?.trusted, true);
  await ok.close();
  for (const [name, content, why] of [
    ['serial.krl', krl('serial: 1-7\n'), /the host certificate is listed in .*serial\.krl \(serial-range\)/],
    ['id.krl', krl('id: web-1\n'), /the host certificate is listed in .*id\.krl \(key-id\)/],
    ['ca.pub', `${formatOpenSshPublicKeyLine(ca.publicBlob, 'the CA')}\n`, /the host certificate's CA is listed in .*ca\.pub/],
    ['key.pub', `${formatOpenSshPublicKeyLine(testHostKey().publicBlob, 'the host key')}\n`, /the host key is listed in .*key\.pub/],
  ] as const) {
    await assert.rejects(t.connect({ ...opts, revokedHostKeys: file(name, content) }), (e: unknown) => e instanceof HostKeyRejectedError && why.test(e.message), name);
  }
});

test('hostKeyAlias is the principal a host certificate must name, and the name @cert-authority lines are matched against', async () => {
  const t = await certServer(['web.internal']);
  const kh = file('kh-alias', `${formatKnownHostLine('web.internal', 22, ca.publicBlob, { marker: 'cert-authority' })}\n`);
  const c = await t.connect({ password: 'secret', knownHosts: kh, verifyHostKey: undefined, hostKeyAlias: 'web.internal' });
  assert.equal(c.hostKey?.certificate?.trusted, true);
  await c.close();
  await assert.rejects(t.connect({ password: 'secret', knownHosts: kh, verifyHostKey: undefined }), HostKeyRejectedError);
});
