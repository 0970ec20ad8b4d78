// The agent protocol's codec (src/agent): every message both ways, key
// constraints as ssh-add writes them, ADD_IDENTITY for each key type, the
// checks on replies, and fuzzing that lets only the documented errors out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePrivateKey } from '../../src/keys/signer.js';
import { encodePublicKey } from '../../src/keys/blob.js';
import { signCertificate } from '../../src/keys/certificate.js';
import { generateHostKey } from '../../src/keys/index.js';
import { agentKeyFields } from '../../src/keys/agent-key.js';
import { ProtocolError } from '../../src/errors.js';
import {
  AgentError,
  AgentExtension,
  AgentExtensionResponse,
  AgentFailure,
  AgentIdentitiesAnswer,
  AgentLock,
  AgentRemoveIdentity,
  AgentRequestIdentities,
  AgentSignRequest,
  AgentSignResponse,
  AgentSuccess,
  AgentUnlock,
  AgentAddSmartcardKey,
  AgentAddSmartcardKeyConstrained,
  AgentRemoveSmartcardKey,
  AgentRemoveAllIdentities,
  AgentExtensionFailure,
  MSG_AGENT,
  SessionBind,
  decodeAddIdentity,
  decodeConstraints,
  encodeAddIdentity,
  encodeConstraints,
  expectSuccess,
  extensionReply,
  identitiesFromReply,
  isAgentKeyType,
  signFlagsFor,
  signatureFromReply,
  type KeyConstraint,
} from '../../src/agent/index.js';
import { Writer } from '../../src/wire/writer.js';
import { fuzz } from './fuzz-helpers.js';

const bytes = (...v: number[]) => new Uint8Array(v);
const text = (s: string) => new TextEncoder().encode(s);
const ed = generateHostKey('ssh-ed25519');
const rsa = generateHostKey('ssh-rsa', 1024);

const destinations: KeyConstraint = {
  type: 'restrict-destination',
  destinations: [
    { from: { user: '', host: '', reserved: new Uint8Array(0), keys: [] }, to: { user: '', host: 'jump', reserved: new Uint8Array(0), keys: [{ key: ed.publicBlob, isCa: false }] }, reserved: new Uint8Array(0) },
    {
      from: { user: '', host: 'jump', reserved: new Uint8Array(0), keys: [{ key: ed.publicBlob, isCa: false }] },
      to: { user: 'alice', host: 'target', reserved: new Uint8Array(0), keys: [{ key: rsa.publicBlob, isCa: true }, { key: ed.publicBlob, isCa: false }] },
      reserved: new Uint8Array(0),
    },
  ],
};
const allConstraints: KeyConstraint[] = [
  { type: 'lifetime', seconds: 3600 },
  { type: 'confirm' },
  { type: 'sk-provider', path: '/usr/lib/libsk.so' },
  destinations,
  { type: 'associated-certs', certsOnly: true, certs: [ed.publicBlob, rsa.publicBlob] },
];

test('every request and reply decodes to what was encoded', () => {
  const cases: [{ encode(v: never): Uint8Array; decode(b: Uint8Array): unknown }, unknown][] = [
    [AgentFailure, {}],
    [AgentSuccess, {}],
    [AgentExtensionFailure, {}],
    [AgentRequestIdentities, {}],
    [AgentRemoveAllIdentities, {}],
    [AgentIdentitiesAnswer, { keys: [{ key: ed.publicBlob, comment: 'one' }, { key: rsa.publicBlob, comment: '' }] }],
    [AgentSignRequest, { key: rsa.publicBlob, data: text('to be signed'), flags: 4 }],
    [AgentSignResponse, { signature: ed.sign('ssh-ed25519', text('x')) as Uint8Array }],
    [AgentRemoveIdentity, { key: ed.publicBlob }],
    [AgentLock, { passphrase: text('pw') }],
    [AgentUnlock, { passphrase: text('pw') }],
    [AgentAddSmartcardKey, { id: 'pkcs11.so', pin: '1234' }],
    [AgentAddSmartcardKeyConstrained, { id: 'pkcs11.so', pin: '', constraints: encodeConstraints([{ type: 'confirm' }]) }],
    [AgentRemoveSmartcardKey, { id: 'pkcs11.so', pin: '1234' }],
    [AgentExtension, { name: 'query', data: new Uint8Array(0) }],
    [AgentExtensionResponse, { data: text('reply') }],
  ];
  for (const [schema, value] of cases) {
    const encoded = schema.encode(value as never);
    assert.deepEqual(schema.decode(encoded), value);
  }
  assert.deepEqual([...AgentRequestIdentities.encode({})], [MSG_AGENT.REQUEST_IDENTITIES]);
  // SIGN_REQUEST as the draft lays it out: byte 13, string key, string data, uint32 flags
  const sign = AgentSignRequest.encode({ key: bytes(1, 2), data: bytes(3), flags: 2 });
  assert.deepEqual([...sign], [13, 0, 0, 0, 2, 1, 2, 0, 0, 0, 1, 3, 0, 0, 0, 2]);
});

