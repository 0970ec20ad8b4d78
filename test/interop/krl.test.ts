// KRLs against ssh-keygen: lists it writes with `ssh-keygen -k` (every kind of
// line, long ranges, bitmaps, many keys) give the same verdicts here as
// `ssh-keygen -Q` gives, for keys and for certificates `ssh-keygen -s` signed;
// lists Nacre writes get the same verdicts from `ssh-keygen -Q`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, keygen, tempDir } from './openssh.js';
import { formatOpenSshPublicKeyLine, generateHostKey, parseOpenSshPublicKeyLine } from '../../src/keys/index.js';
import { encodeKrl, parseKrl, type Krl } from '../../src/keys/krl.js';
import { isRevoked } from '../../src/keys/krl-check.js';
import { buildKrl, parseKrlSpec } from '../../src/keys/krl-spec.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const U64_MAX = 0xffff_ffff_ffff_ffffn;

let dir = '';
/** Files to check: plain keys and certificates, by path. */
const subjects: string[] = [];
let caPub = '';
let spec = '';
let wildSpec = '';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(openssh!.keygen, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function blobOf(path: string): Uint8Array {
  return parseOpenSshPublicKeyLine(readFileSync(path, 'utf8')).blob;
}

/** ssh-keygen -Q's verdict on every subject: true for REVOKED. */
function opensshVerdicts(krlPath: string): boolean[] {
  const r = run(['-Q', '-f', krlPath, ...subjects]);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, subjects.length, r.stdout);
  return lines.map((l, i) => {
    assert.ok(l.startsWith(subjects[i]!), l);
    return l.endsWith(': REVOKED');
  });
}

function ourVerdicts(krl: Krl): boolean[] {
  return subjects.map((s) => isRevoked(krl, blobOf(s)) !== null);
}

/** ssh-keygen -s signs copies of `key`.pub with serials from `first` (-z +N counts up). */
function signSerials(ca: string, key: string, tag: string, first: bigint, count: number, id: string): void {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = join(dir, `${tag}-${i}.pub`);
    copyFileSync(join(dir, `${key}.pub`), p);
    paths.push(p);
  }
  const r = run(['-q', '-s', join(dir, ca), '-I', id, '-z', `+${first}`, ...paths]);
  assert.equal(r.status, 0, r.stderr);
  for (const p of paths) subjects.push(p.replace(/\.pub$/, '-cert.pub'));
}

