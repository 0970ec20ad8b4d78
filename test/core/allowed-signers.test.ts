// allowed_signers (ssh-keygen(1) ALLOWED SIGNERS): parsing as sshsig.c does,
// the lookups behind -Y verify / find-principals / match-principals, and
// bad input. ssh-keygen's own verdicts are compared in test/interop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOpenSshPublicKeyLine, generateHostKey, signSshSignature, SshSignatureError } from '../../src/keys/index.js';
import {
  findAllowedSigner,
  findSignerPrincipals,
  matchSignerPatternList,
  matchSignerPrincipals,
  parseAllowedSignerOptions,
  parseAllowedSigners,
  verifyAllowedSshSignature,
  type SignerCertificateSupport,
} from '../../src/trust/index.js';
import { seededRandom } from '../../src/testing/random.js';

const alice = generateHostKey('ssh-ed25519');
const bob = generateHostKey('ecdsa-sha2-nistp256');
const ca = generateHostKey('ssh-ed25519');
const aliceKey = formatOpenSshPublicKeyLine(alice.publicBlob, 'alice laptop');
const bobKey = formatOpenSshPublicKeyLine(bob.publicBlob);
const caKey = formatOpenSshPublicKeyLine(ca.publicBlob);
const at = (iso: string) => new Date(iso);

test('principals, options and key; comments, blank lines and CRLF', () => {
  const text = [
    '# trusted signers',
    '',
    `alice@example.com,a@example.org ${aliceKey}`,
    `  bob@example.com NameSpaces="git,file",VALID-AFTER="20240101Z",valid-before="20250101000000Z" ${bobKey}\r`,
    `*@example.com cert-authority ${caKey}`,
  ].join('\n');
  const { entries, problems } = parseAllowedSigners(text, 'allowed');
  assert.deepEqual(problems, []);
  assert.equal(entries.length, 3);
  const [a, b, c] = entries as [(typeof entries)[0], (typeof entries)[0], (typeof entries)[0]];
  assert.equal(a.principals, 'alice@example.com,a@example.org');
  assert.equal(a.comment, 'alice laptop');
  assert.equal(a.line, 3);
  assert.equal(a.source, 'allowed');
  assert.equal(a.certAuthority, false);
  assert.equal(b.namespaces, 'git,file');
  assert.deepEqual(b.validAfter, at('2024-01-01T00:00:00Z'));
  assert.deepEqual(b.validBefore, at('2025-01-01T00:00:00Z'));
  assert.equal(b.keyType, 'ecdsa-sha2-nistp256');
  assert.equal(c.certAuthority, true);
});

test('a quoted principals field may hold blanks, as strdelimw reads it', () => {
  const { entries, problems } = parseAllowedSigners(`"Alice Liddell@example.com" ${aliceKey}\n"open ${aliceKey}`);
  assert.equal(entries[0]!.principals, 'Alice Liddell@example.com');
  assert.deepEqual(problems.map((p) => p.line), [2]);
});

