// UpdateHostKeys' known_hosts edits (pure): which keys are new or deprecated,
// when ssh refuses to touch the files, and the rewrite keeping every other line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateHostKey, formatOpenSshPublicKeyLine } from '../../src/keys/index.js';
import { planHostKeyUpdate, replaceHostKeys } from '../../src/trust/host-key-update.js';
import { hashHostName } from '../../src/trust/index.js';
import { mutations } from './fuzz-helpers.js';

const [a, b, c, d] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-ed25519'].map((t) => generateHostKey(t as 'ssh-ed25519').publicBlob) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
const k = (blob: Uint8Array) => formatOpenSshPublicKeyLine(blob, '');

test('plan: new keys in the server order, known ones, deprecated lines with file and line; hashed names count', () => {
  const salt = new Uint8Array(20).fill(1);
  const files = [
    { path: 'one', text: `# c\n${hashHostName('h.example', salt)} ${k(a)}\nh.example ${k(c)}\n` },
    { path: 'two', text: `H.EXAMPLE,10.0.0.1 ${k(b)}\n` },
  ];
  const plan = planHostKeyUpdate(files, 'h.example', [d, a, b]);
  assert.equal(plan.skip, undefined);
  assert.deepEqual(plan.newKeys, [d]);
  assert.deepEqual(plan.knownKeys, [a, b]);
  assert.deepEqual(plan.deprecated, [{ file: 'one', line: 3, key: c }]);
  assert.equal(planHostKeyUpdate(files, 'h.example', [a, b, c]).skip, 'no new or deprecated keys');
});

test('plan: ssh leaves the files alone for markers, wildcards, long name lists, keys filed under other names', () => {
  const cases: [string, RegExp][] = [
    [`@cert-authority h.example ${k(d)}\n`, /@cert-authority line/],
    [`h.* ${k(a)}\n`, /wildcards or several names/],
    [`h.example,x,y ${k(a)}\n`, /wildcards or several names/],
    [`h.example ${k(a)}\nother.example ${k(b)}\n`, /also listed under another name \(f:2\)/],
    [`h.example ${k(c)}\nother.example ${k(c)}\n`, /deprecated ssh-ed25519 key is also listed under another name \(f:2\)/],
  ];
  for (const [text, why] of cases) assert.match(planHostKeyUpdate([{ path: 'f', text }], 'h.example', [a, b]).skip ?? '', why, text);
});

test('replace: keeps other lines byte for byte, drops the host\'s other keys, appends the missing ones (hashed on request)', () => {
  const text = `# keep me\r\nh.example ${k(a)} comment\n[h.example]:2222 ${k(c)}\nbroken line\n@revoked h.example ${k(d)}\nh.example ${k(c)}\n`;
  const r = replaceHostKeys(text, 'h.example', 22, 'h.example', [b, a]);
  assert.equal(r.text, `# keep me\r\nh.example ${k(a)} comment\n[h.example]:2222 ${k(c)}\nbroken line\n@revoked h.example ${k(d)}\nh.example ${k(b)}\n`);
  assert.deepEqual(r.removed, [c]);
  assert.deepEqual(r.added, [b]);
  const hashed = replaceHostKeys('', 'h.example', 2222, '[h.example]:2222', [a], { hash: true, salt: () => new Uint8Array(20).fill(2) });
  assert.equal(hashed.text, `${hashHostName('[h.example]:2222', new Uint8Array(20).fill(2))} ${k(a)}\n`);
  // no keys: only removal (the user's other files)
  assert.equal(replaceHostKeys(`h.example ${k(a)}\nx ${k(a)}\n`, 'h.example', 22, 'h.example', []).text, `x ${k(a)}\n`);
});

test('fuzz: mangled known_hosts text never makes the plan or the rewrite throw, and the rewrite keeps lines for other hosts', () => {
  const text = `# c\nh.example ${k(a)}\n@revoked other ${k(b)}\nother.example,10.0.0.1 ${k(c)}\n|1|AAAAAAAAAAAAAAAAAAAAAAAAAAA=|AAAAAAAAAAAAAAAAAAAAAAAAAAA= ${k(d)}\n`;
  let n = 0;
  for (const input of mutations('host-key-update', [new TextEncoder().encode(text)], 3000)) {
    n++;
    const mangled = Buffer.from(input).toString('latin1');
    planHostKeyUpdate([{ path: 'f', text: mangled }], 'h.example', [a, b]);
    const out = replaceHostKeys(mangled, 'h.example', 22, 'h.example', [b]).text;
    for (const line of mangled.split('\n')) if (line !== '' && !/h\.example/i.test(line)) assert.ok(out.includes(line));
  }
  assert.ok(n >= 3000);
});
