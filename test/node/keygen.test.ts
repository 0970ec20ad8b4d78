// nacre-keygen run in process (keygenMain with a fake CliIo): each mode's
// output, files and exit status, and the modes that wait for other modules
// saying so with exit 1 and writing nothing. Comparisons with the real
// ssh-keygen are in test/interop/keygen.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { rsaKeyPair } from '../core/rsa-key.js';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keygenMain } from '../../src/cli/keygen.js';
import { runMain } from '../../src/cli/common/io.js';
import { encodePublicKey, fingerprintSha256, formatOpenSshPublicKeyLine, loadPrivateKey } from '../../src/keys/index.js';
import { hashHostName } from '../../src/trust/index.js';
import { fakeIo, type FakeIo } from './cli-helpers.js';

let dir = '';
let keyPath = '';
let pubLine = '';
let fp = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nacre-keygen-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  keyPath = join(dir, 'id_ed25519');
  writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const blob = encodePublicKey(publicKey);
  pubLine = formatOpenSshPublicKeyLine(blob, 'me@example.com');
  fp = fingerprintSha256(blob);
  writeFileSync(keyPath + '.pub', pubLine + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], io: FakeIo = fakeIo()): Promise<{ code: number; out: string; err: string; io: FakeIo }> {
  const code = await runMain(keygenMain, args, io);
  return { code, out: io.stdout(), err: io.stderr(), io };
}

test('--help lists what is supported on stdout and exits 0; bad flags print the message and usage on stderr, exit 1', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /-Y sign/);
  assert.match(help.out, /Not yet:/);
  const bad = await run(['-x']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^unknown option -- x\nusage: nacre-keygen/);
  const noArg = await run(['-f']);
  assert.equal(noArg.code, 1);
  assert.match(noArg.err, /^option requires an argument -- f\n/);
  const extra = await run(['-l', '-f', keyPath, 'extra']);
  assert.equal(extra.code, 1);
  assert.match(extra.err, /^Too many arguments\.\nusage:/);
  const both = await run(['-l', '-R', 'h', '-f', 'x']);
  assert.equal(both.code, 1);
  assert.match(both.err, /^Cannot use -l with -H or -R\./);
  const op = await run(['-Y', 'bogus']);
  assert.equal(op.code, 1);
  assert.match(op.err, /^Unsupported operation for -Y: "bogus"\nusage:/);
});

test('-l prints bits, fingerprint, comment and type for a private key, a .pub and each line of a key list', async () => {
  const r = await run(['-l', '-f', keyPath]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `256 ${fp} me@example.com (ED25519)\n`);
  const pub = await run(['-l', '-f', keyPath + '.pub']);
  assert.equal(pub.out, r.out);
  const list = join(dir, 'list');
  const rsa = encodePublicKey(rsaKeyPair(2048).publicKey);
  writeFileSync(list, `# keys\nhost1,host2 ${pubLine.replace(/ me@example.com$/, '')}\ncommand="x" ${formatOpenSshPublicKeyLine(rsa, 'r')}\nnot a key\n`);
  const many = await run(['-l', '-f', list]);
  assert.equal(many.out, `256 ${fp} host1,host2 (ED25519)\n2048 ${fingerprintSha256(rsa)} r (RSA)\n`);
  const sha512 = await run(['-l', '-E', 'sha512', '-f', keyPath + '.pub']);
  assert.match(sha512.out, /^256 SHA512:[A-Za-z0-9+/]{86} me@example.com \(ED25519\)\n$/);
  const junk = join(dir, 'junk');
  writeFileSync(junk, 'nothing here\n');
  const none = await run(['-l', '-f', junk]);
  assert.equal(none.code, 255);
  assert.equal(none.err, `${junk} is not a public key file.\n`);
  const badHash = await run(['-l', '-E', 'sha3', '-f', keyPath]);
  assert.equal(badHash.code, 255);
  assert.equal(badHash.err, 'Invalid hash algorithm "sha3"\n');
});