test('session-bind@openssh.com carries host key, session id, signature and the forwarding flag', () => {
  const value = { hostKey: ed.publicBlob, sessionId: new Uint8Array(32).fill(7), signature: ed.sign('ssh-ed25519', text('h')) as Uint8Array, forwarding: true };
  const data = SessionBind.encode(value);
  assert.deepEqual(SessionBind.decode(data), value);
  const w = new Writer().string(value.hostKey).string(value.sessionId).string(value.signature).boolean(true);
  assert.deepEqual(data, w.finish());
  assert.deepEqual(AgentExtension.decode(AgentExtension.encode({ name: 'session-bind@openssh.com', data })).data, data);
});

test('constraints round-trip, restrict-destination nested as ssh-add writes it', () => {
  assert.deepEqual(decodeConstraints(encodeConstraints(allConstraints)), allConstraints);
  // lifetime then confirm: byte 1, uint32 seconds, byte 2
  assert.deepEqual([...encodeConstraints([{ type: 'lifetime', seconds: 258 }, { type: 'confirm' }])], [1, 0, 0, 1, 2, 2]);
  // restrict-destination: 255, its name, then string(string(constraint)...) with each hop a string
  const hop = (host: string) => new Writer().string('').string(host).string(new Uint8Array(0)).finish();
  const one = new Writer().string(hop('')).string(hop('h')).string(new Uint8Array(0)).finish();
  const expected = new Writer().byte(255).string('restrict-destination-v00@openssh.com').string(new Writer().string(one).finish()).finish();
  const empty = { user: '', reserved: new Uint8Array(0), keys: [] };
  assert.deepEqual(encodeConstraints([{ type: 'restrict-destination', destinations: [{ from: { ...empty, host: '' }, to: { ...empty, host: 'h' }, reserved: new Uint8Array(0) }] }]), expected);
});

test('bad constraints are ProtocolErrors: unknown type, unknown extension, zero lifetime, truncation', () => {
  assert.throws(() => decodeConstraints(bytes(3)), ProtocolError);
  assert.throws(() => decodeConstraints(new Writer().byte(255).string('who-knows@example.com').finish()), /unknown extension/);
  assert.throws(() => decodeConstraints(bytes(1, 0, 0, 0, 0)), /0 seconds/);
  assert.throws(() => decodeConstraints(bytes(1, 0, 0)), ProtocolError);
  assert.throws(() => decodeConstraints(new Uint8Array(65).fill(2)), /more than 64/);
  assert.throws(() => encodeConstraints([{ type: 'lifetime', seconds: 0 }]), RangeError);
});

test('ADD_IDENTITY for every key type and certificate splits back into type, fields, comment and constraints', () => {
  const keys = [generatePrivateKey('ssh-ed25519'), generatePrivateKey('ssh-rsa', { bits: 1024, force: true }), generatePrivateKey('ecdsa-sha2-nistp256'), generatePrivateKey('ecdsa-sha2-nistp384'), generatePrivateKey('ecdsa-sha2-nistp521')];
  const ca = generateHostKey('ssh-ed25519');
  for (const key of keys) {
    const plain = agentKeyFields(key);
    assert.ok(isAgentKeyType(plain.keyType));
    const cert = signCertificate({ publicKey: encodePublicKey(key), kind: 'user', random: (n) => new Uint8Array(n).fill(1), keyId: 'k', principals: ['u'], validAfter: 0n, validBefore: 2n ** 64n - 1n }, ca).blob;
    const certified = agentKeyFields(key, cert);
    assert.match(certified.keyType, /-cert-v01@openssh\.com$/);
    for (const { keyType, fields } of [plain, certified]) {
      for (const constraints of [[], allConstraints]) {
        const payload = encodeAddIdentity({ keyType, fields, comment: 'a comment', constraints });
        assert.equal(payload[0], constraints.length ? MSG_AGENT.ADD_ID_CONSTRAINED : MSG_AGENT.ADD_IDENTITY);
        assert.deepEqual(decodeAddIdentity(payload), { keyType, fields, comment: 'a comment', constraints });
      }
    }
  }
  assert.throws(() => decodeAddIdentity(new Writer().byte(17).string('ssh-foo').string('x').finish()), /unknown key type/);
  assert.throws(() => agentKeyFields(generatePrivateKey('ssh-ed25519'), signCertificate({ publicKey: ed.publicBlob, kind: 'user', random: (n) => new Uint8Array(n), keyId: '', principals: [], validAfter: 0n, validBefore: 1n }, ca).blob), /another key/);
});

