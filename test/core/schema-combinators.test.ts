// The combinators on known bytes: SFTP ATTRS and NAME, agent messages and a
// real OpenSSH certificate, the limits a decoder applies, and the
// declarations that are refused because they could not be parsed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { f, struct, message, type ValueOf, type MessageOf } from '../../src/messages/schema.js';
import { ProtocolError } from '../../src/errors.js';
import { Writer } from '../../src/wire/writer.js';
import {
  AgentIdentitiesAnswer,
  AgentSignRequest,
  AgentSignWithCertificate,
  Ed25519Certificate,
  SftpAttrs,
  SftpAttrsReply,
  SftpName,
} from './message-examples.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

test('value types are inferred from the declarations', () => {
  const attrs: Equal<
    ValueOf<typeof SftpAttrs>,
    {
      size?: bigint;
      owner?: { uid: number; gid: number };
      permissions?: number;
      times?: { atime: number; mtime: number };
      extended?: { type: string; data: Uint8Array }[];
    }
  > = true;
  const sign: Equal<MessageOf<typeof AgentSignRequest>, { keyBlob: Uint8Array; data: Uint8Array; flags: number }> = true;
  const pair: Equal<ValueOf<ReturnType<typeof f.tuple<[ReturnType<typeof f.text>, ReturnType<typeof f.uint32>]>>>, [string, number]> =
    true;
  assert.ok(attrs && sign && pair);
  // @ts-expect-error owner carries uid and gid together
  SftpAttrs.write(new Writer(), { owner: { uid: 1 } });
});

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('SFTP ATTRS: the flags word follows from the groups present', () => {
  const value = { size: 0x1234n, permissions: 0o100644, times: { atime: 1, mtime: 2 } };
  const bytes = hex(`
    69 00000007
    0000000d
    0000000000001234
    000081a4
    00000001 00000002`);
  assert.deepEqual(SftpAttrsReply.encode({ id: 7, attrs: value }), bytes);
  assert.deepEqual(SftpAttrsReply.decode(bytes), { id: 7, attrs: value });

  const empty = SftpAttrsReply.encode({ id: 1, attrs: {} });
  assert.deepEqual(empty.subarray(5), hex('00000000'));

  const extended = SftpAttrsReply.encode({ id: 1, attrs: { owner: { uid: 0, gid: 5 }, extended: [{ type: 'x@y', data: hex('ab') }] } });
  assert.deepEqual(extended.subarray(5, 9), hex('80000002'));
  assert.deepEqual(SftpAttrsReply.decode(extended).attrs, { owner: { uid: 0, gid: 5 }, extended: [{ type: 'x@y', data: hex('ab') }] });
});

test('SFTP ATTRS: a flag bit with no declared group is refused', () => {
  // 0x10 is SSH_FILEXFER_ATTR_ACCESSTIME in later drafts, not in version 3
  assert.throws(() => SftpAttrsReply.decode(hex('69 00000001 00000010')), /SSH_FXP_ATTRS: attrs: flag bits 0x10 are not understood/);
  assert.throws(() => SftpAttrsReply.decode(hex('69 00000001 40000000')), ProtocolError);
});