test('-y prints the public key; an encrypted key takes -P or asks on the terminal; a wrong one is fatal', async () => {
  const r = await run(['-y', '-f', keyPath]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, pubLine.replace(/ me@example.com$/, '') + '\n', 'PKCS#8 files hold no comment');
  const enc = join(dir, 'enc');
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(enc, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }), { mode: 0o600 });
  const withP = await run(['-y', '-P', 'pw', '-f', enc]);
  assert.equal(withP.code, 0, withP.err);
  const asked = await run(['-y', '-f', enc], fakeIo({ passphrases: ['pw'] }));
  assert.equal(asked.code, 0, asked.err);
  assert.deepEqual(asked.io.passphrasePrompts, [`Enter passphrase for "${enc}": `]);
  assert.equal(asked.out, withP.out);
  const wrong = await run(['-y', '-P', 'nope', '-f', enc]);
  assert.equal(wrong.code, 255);
  assert.equal(wrong.err, `Load key "${enc}": incorrect passphrase supplied to decrypt private key\n`);
  const missing = await run(['-y', '-f', join(dir, 'none')]);
  assert.equal(missing.code, 255);
  assert.equal(missing.err, `${join(dir, 'none')}: No such file or directory\n`);
});

test('-Y sign writes <file>.sig, -Y verify / check-novalidate / find-principals / match-principals read it', async () => {
  const data = join(dir, 'data');
  writeFileSync(data, 'hello\n');
  const signed = await run(['-Y', 'sign', '-n', 'file', '-f', keyPath, data]);
  assert.equal(signed.code, 0, signed.err);
  assert.equal(signed.err, `Signing file ${data}\nWrite signature to ${data}.sig\n`);
  assert.match(readFileSync(data + '.sig', 'utf8'), /^-----BEGIN SSH SIGNATURE-----\n/);
  const allowed = join(dir, 'allowed');
  writeFileSync(allowed, `me@example.com namespaces="file" ${pubLine}\n`);
  const v = await run(['-Y', 'verify', '-n', 'file', '-f', allowed, '-I', 'me@example.com', '-s', data + '.sig'], fakeIo({ stdin: 'hello\n' }));
  assert.equal(v.code, 0, v.err);
  assert.equal(v.out, `Good "file" signature for me@example.com with ED25519 key ${fp}\n`);
  const tampered = await run(['-Y', 'verify', '-n', 'file', '-f', allowed, '-I', 'me@example.com', '-s', data + '.sig'], fakeIo({ stdin: 'hellO\n' }));
  assert.equal(tampered.code, 255);
  assert.equal(tampered.out, 'Could not verify signature.\n');
  const other = await run(['-Y', 'verify', '-n', 'file', '-f', allowed, '-I', 'you@example.com', '-s', data + '.sig'], fakeIo({ stdin: 'hello\n' }));
  assert.equal(other.code, 255);
  assert.equal(other.err, '', 'an unlisted signer is only "Could not verify", as ssh-keygen');
  const ns = await run(['-Y', 'verify', '-n', 'git', '-f', allowed, '-I', 'me@example.com', '-s', data + '.sig'], fakeIo({ stdin: 'hello\n' }));
  assert.equal(ns.code, 255);
  assert.equal(ns.err, "Couldn't verify signature: namespace does not match\n");
  const check = await run(['-Y', 'check-novalidate', '-n', 'file', '-s', data + '.sig', ''], fakeIo({ stdin: 'hello\n' }));
  assert.equal(check.out, `Good "file" signature with ED25519 key ${fp}\n`);
  const pk = await run(['-Y', 'check-novalidate', '-n', 'file', '-s', data + '.sig', '-Oprint-pubkey'], fakeIo({ stdin: 'hello\n' }));
  assert.equal(pk.out.split('\n')[1], pubLine.replace(/ me@example.com$/, ''));
  const find = await run(['-Y', 'find-principals', '-f', allowed, '-s', data + '.sig', '']);
  assert.equal(find.code, 0, find.err);
  assert.equal(find.out, 'me@example.com\n');
  const late = await run(['-Y', 'find-principals', '-f', allowed, '-s', data + '.sig', '-Overify-time=20200101']);
  assert.equal(late.code, 0);
  const match = await run(['-Y', 'match-principals', '-f', allowed, '-I', 'me@example.com']);
  assert.equal(match.out, 'me@example.com\n');
  const noMatch = await run(['-Y', 'match-principals', '-f', allowed, '-I', 'x']);
  assert.equal(noMatch.code, 210);
  assert.equal(noMatch.err, 'No principal matched.\n');
  // Overwriting the .sig asks first; "n" keeps the old one.
  const before = readFileSync(data + '.sig', 'utf8');
  const kept = await run(['-Y', 'sign', '-n', 'other', '-f', keyPath, data], fakeIo({ lines: ['n'] }));
  assert.equal(kept.code, 0);
  assert.equal(kept.out, `${data}.sig already exists.\nOverwrite (y/n)? `);
  assert.equal(readFileSync(data + '.sig', 'utf8'), before);
});