test('sign flags ask for RSA SHA-2 (certificates too); other algorithms need none', () => {
  assert.equal(signFlagsFor('rsa-sha2-256'), 2);
  assert.equal(signFlagsFor('rsa-sha2-512'), 4);
  assert.equal(signFlagsFor('rsa-sha2-512-cert-v01@openssh.com'), 4);
  assert.equal(signFlagsFor('rsa-sha2-256-cert-v01@openssh.com'), 2);
  assert.equal(signFlagsFor('ssh-rsa'), 0);
  assert.equal(signFlagsFor('ssh-ed25519'), 0);
});

test('replies are checked: FAILURE is refused, a wrong message or algorithm is a protocol error', () => {
  const sig = rsa.sign('rsa-sha2-512', text('d')) as Uint8Array;
  const response = AgentSignResponse.encode({ signature: sig });
  assert.deepEqual(signatureFromReply(response, 'rsa-sha2-512'), sig);
  assert.deepEqual(signatureFromReply(response, 'rsa-sha2-512-cert-v01@openssh.com'), sig);
  assert.throws(() => signatureFromReply(response, 'rsa-sha2-256'), (e: unknown) => e instanceof AgentError && e.problem === 'protocol' && /rsa-sha2-512 when asked for rsa-sha2-256/.test(e.message));
  assert.throws(() => signatureFromReply(AgentFailure.encode({}), 'ssh-ed25519'), (e: unknown) => e instanceof AgentError && e.problem === 'refused');
  assert.throws(() => identitiesFromReply(AgentSuccess.encode({})), (e: unknown) => e instanceof AgentError && e.problem === 'protocol');
  assert.throws(() => identitiesFromReply(bytes(12, 0, 0, 0, 9)), (e: unknown) => e instanceof AgentError && e.problem === 'protocol');
  assert.throws(() => expectSuccess(AgentFailure.encode({}), 'to lock'), /refused to lock/);
  assert.throws(() => expectSuccess(bytes(6, 0), 'x'), AgentError);
  assert.deepEqual(extensionReply(AgentSuccess.encode({}), 'e'), new Uint8Array(0));
  assert.deepEqual(extensionReply(AgentExtensionResponse.encode({ data: bytes(1) }), 'e'), bytes(1));
  assert.throws(() => extensionReply(bytes(MSG_AGENT.EXTENSION_FAILURE), 'e'), (e: unknown) => e instanceof AgentError && e.problem === 'refused');
});

test('fuzz: the decoders throw only ProtocolError, the reply checks only AgentError', () => {
  const isProtocol = (e: unknown) => e instanceof ProtocolError;
  const isAgent = (e: unknown) => e instanceof AgentError;
  const identities = AgentIdentitiesAnswer.encode({ keys: [{ key: ed.publicBlob, comment: 'one' }, { key: rsa.publicBlob, comment: 'two' }] });
  const adds = [generatePrivateKey('ssh-ed25519'), generatePrivateKey('ecdsa-sha2-nistp256')].map((k) => encodeAddIdentity({ ...agentKeyFields(k), comment: 'c', constraints: allConstraints }));
  const signResponse = AgentSignResponse.encode({ signature: ed.sign('ssh-ed25519', text('x')) as Uint8Array });
  let n = 0;
  n += fuzz('agent-identities', [identities], 2000, (b) => AgentIdentitiesAnswer.decode(b), isProtocol);
  n += fuzz('agent-add', adds, 3000, (b) => decodeAddIdentity(b), isProtocol);
  n += fuzz('agent-constraints', [encodeConstraints(allConstraints)], 3000, (b) => decodeConstraints(b), isProtocol);
  n += fuzz('agent-sign-request', [AgentSignRequest.encode({ key: ed.publicBlob, data: text('d'), flags: 0 })], 1000, (b) => AgentSignRequest.decode(b), isProtocol);
  n += fuzz('agent-session-bind', [SessionBind.encode({ hostKey: ed.publicBlob, sessionId: new Uint8Array(32), signature: signResponse.subarray(5), forwarding: false })], 1000, (b) => SessionBind.decode(b), isProtocol);
  n += fuzz('agent-replies', [identities, signResponse, AgentSuccess.encode({})], 3000, (b) => {
    for (const check of [() => identitiesFromReply(b), () => signatureFromReply(b, 'ssh-ed25519'), () => expectSuccess(b, 'x'), () => extensionReply(b, 'x')]) {
      try {
        check();
      } catch (e) {
        if (!isAgent(e)) throw e;
      }
    }
  }, () => false);
  assert.ok(n > 10_000);
});