test('bad lines are reported with their number and reason, and the rest still parse', () => {
  const lines = [
    `alice ${aliceKey}`,
    'lonely-principal',
    `p bogus-option ${aliceKey}`,
    `p namespaces=git ${aliceKey}`,
    `p namespaces="git" `,
    `p valid-after="2024" ${aliceKey}`,
    `p valid-after="20240101",valid-before="20230101" ${aliceKey}`,
    `p namespaces="a",namespaces="b" ${aliceKey}`,
    `p cert-authority, ${aliceKey}`,
    `p namespaces="unterminated ${aliceKey}`,
    `p ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==`,
    `p valid-before="19700101000000Z" ${aliceKey}`,
    `p cert-authorityx ${aliceKey}`,
  ];
  const { entries, problems } = parseAllowedSigners(lines.join('\n'));
  assert.equal(entries.length, 1);
  assert.deepEqual(
    problems.map((p) => p.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  );
  const reason = (n: number) => problems.find((p) => p.line === n)!.reason;
  assert.match(reason(2), /no key/);
  assert.match(reason(3), /unknown key option/);
  assert.match(reason(4), /missing start quote/);
  assert.match(reason(5), /missing key/);
  assert.match(reason(6), /invalid "valid-after" time/);
  assert.match(reason(7), /before "valid-after"/);
  assert.match(reason(8), /multiple "namespaces"/);
  assert.match(reason(9), /end-of-options/);
  assert.match(reason(11), /invalid key/);
  assert.match(reason(12), /invalid "valid-before" time/);
});

test('option parsing on its own', () => {
  assert.deepEqual(parseAllowedSignerOptions('cert-authority,namespaces="a\\"b"'), { certAuthority: true, namespaces: 'a"b', validAfter: undefined, validBefore: undefined });
  assert.equal(parseAllowedSignerOptions('namespaces="a"x'), 'unknown key option');
});

test('principal patterns are case-sensitive, take * and ?, and ! excludes', () => {
  assert.equal(matchSignerPatternList('alice@example.com', '*@example.com'), 1);
  assert.equal(matchSignerPatternList('Alice@example.com', 'alice@example.com'), 0);
  assert.equal(matchSignerPatternList('mallory@example.com', '*@example.com,!mallory@*'), -1);
  assert.equal(matchSignerPatternList('al@x', 'a?@x'), 1);
});

test('verify lookup: key, principal, namespace and validity window (both ends inclusive)', () => {
  const { entries } = parseAllowedSigners(
    [`alice@example.com ${aliceKey}`, `bob@example.com namespaces="git",valid-after="20240101Z",valid-before="20250101Z" ${bobKey}`].join('\n'),
  );
  const q = { publicKey: bob.publicBlob, principal: 'bob@example.com', namespace: 'git' };
  assert.equal(findAllowedSigner(entries, { ...q, time: at('2024-06-01T00:00:00Z') })?.entry.line, 2);
  assert.ok(findAllowedSigner(entries, { ...q, time: at('2024-01-01T00:00:00Z') }));
  assert.ok(findAllowedSigner(entries, { ...q, time: at('2025-01-01T00:00:00.999Z') }));
  assert.equal(findAllowedSigner(entries, { ...q, time: at('2023-12-31T23:59:59Z') }), undefined);
  assert.equal(findAllowedSigner(entries, { ...q, time: at('2025-01-01T00:00:01Z') }), undefined);
  assert.equal(findAllowedSigner(entries, { ...q, namespace: 'file', time: at('2024-06-01T00:00:00Z') }), undefined);
  assert.equal(findAllowedSigner(entries, { ...q, principal: 'alice@example.com', time: at('2024-06-01T00:00:00Z') }), undefined);
  assert.equal(findAllowedSigner(entries, { publicKey: alice.publicBlob, principal: 'alice@example.com', namespace: 'anything' })?.entry.line, 1);
});

test('find-principals: the first entry for the key, its principals split at commas, namespaces not checked', () => {
  const { entries } = parseAllowedSigners(
    [`a@x,b@y,,c@z namespaces="file" ${aliceKey}`, `later@x ${aliceKey}`, `bob@x valid-before="20200101Z" ${bobKey}`].join('\n'),
  );
  assert.deepEqual(findSignerPrincipals(entries, alice.publicBlob), ['a@x', 'b@y']);
  assert.deepEqual(findSignerPrincipals(entries, bob.publicBlob), []);
  assert.deepEqual(findSignerPrincipals(entries, bob.publicBlob, { time: at('2019-01-01T00:00:00Z') }), ['bob@x']);
  assert.deepEqual(matchSignerPrincipals(entries, 'later@x'), ['later@x']);
});

test('cert-authority lines never accept a plain key, and accept certificates through the hook', () => {
  const certBlob = new Uint8Array([9, 9, 9]);
  const hooks: SignerCertificateSupport = {
    signatureKey: (b) => (b === certBlob ? ca.publicBlob : undefined),
    refusal: (_b, time, principal) => (time.getTime() > Date.parse('2030-01-01T00:00:00Z') ? 'expired' : principal && principal !== 'alice@example.com' ? 'principal not in certificate' : undefined),
    principals: () => ['alice@example.com', 'root'],
  };
  const { entries } = parseAllowedSigners(`*@example.com cert-authority ${caKey}`);
  assert.equal(findAllowedSigner(entries, { publicKey: ca.publicBlob, principal: 'alice@example.com' }), undefined);
  assert.equal(findAllowedSigner(entries, { publicKey: certBlob, principal: 'alice@example.com' }), undefined, 'no hook, no certificates');
  const t = at('2026-01-01T00:00:00Z');
  assert.ok(findAllowedSigner(entries, { publicKey: certBlob, principal: 'alice@example.com', time: t, certificates: hooks }));
  assert.equal(findAllowedSigner(entries, { publicKey: certBlob, principal: 'bob@example.com', time: t, certificates: hooks }), undefined);
  assert.deepEqual(findSignerPrincipals(entries, certBlob, { time: t, certificates: hooks }), ['alice@example.com']);
  assert.deepEqual(findSignerPrincipals(entries, certBlob, { time: at('2031-01-01T00:00:00Z'), certificates: hooks }), []);
});

test('verifyAllowedSshSignature: a good signature from a listed signer, and each refusal', async () => {
  const { entries } = parseAllowedSigners(`alice@example.com namespaces="git" ${aliceKey}`);
  const data = new TextEncoder().encode('tree 1234\n');
  const sig = await signSshSignature(alice, data, { namespace: 'git' });
  const ok = verifyAllowedSshSignature(entries, sig, data, { namespace: 'git', principal: 'alice@example.com' });
  assert.equal(ok.entry.line, 1);
  assert.deepEqual(ok.principals, ['alice@example.com']);
  const problem = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof SshSignatureError);
      return e.problem;
    }
    return 'accepted';
  };
  assert.equal(problem(() => verifyAllowedSshSignature(entries, sig, data, { namespace: 'git', principal: 'eve@example.com' })), 'signer-not-allowed');
  assert.equal(problem(() => verifyAllowedSshSignature(entries, sig, data, { namespace: 'file', principal: 'alice@example.com' })), 'namespace-mismatch');
  assert.equal(problem(() => verifyAllowedSshSignature(entries, sig, new Uint8Array(1), { namespace: 'git', principal: 'alice@example.com' })), 'bad-signature');
  const fileSig = await signSshSignature(alice, data, { namespace: 'file' });
  assert.equal(problem(() => verifyAllowedSshSignature(entries, fileSig, data, { namespace: 'file', principal: 'alice@example.com' })), 'signer-not-allowed');
});