test('-Y sign -f key.pub signs with the private key beside it, and refuses a .pub that is not its pair', async () => {
  const data = join(dir, 'data-pub');
  writeFileSync(data, 'x');
  const r = await run(['-Y', 'sign', '-n', 'git', '-f', keyPath + '.pub', data]);
  assert.equal(r.code, 0, r.err);
  const check = await run(['-Y', 'check-novalidate', '-n', 'git', '-s', data + '.sig'], fakeIo({ stdin: 'x' }));
  assert.equal(check.out, `Good "git" signature with ED25519 key ${fp}\n`);
  const other = join(dir, 'other');
  writeFileSync(other, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(other + '.pub', pubLine + '\n');
  const mismatch = await run(['-Y', 'sign', '-n', 'git', '-f', other + '.pub', data], fakeIo({ lines: ['y'] }));
  assert.equal(mismatch.code, 255);
  assert.equal(mismatch.err, `Public key ${other}.pub doesn't match private ${other}\n`);
  const lonely = join(dir, 'lonely.pub');
  writeFileSync(lonely, pubLine + '\n');
  const noPrivate = await run(['-Y', 'sign', '-n', 'git', '-f', lonely, data]);
  assert.equal(noPrivate.code, 255);
  assert.equal(noPrivate.err, `No private key found for public key "${lonely}"\n`);
});

test('-Y sign from standard input writes the signature to stdout; bad calls fail as ssh-keygen', async () => {
  const r = await run(['-Y', 'sign', '-n', 'file', '-f', keyPath], fakeIo({ stdin: 'x' }));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^-----BEGIN SSH SIGNATURE-----\n[\s\S]*-----END SSH SIGNATURE-----\n$/);
  assert.equal(r.err, 'Signing data on standard input\n');
  assert.equal((await run(['-Y', 'sign', '-f', keyPath, 'x'])).code, 1);
  assert.equal((await run(['-Y', 'sign', '-n', 'file', 'x'])).err, 'Too few arguments for sign: missing key\n');
  const badOpt = await run(['-Y', 'sign', '-n', 'file', '-f', keyPath, '-Ofoo', 'x']);
  assert.equal(badOpt.code, 255);
  assert.equal(badOpt.err, 'Invalid option "foo"\n');
  const noFile = await run(['-Y', 'sign', '-n', 'file', '-f', keyPath, join(dir, 'absent')]);
  assert.equal(noFile.code, 255);
  assert.match(noFile.err, /Cannot open .*absent for signing: No such file or directory/);
  const noKey = await run(['-Y', 'sign', '-n', 'file', '-f', join(dir, 'nokey'), 'x']);
  assert.equal(noKey.code, 255);
  assert.equal(noKey.err, `Couldn't load public key ${join(dir, 'nokey')}: No such file or directory\n`);
  const mix = await run(['-Y', 'sign', '-n', 'file', '-f', keyPath, '-', 'x']);
  assert.equal(mix.code, 255);
  assert.equal(mix.err, 'Cannot sign mix of paths and standard input\n');
  const time = await run(['-Y', 'verify', '-n', 'file', '-f', 'a', '-I', 'p', '-s', 's', '-Overify-time=bad']);
  assert.equal(time.code, 255);
  assert.equal(time.err, 'Invalid "verify-time" option\n');
  assert.equal(time.out, 'Could not verify signature.\n');
  const nosig = await run(['-Y', 'find-principals', '-f', 'a', '-s', join(dir, 'nosig')]);
  assert.equal(nosig.code, 255);
  assert.equal(nosig.err, "Couldn't read signature file: No such file or directory\nNo principal matched.\n");
});

function knownHosts(): string {
  const file = join(dir, `known_hosts_${Math.random().toString(16).slice(2)}`);
  const key = pubLine.replace(/ me@example.com$/, '');
  writeFileSync(file, `# mine\nfoo,bar ${key}\n[foo]:2222 ${key}\n@cert-authority *.x ${key}\nbaz ${key} c\n`, { mode: 0o640 });
  return file;
}