test('SFTP NAME: entries round-trip, and a count is checked before anything is built', () => {
  const names = [
    { filename: 'a.txt', longname: '-rw-r--r-- 1 u g 3 Jan 1 a.txt', attrs: { size: 3n } },
    { filename: 'dir', longname: 'drwxr-xr-x 2 u g 0 Jan 1 dir', attrs: { permissions: 0o40755 } },
  ];
  const bytes = SftpName.encode({ id: 9, names });
  assert.deepEqual(SftpName.decode(bytes), { id: 9, names });

  // each entry takes at least 12 bytes, so 5 cannot fit in 16
  assert.throws(() => SftpName.decode(hex('68 00000009 00000005 00000000 00000000 00000000 00000000')), /SSH_FXP_NAME: names: 5 entries cannot fit in the 16 bytes left/);
  assert.throws(() => SftpName.decode(hex('68 00000009 ffffffff')), ProtocolError);
  // within the bytes left but over the declared limit
  const overLimit = new Writer().byte(104).uint32(1).uint32(10_001).raw(new Uint8Array(10_001 * 12)).finish();
  assert.throws(() => SftpName.decode(overLimit), /over the limit of 10000/);
  // a truncated entry names where it broke
  const one = SftpName.encode({ id: 9, names: names.slice(0, 1) });
  assert.throws(() => SftpName.decode(one.subarray(0, 30)), /SSH_FXP_NAME: names\[0\]\.longname runs past the end/);
});

test('agent messages: SIGN_REQUEST bytes and IDENTITIES_ANSWER limits', () => {
  const bytes = hex('0d 00000002 abcd 00000003 010203 00000004');
  assert.deepEqual(AgentSignRequest.decode(bytes), { keyBlob: hex('abcd'), data: hex('010203'), flags: 4 });
  assert.deepEqual(AgentSignRequest.encode({ keyBlob: hex('abcd'), data: hex('010203'), flags: 4 }), bytes);

  const answer = AgentIdentitiesAnswer.encode({ keys: [{ keyBlob: hex('01'), comment: 'me@host' }] });
  assert.deepEqual(AgentIdentitiesAnswer.decode(answer).keys, [{ keyBlob: hex('01'), comment: 'me@host' }]);
  const tooMany = new Writer().byte(12).uint32(2049).raw(new Uint8Array(2049 * 8)).finish();
  assert.throws(() => AgentIdentitiesAnswer.decode(tooMany), /over the limit of 2048/);
});

// `ssh-keygen -s ca -I nacre-test -n alice,bob -z 42 -V 20240101:20340101
//  -O force-command=/bin/true -O no-port-forwarding user.pub` (OpenSSH 10)
const CERT = Uint8Array.from(
  Buffer.from(
    'AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIMC/CdIfDhYfaNJ11pw8GKk6Q7+5LXhHOM5OtuRKe/IqAAAAIMMEHaByjY/kwhTcxFzQ123hUPtDg1/XSvv2XuVzHdzdAAAAAAAAACoAAAABAAAACm5hY3JlLXRlc3QAAAAQAAAABWFsaWNlAAAAA2JvYgAAAABlkgCAAAAAAHhh+AAAAAAiAAAADWZvcmNlLWNvbW1hbmQAAAANAAAACS9iaW4vdHJ1ZQAAAGQAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAgQja6xb42XXOyW59aXOUb7G35y+Lx+znAMTUfsV+AtHYAAABTAAAAC3NzaC1lZDI1NTE5AAAAQCp9x3ESa10sv5oTeufQ/SYQ18uaRKB0Gq7auLKR1k/7Os3hv/oEubyn9azuKqcykIxgM2G59/RXsQ2EnkdqWwo=',
    'base64',
  ),
);

test('certificate: a real OpenSSH certificate decodes through nested strings and re-encodes to the same bytes', () => {
  const cert = Ed25519Certificate.decode(CERT);
  assert.equal(cert.keyType, 'ssh-ed25519-cert-v01@openssh.com');
  assert.equal(cert.serial, 42n);
  assert.equal(cert.type, 1);
  assert.equal(cert.keyId, 'nacre-test');
  assert.deepEqual(cert.principals, ['alice', 'bob']);
  assert.equal(cert.validAfter, BigInt(Date.UTC(2024, 0, 1) / 1000));
  assert.deepEqual(
    cert.criticalOptions.map((o) => o.name),
    ['force-command'],
  );
  assert.deepEqual(struct({ command: f.text() }).decode(cert.criticalOptions[0]!.data), { command: '/bin/true' });
  assert.deepEqual(
    cert.extensions.map((o) => o.name),
    ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-pty', 'permit-user-rc'],
  );
  assert.equal(cert.signatureKey.keyType, 'ssh-ed25519');
  assert.equal(cert.signature.algorithm, 'ssh-ed25519');
  assert.equal(cert.signature.signature.length, 64);
  assert.deepEqual(Ed25519Certificate.encode(cert), CERT);

  // the same certificate inside an agent request, nested or as an opaque blob
  const request = AgentSignWithCertificate.encode({ key: cert, data: hex('5eed'), flags: 0 });
  assert.deepEqual(AgentSignRequest.decode(request).keyBlob, CERT);
  assert.deepEqual(AgentSignWithCertificate.decode(request).key, cert);
});