test('fuzz: random and corrupted allowed_signers text never throws and reports only numbered lines', () => {
  const rand = seededRandom('allowed-signers-fuzz');
  const base = [
    `alice@example.com,!bob@* namespaces="git,file",valid-after="20240101",valid-before="202501011200Z" ${aliceKey}`,
    `"quoted name" cert-authority ${caKey}`,
    `# comment`,
    `bob ${bobKey}`,
  ].join('\n');
  const alphabet = ' \t\n\r",=!*?#\\abcAZ019+/';
  for (let i = 0; i < 5000; i++) {
    const r = rand(4);
    let text: string;
    if (i % 5 === 0) {
      text = Array.from(rand(r[0]! % 200), (b) => alphabet[b % alphabet.length]).join('');
    } else {
      const chars = base.split('');
      const n = 1 + (r[1]! % 6);
      for (let k = 0; k < n; k++) {
        const p = rand(3);
        const pos = ((p[0]! << 8) | p[1]!) % chars.length;
        if (p[2]! % 3 === 0) chars.splice(pos, 1);
        else chars[pos] = alphabet[p[2]! % alphabet.length]!;
      }
      text = r[2]! % 4 === 0 ? chars.join('').slice(0, (r[3]! * 7) % chars.length) : chars.join('');
    }
    const lines = text.split('\n').length;
    const { entries, problems } = parseAllowedSigners(text);
    for (const p of problems) assert.ok(p.line >= 1 && p.line <= lines && p.reason.length > 0);
    for (const e of entries) findAllowedSigner([e], { publicKey: alice.publicBlob, principal: 'alice@example.com', namespace: 'git' });
  }
});