test('-F finds a host with ssh-keygen\'s "# Host" lines (fingerprints with -l, hashed with -H); not found exits 1', async () => {
  const file = knownHosts();
  const key = pubLine.replace(/ me@example.com$/, '');
  const r = await run(['-F', 'foo', '-f', file]);
  assert.equal(r.code, 0);
  assert.equal(r.out, `# Host foo found: line 2 \nfoo,bar ${key}\n`);
  const l = await run(['-F', 'bar', '-l', '-f', file]);
  assert.equal(l.out, `# Host bar found: line 2 \nbar ED25519 ${fp}\n`);
  const ca = await run(['-F', 'a.x', '-f', file]);
  assert.equal(ca.out, `# Host a.x found: line 4 CA\n@cert-authority *.x ${key}\n`);
  const h = await run(['-F', 'foo', '-H', '-f', file]);
  const lines = h.out.split('\n');
  assert.equal(lines[0], '# Host foo found: line 2 ');
  const salt = (field: string) => new Uint8Array(Buffer.from(field.split('|')[2]!, 'base64'));
  const f1 = lines[1]!.split(' ')[0]!;
  const f2 = lines[2]!.split(' ')[0]!;
  assert.equal(f1, hashHostName('foo', salt(f1)));
  assert.equal(f2, hashHostName('bar', salt(f2)));
  const q = await run(['-F', 'foo', '-q', '-f', file]);
  assert.equal(q.out, `foo,bar ${key}\n`);
  const none = await run(['-F', 'nope', '-f', file]);
  assert.equal(none.code, 1);
  assert.equal(none.out, '');
  const missing = await run(['-F', 'foo', '-f', join(dir, 'no_such')]);
  assert.equal(missing.code, 255);
  assert.equal(missing.err, `Cannot stat ${join(dir, 'no_such')}: No such file or directory\n`);
});

test('-R removes the host, keeps the old file as .old and the mode; not found changes nothing; invalid files are not replaced', async () => {
  const file = knownHosts();
  const original = readFileSync(file, 'utf8');
  const r = await run(['-R', 'foo', '-f', file]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `# Host foo found: line 2\n${file} updated.\nOriginal contents retained as ${file}.old\n`);
  assert.equal(readFileSync(file + '.old', 'utf8'), original);
  assert.equal(readFileSync(file, 'utf8'), original.split('\n').filter((_, i) => i !== 1).join('\n'));
  assert.equal(statSync(file).mode & 0o777, 0o640);
  const again = await run(['-R', 'foo', '-f', file]);
  assert.equal(again.code, 0);
  assert.equal(again.err, `Host foo not found in ${file}\n`);
  const bad = knownHosts();
  writeFileSync(bad, readFileSync(bad, 'utf8') + 'garbage\n');
  const before = readFileSync(bad, 'utf8');
  const refused = await run(['-R', 'foo', '-f', bad]);
  assert.equal(refused.code, 1);
  assert.equal(refused.err, `${bad}:6: invalid line\n${bad} is not a valid known_hosts file.\nNot replacing existing known_hosts file because of errors\n`);
  assert.equal(readFileSync(bad, 'utf8'), before);
  assert.ok(!existsSync(bad + '.old'));
});