test('certificate: broken nested strings are ProtocolErrors', () => {
  // a principal whose length runs past the end of the list's own string
  const principalsAt = 4 + 32 + 4 + 32 + 4 + 32 + 8 + 4 + 4 + 10;
  const mangled = Uint8Array.from(CERT);
  mangled.set(hex('0000000a'), principalsAt + 4); // "alice" claims 10 bytes, running into "bob"
  assert.throws(() => Ed25519Certificate.decode(mangled), /principals/);
  // bytes left over inside the string that wraps the signature key
  const sigKey = f.wrapped(f.struct({ keyType: f.text(), publicKey: f.bytes() }));
  const withTrailing = new Writer().string(new Writer().string('ssh-ed25519').string(hex('00')).raw(hex('ff')).finish()).finish();
  assert.throws(() => struct({ k: sigKey }).decode(withTrailing), /1 unexpected trailing bytes/);
  // a wrapper over its limit
  assert.throws(() => struct({ k: f.wrapped(f.bytes(), 8) }).decode(hex('00000009 000000050102030405')), /over the limit of 8/);
});

test('repeated items run to the end, with a limit', () => {
  const names = struct({ names: f.repeated(f.text(), 2) });
  assert.deepEqual(names.decode(names.encode({ names: ['a', 'b'] })).names, ['a', 'b']);
  assert.throws(() => names.decode(hex('00000001 61 00000001 62 00000001 63')), /more than 2 entries/);
  assert.throws(() => names.decode(hex('00000001 61 000000')), ProtocolError);
});

test('declarations that could not be parsed are refused when made', () => {
  assert.throws(() => struct({ rest: f.rest(), after: f.uint32() }), TypeError);
  assert.throws(() => struct({ more: f.repeated(f.byte()), after: f.byte() }), TypeError);
  assert.throws(() => f.list(f.rest()), TypeError);
  assert.throws(() => f.list(f.struct({})), TypeError);
  assert.throws(() => f.repeated(f.struct({})), TypeError);
  assert.throws(() => f.ifSet(3, f.uint32()), TypeError);
  assert.throws(() => f.ifSet(0, f.uint32()), TypeError);
  assert.throws(() => f.ifSet(2 ** 32, f.uint32()), TypeError);
  assert.throws(() => f.flagged({ a: f.ifSet(1, f.byte()), b: f.ifSet(1, f.byte()) }), TypeError);
  // a struct ending in `rest` takes the rest itself, so it too must come last
  assert.throws(() => struct({ inner: f.struct({ rest: f.rest() }), after: f.byte() }), TypeError);
  assert.doesNotThrow(() => struct({ inner: f.wrapped(f.struct({ rest: f.rest() })), after: f.byte() }));
});

test('message declared on struct: the body alone decodes the same fields', () => {
  const m = message(200, 'TEST', { a: f.uint32(), b: f.text() });
  const bytes = m.encode({ a: 1, b: 'x' });
  assert.deepEqual(m.body.decode(bytes.subarray(1)), { a: 1, b: 'x' });
  assert.throws(() => m.decode(Uint8Array.of(201)), /TEST: expected TEST \(200\), got message 201/);
});