before(() => {
  if (!openssh) return;
  dir = tempDir('krl');
  keygen(openssh, dir, 'ed25519', 'ca');
  keygen(openssh, dir, 'ecdsa', 'ca2', 256);
  keygen(openssh, dir, 'ed25519', 'user');
  caPub = join(dir, 'ca.pub');
  // plain keys: 0-4 named in the spec by each kind of line, 5 not at all
  const plain = Array.from({ length: 6 }, (_, i) => {
    const k = generateHostKey(i === 1 ? 'ecdsa-sha2-nistp384' : 'ssh-ed25519');
    const p = join(dir, `plain-${i}.pub`);
    writeFileSync(p, formatOpenSshPublicKeyLine(k.publicBlob, `plain-${i}`) + '\n');
    subjects.push(p);
    return formatOpenSshPublicKeyLine(k.publicBlob, `plain-${i}`);
  });
  // many keys listed explicitly
  const many = Array.from({ length: 300 }, () => formatOpenSshPublicKeyLine(generateHostKey('ssh-ed25519').publicBlob));
  const lastOfMany = join(dir, 'many-last.pub');
  writeFileSync(lastOfMany, many[many.length - 1]! + '\n');
  subjects.push(lastOfMany);
  const userHash = run(['-l', '-f', join(dir, 'plain-3.pub')]).stdout.split(' ')[1]!;

  // certificates from ca: serials 1..40, around the ranges and bitmaps, at the top of the range
  signSerials('ca', 'user', 'low', 1n, 40, 'low');
  signSerials('ca', 'user', 'mid', 990n, 25, 'mid');
  signSerials('ca', 'user', 'top', U64_MAX - 2n, 3, 'top');
  signSerials('ca', 'user', 'idrev', 5000n, 1, 'revoked-id');
  signSerials('ca', 'user', 'zero', 0n, 1, 'zero-id');
  // certificates from ca2 (same serials, other CA), and its own revoked one
  signSerials('ca2', 'user', 'other', 1n, 12, 'other');
  signSerials('ca2', 'user', 'wild', 7000n, 1, 'wild-id');

  spec = [
    '# every kind of line ssh-keygen -k reads',
    'serial: 1',
    'serial: 3-5',
    // every other serial from 11 to 39: ssh-keygen writes these as a bitmap
    ...Array.from({ length: 15 }, (_, i) => `serial: ${11 + 2 * i}`),
    'serial: 0x3e8',
    'serial: 1002-1005',
    `serial: 1010-${U64_MAX - 2n}`,
    'id: revoked-id',
    'id: zero-id',
    `key: ${plain[0]}`,
    `sha1: ${plain[1]}`,
    `sha256: ${plain[2]}`,
    `hash: ${userHash}`,
    plain[4],
    ...many,
    readFileSync(join(dir, 'other-8-cert.pub'), 'utf8').trim(),
  ].join('\n');
  wildSpec = ['serial: 2', 'id: wild-id'].join('\n');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('KRLs written by ssh-keygen -k give the verdicts ssh-keygen -Q gives, and read back byte for byte', { skip }, () => {
  const specPath = join(dir, 'spec.txt');
  writeFileSync(specPath, spec + '\n');
  const krlPath = join(dir, 'openssh.krl');
  const r = run(['-q', '-k', '-f', krlPath, '-s', caPub, '-z', '7', specPath]);
  assert.equal(r.status, 0, r.stderr);
  const bytes = new Uint8Array(readFileSync(krlPath));
  const krl = parseKrl(bytes);
  assert.equal(krl.version, 7n);
  const kinds = new Set(krl.sections.flatMap((s) => (s.type === 'certificates' ? s.rules.map((x) => x.type) : [s.type])));
  for (const k of ['serial-list', 'serial-range', 'serial-bitmap', 'key-ids', 'explicit-keys', 'sha1', 'sha256']) assert.ok(kinds.has(k as never), `ssh-keygen wrote no ${k}`);
  const theirs = opensshVerdicts(krlPath);
  assert.ok(theirs.filter(Boolean).length > 10 && theirs.filter((v) => !v).length > 10, 'both verdicts occur');
  assert.deepEqual(ourVerdicts(krl), theirs);
  assert.deepEqual(encodeKrl(krl), bytes, 'sections are kept as written');

  // the wildcard CA (-s none), and ssh-keygen -u adding to a list
  const wildPath = join(dir, 'wild.txt');
  writeFileSync(wildPath, wildSpec + '\n');
  const wildKrl = join(dir, 'wild.krl');
  assert.equal(run(['-q', '-k', '-f', wildKrl, '-s', 'none', wildPath]).status, 0);
  const wild = opensshVerdicts(wildKrl);
  assert.deepEqual(ourVerdicts(parseKrl(readFileSync(wildKrl))), wild);
  assert.ok(wild.filter(Boolean).length >= 3);
  assert.equal(run(['-q', '-k', '-u', '-f', wildKrl, '-s', caPub, specPath]).status, 0);
  assert.deepEqual(ourVerdicts(parseKrl(readFileSync(wildKrl))), opensshVerdicts(wildKrl));
});

test('KRLs Nacre writes get the same verdicts from ssh-keygen -Q as ssh-keygen\'s own', { skip }, () => {
  const caKey = blobOf(caPub);
  const krl = buildKrl(parseKrlSpec(spec, { caKey }), { version: 7n, generatedDate: BigInt(Math.floor(Date.now() / 1000)) });
  assert.ok(krl.sections.some((s) => s.type === 'certificates' && s.rules.some((r) => r.type === 'serial-bitmap')), 'every other serial is written as a bitmap');
  const ours = join(dir, 'nacre.krl');
  writeFileSync(ours, encodeKrl(krl));
  const expected = opensshVerdicts(join(dir, 'openssh.krl'));
  assert.deepEqual(opensshVerdicts(ours), expected);
  assert.match(run(['-Q', '-l', '-f', ours]).stdout, /# KRL version 7/);

  // a hand-made bitmap and a range to the last serial, read by ssh-keygen
  const bitmap = buildKrl([], {
    base: {
      ...krl,
      sections: [{ type: 'certificates', caKey, reserved: new Uint8Array(0), rules: [
        { type: 'serial-bitmap', offset: 990n, bitmap: new Uint8Array([0x01, 0x00, 0x05]) }, // 990, 992, 1006
        { type: 'serial-range', min: U64_MAX - 1n, max: U64_MAX },
      ] }],
    },
  });
  writeFileSync(ours, encodeKrl(bitmap));
  const theirs = opensshVerdicts(ours);
  assert.deepEqual(ourVerdicts(bitmap), theirs);
  const revokedNames = subjects.filter((_, i) => theirs[i]).map((s) => s.replace(/^.*\//, ''));
  assert.deepEqual(revokedNames, ['mid-0-cert.pub', 'mid-2-cert.pub', 'mid-16-cert.pub', 'top-1-cert.pub', 'top-2-cert.pub']);

  // wildcard CA and an update of ssh-keygen's list
  const wild = buildKrl(parseKrlSpec(wildSpec, { caKey: null }));
  writeFileSync(ours, encodeKrl(wild));
  const wildVerdicts = opensshVerdicts(ours);
  assert.deepEqual(ourVerdicts(wild), wildVerdicts);
  const updated = buildKrl(parseKrlSpec(spec, { caKey }), { base: parseKrl(readFileSync(ours)) });
  writeFileSync(ours, encodeKrl(updated));
  assert.deepEqual(opensshVerdicts(ours), ourVerdicts(updated));
  assert.deepEqual(ourVerdicts(updated), expected.map((v, i) => v || wildVerdicts[i]!));
});