test('-R and -H on a symlinked known_hosts: the link stays, its target is edited, .old holds the old contents (a copy across file systems)', async () => {
  // A dotfile manager's layout: the name is a symlink to the real file.
  const real = knownHosts();
  const original = readFileSync(real, 'utf8');
  const link = join(dir, `kh_link_${Math.random().toString(16).slice(2)}`);
  symlinkSync(real, link);
  const r = await run(['-R', 'foo', '-f', link]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `# Host foo found: line 2\n${link} updated.\nOriginal contents retained as ${link}.old\n`);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readlinkSync(link), real);
  assert.ok(!readFileSync(real, 'utf8').includes('foo,bar'));
  assert.ok(!lstatSync(`${link}.old`).isSymbolicLink());
  assert.equal(readFileSync(`${link}.old`, 'utf8'), original);
  const hashed = await run(['-H', '-f', link]);
  assert.equal(hashed.code, 0, hashed.err);
  assert.ok(readFileSync(`${link}.old`, 'utf8').includes('baz '), 'the .old of -H is the unhashed file');
  assert.ok(!readFileSync(real, 'utf8').includes('baz '));
  // The target on another file system (tmpfs /dev/shm where it is one): link(2) fails with EXDEV, a copy is kept.
  let other: string;
  try {
    other = mkdtempSync('/dev/shm/nacre-keygen-');
  } catch {
    return;
  }
  try {
    if (statSync(other).dev === statSync(dir).dev) return;
    const far = join(other, 'known_hosts');
    writeFileSync(far, original, { mode: 0o600 });
    const farLink = join(dir, `kh_far_${Math.random().toString(16).slice(2)}`);
    symlinkSync(far, farLink);
    const x = await run(['-R', 'foo', '-f', farLink]);
    assert.equal(x.code, 0, x.err);
    assert.equal(readFileSync(`${farLink}.old`, 'utf8'), original);
    assert.ok(!readFileSync(far, 'utf8').includes('foo,bar'));
    assert.ok(lstatSync(farLink).isSymbolicLink());
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('-H hashes every plain name, warns about wildcards and the unhashed .old, and keeps comments and markers', async () => {
  const file = knownHosts();
  const r = await run(['-H', '-f', file]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `${file} updated.\nOriginal contents retained as ${file}.old\n`);
  assert.equal(r.err, `${file}:4: ignoring host name with wildcard: *.x\nWARNING: ${file}.old contains unhashed entries\nDelete this file to ensure privacy of hostnames\n`);
  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines[0], '# mine');
  assert.equal(lines.filter((l) => l.startsWith('|1|')).length, 4);
  assert.ok(lines.includes(`@cert-authority *.x ${pubLine.replace(/ me@example.com$/, '')}`));
  const found = await run(['-F', '[foo]:2222', '-f', file]);
  assert.equal(found.code, 0);
});

test('modes still waiting for other modules say "not supported yet", exit 1 and print nothing', async () => {
  for (const [args, what] of [
    [['-Y', 'sign', '-U', '-n', 'git', '-f', keyPath, 'x'], 'signing with a key in ssh-agent (-U)'],
    [['-B', '-f', keyPath], 'bubblebabble digests (-B)'],
  ] as const) {
    const r = await run([...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.err, `nacre-keygen: ${what} is not supported yet\n`);
    assert.equal(r.out, '');
  }
});

test('generation writes the key 0600 and the .pub 0644, with the passphrase asked twice; nothing written on a bad -m', async () => {
  const target = join(dir, 'newkey');
  const gen = await run(['-q', '-t', 'ed25519', '-N', '', '-C', 'c1', '-f', target]);
  assert.equal(gen.code, 0, gen.err);
  assert.equal(statSync(target).mode & 0o777, 0o600);
  assert.equal(statSync(target + '.pub').mode & 0o777, 0o644);
  assert.match(readFileSync(target, 'utf8'), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
  assert.match(readFileSync(target + '.pub', 'utf8'), /^ssh-ed25519 \S+ c1\n$/);
  const bad = await run(['-q', '-t', 'ecdsa', '-m', 'JKS', '-N', '', '-f', join(dir, 'never')]);
  assert.equal(bad.code, 255);
  assert.equal(bad.err, 'Unsupported conversion format "JKS"\n');
  assert.ok(!existsSync(join(dir, 'never')));
});

test('generation checks type and size first and asks before overwriting, as ssh-keygen', async () => {
  const bad = await run(['-t', 'dsa', '-f', join(dir, 'k')]);
  assert.equal(bad.code, 255);
  assert.equal(bad.err, 'unknown key type dsa\n');
  const ec = await run(['-t', 'ecdsa', '-b', '300', '-f', join(dir, 'k')]);
  assert.equal(ec.err, 'Invalid ECDSA key length: valid lengths are 256, 384 or 521 bits\n');
  const rsa = await run(['-t', 'rsa', '-b', '512', '-f', join(dir, 'k')]);
  assert.equal(rsa.err, 'Invalid RSA key length: minimum is 1024 bits\n');
  const no = await run(['-t', 'ed25519', '-f', keyPath], fakeIo({ lines: ['n'] }));
  assert.equal(no.code, 1);
  assert.equal(no.out, `Generating public/private ed25519 key pair.\n${keyPath} already exists.\nOverwrite (y/n)? `);
  const asked = await run(['-t', 'ed25519', '-f', join(dir, 'k2')], fakeIo({ passphrases: ['a', 'b', 'c', 'c'] }));
  assert.equal(asked.err, 'Passphrases do not match.  Try again.\n');
  assert.equal(asked.code, 0);
  assert.equal(loadPrivateKey(readFileSync(join(dir, 'k2')), 'c').keyType, 'ssh-ed25519');
  assert.equal(asked.io.passphrasePrompts.length, 4);
  assert.equal(asked.io.passphrasePrompts[0], `Enter passphrase for "${join(dir, 'k2')}" (empty for no passphrase): `);
});

test('-p asks the old passphrase and the new one twice; a mismatch exits 1 and leaves the file as it was', async () => {
  const target = join(dir, 'pkey');
  assert.equal((await run(['-q', '-t', 'ed25519', '-N', 'old', '-C', 'pc', '-f', target])).code, 0);
  const before = readFileSync(target, 'utf8');
  const mismatch = await run(['-p', '-f', target], fakeIo({ passphrases: ['old', 'a', 'b'] }));
  assert.equal(mismatch.code, 1);
  assert.equal(mismatch.out, "Key has comment 'pc'\nPass phrases do not match.  Try again.\n");
  assert.equal(readFileSync(target, 'utf8'), before);
  const ok = await run(['-p', '-f', target], fakeIo({ passphrases: ['old', 'new', 'new'] }));
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(ok.io.passphrasePrompts, ['Enter old passphrase: ', 'Enter new passphrase (empty for no passphrase): ', 'Enter same passphrase again: ']);
  assert.equal(loadPrivateKey(readFileSync(target), 'new').comment, 'pc');
  const wrong = await run(['-p', '-P', 'old', '-N', 'x', '-f', target]);
  assert.equal(wrong.code, 255);
  assert.equal(wrong.err, `Failed to load key ${target}: incorrect passphrase supplied to decrypt private key\n`);
  const comment = await run(['-c', '-P', 'new', '-f', target], fakeIo({ lines: ['from stdin'] }));
  assert.equal(comment.out, 'Old comment: pc\nNew comment: Comment \'from stdin\' applied\n');
  assert.match(readFileSync(target + '.pub', 'utf8'), / from stdin\n$/);
  const bad = await run(['-i', '-f', target + '.pub']);
  assert.equal(bad.code, 255);
});

test('-V parses as ssh-keygen: relative, absolute (local or Z), always/forever; bad specs fatal', async () => {
  const { parseValidity, convtime, FOREVER } = await import('../../src/cli/keygen/validity.js');
  const { CliExit } = await import('../../src/cli/common/exit.js');
  const now = 1_800_000_030;
  assert.equal(convtime('1h30m'), 5400);
  assert.equal(convtime('90'), 90);
  assert.equal(convtime('2W'), 1209600);
  for (const bad of ['', 'x', '1y', '1h-', '99999999999999w']) assert.equal(convtime(bad), null, bad);
  assert.deepEqual(parseValidity('always:forever', now), [0n, FOREVER]);
  assert.deepEqual(parseValidity('+52w', now), [BigInt(Math.floor((now - 59) / 60) * 60), BigInt(now + 52 * 604800)]);
  assert.deepEqual(parseValidity('-1d:+1w', now), [BigInt(now - 86400), BigInt(now + 604800)]);
  assert.deepEqual(parseValidity('20260101Z:20270101000000Z', now), [1767225600n, 1798761600n]);
  for (const bad of ['+1x', ':+1d', '+1d:', '20261301:forever', '20260230:forever', '20270101Z:20260101Z', 'always:always', 'soon']) {
    assert.throws(() => parseValidity(bad, now), (e: unknown) => e instanceof CliExit && e.code === 255, bad);
  }
});

test('-p -m PPK rewrites a key as PuTTY v3 in place; -y and -l read it back', async () => {
  const target = join(dir, 'toppk');
  assert.equal((await run(['-q', '-t', 'ecdsa', '-N', '', '-C', 'pk', '-f', target])).code, 0);
  const pub = readFileSync(target + '.pub', 'utf8');
  const r = await run(['-p', '-N', 'pw', '-m', 'PPK', '-f', target]);
  assert.equal(r.code, 0, r.err);
  assert.match(readFileSync(target, 'utf8'), /^PuTTY-User-Key-File-3: ecdsa-sha2-nistp256\nEncryption: aes256-cbc\n/);
  assert.equal((await run(['-y', '-P', 'pw', '-f', target])).out, pub);
  assert.equal((await run(['-p', '-P', 'pw', '-N', '', '-m', 'PPK', '-f', target])).code, 0);
  assert.match(readFileSync(target, 'utf8'), /^PuTTY-User-Key-File-3: ecdsa-sha2-nistp256\nEncryption: none\n/);
  rmSync(target + '.pub');
  const l = await run(['-l', '-f', target]);
  assert.equal(l.code, 0, l.err);
  assert.match(l.out, /^256 SHA256:\S+ pk \(ECDSA\)\n$/);
});

