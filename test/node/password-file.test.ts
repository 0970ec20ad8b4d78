// Password files on disk: the same work for every refusal (counted scrypt
// calls and their parameters), re-reading on change, permissions, atomic
// updates that never truncate, the authenticator in a server, and
// `nacred passwd` run in process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import type { ScryptParams } from '../../src/config/password-file.js';
import {
  PasswordFile,
  hashPassword,
  nodeScrypt,
  passwordFileAuthenticator,
  setPasswordInFile,
  deletePasswordFromFile,
  type ScryptFunction,
} from '../../src/server/password-file.js';
import { runPasswd } from '../../src/cli/sshd/passwd.js';
import { fakeIo } from './cli-helpers.js';
import { startServer } from './server-helpers.js';

/** Cheap parameters: tests are about the work done, not its cost. */
const CHEAP: ScryptParams = { log2N: 10, r: 8, p: 1 };

function tempFile(name = 'passwd'): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-passwd-'));
  return { dir, path: join(dir, name) };
}

/** nodeScrypt, recording the parameters and key length of each call. */
function countingScrypt(): { scrypt: ScryptFunction; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    scrypt: (password, salt, keyLength, params) => {
      calls.push(`ln=${params.log2N},r=${params.r},p=${params.p},salt=${salt.length},key=${keyLength}`);
      return nodeScrypt(password, salt, keyLength, params);
    },
  };
}

test('every refusal does the same work: one scrypt with the file\'s parameters, for known, unknown and malformed users', async () => {
  const { dir, path } = tempFile();
  try {
    const alice = await hashPassword('right', CHEAP);
    writeFileSync(path, `# users\nalice:${alice}\nbob:$scrypt$ln=10,r=8,p=1$short$x\n`, { mode: 0o600 });
    const { scrypt, calls } = countingScrypt();
    const warnings: string[] = [];
    const file = new PasswordFile(path, { scrypt, minimumDelayMs: 0, onWarning: (w) => warnings.push(w) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /passwd line 3: bob: salt/);
    assert.deepEqual(file.users, ['alice']);
    assert.equal(await file.verify('alice', 'right'), true);
    assert.equal(await file.verify('alice', 'wrong'), false);
    assert.equal(await file.verify('nobody', 'wrong'), false);
    assert.equal(await file.verify('bob', 'anything'), false);
    assert.equal(calls.length, 4, 'one scrypt per check');
    assert.equal(new Set(calls).size, 1, `all the same parameters: ${calls.join(' | ')}`);
    assert.equal(calls[0], 'ln=10,r=8,p=1,salt=16,key=32');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing, unsafe or empty file refuses everyone at the same cost, with a warning', async () => {
  const { dir, path } = tempFile();
  try {
    const { scrypt, calls } = countingScrypt();
    const warnings: string[] = [];
    const file = new PasswordFile(path, { scrypt, minimumDelayMs: 0, onWarning: (w) => warnings.push(w) });
    assert.match(warnings[0]!, /cannot read .*ENOENT.*every password is refused/);
    assert.equal(await file.verify('alice', 'right'), false);
    writeFileSync(path, `alice:${await hashPassword('right', CHEAP)}\n`, { mode: 0o600 });
    assert.equal(await file.verify('alice', 'right'), true, 're-read once it exists');
    chmodSync(path, 0o620);
    assert.equal(await file.verify('alice', 'right'), false, 'group-writable: not used');
    assert.match(warnings.at(-1)!, /writable by group or others \(mode 620\); not used/);
    chmodSync(path, 0o644);
    assert.equal(await file.verify('alice', 'right'), true, 'world-readable is used');
    assert.match(warnings.at(-1)!, /readable by everyone/);
    assert.equal(calls.length, 4);
    assert.equal(calls[0], 'ln=15,r=8,p=1,salt=16,key=32', 'with no entries, the dummy has the defaults');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('changes are picked up: a new user, a changed password, a deleted user', async () => {
  const { dir, path } = tempFile();
  try {
    await setPasswordInFile(path, 'alice', 'one', { params: CHEAP });
    assert.equal(statSync(path).mode & 0o777, 0o600, 'created 0600');
    const file = new PasswordFile(path, { minimumDelayMs: 0 });
    assert.equal(await file.verify('alice', 'one'), true);
    await setPasswordInFile(path, 'alice', 'two', { params: CHEAP });
    await setPasswordInFile(path, 'carol', 'three', { params: CHEAP });
    assert.equal(await file.verify('alice', 'one'), false);
    assert.equal(await file.verify('alice', 'two'), true);
    assert.equal(await file.verify('carol', 'three'), true);
    assert.equal(deletePasswordFromFile(path, 'alice'), true);
    assert.equal(deletePasswordFromFile(path, 'alice'), false);
    assert.equal(await file.verify('alice', 'two'), false);
    assert.deepEqual(file.users, ['carol']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a refusal waits out the minimum delay; a success does not', async () => {
  const { dir, path } = tempFile();
  try {
    await setPasswordInFile(path, 'alice', 'right', { params: CHEAP });
    const file = new PasswordFile(path, { minimumDelayMs: 300 });
    let t = performance.now();
    assert.equal(await file.verify('nobody', 'x'), false);
    assert.ok(performance.now() - t >= 290, 'unknown user');
    t = performance.now();
    assert.equal(await file.verify('alice', 'x'), false);
    assert.ok(performance.now() - t >= 290, 'wrong password');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('updates refuse a malformed file (naming file and line) and leave it whole', async () => {
  const { dir, path } = tempFile();
  try {
    const text = `alice:${await hashPassword('x', CHEAP)}\nbroken line\n`;
    writeFileSync(path, text, { mode: 0o600 });
    await assert.rejects(setPasswordInFile(path, 'bob', 'y', { params: CHEAP }), (e: unknown) => e instanceof ConfigError && e.line === 2 && e.file === path);
    assert.throws(() => deletePasswordFromFile(path, 'alice'), ConfigError);
    assert.equal(readFileSync(path, 'utf8'), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the authenticator in a server: right password in, wrong and unknown out, other methods refused', async () => {
  const { dir, path } = tempFile();
  try {
    await setPasswordInFile(path, 'alice', 'right', { params: CHEAP });
    const t = await startServer({ authenticate: passwordFileAuthenticator(path, { minimumDelayMs: 0 }) });
    try {
      const c = await t.connect({ username: 'alice', password: 'right' });
      await c.close();
      await assert.rejects(t.connect({ username: 'alice', password: 'wrong' }));
      await assert.rejects(t.connect({ username: 'mallory', password: 'right' }));
    } finally {
      await t.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nacred passwd: set twice-asked, --stdin-like -s, mismatch, delete, bad file, usage', async () => {
  const { dir, path } = tempFile('sub/passwd');
  try {
    const params = { params: CHEAP };
    let io = fakeIo({ passphrases: ['pw1', 'pw1'] });
    assert.equal(await runPasswd(['-f', path, 'alice'], io, params), 0, io.stderr());
    assert.deepEqual(io.passphrasePrompts, ['New password for alice: ', 'Retype new password: ']);
    assert.match(io.stdout(), /Password of alice set in/);
    const file = new PasswordFile(path, { minimumDelayMs: 0 });
    assert.equal(await file.verify('alice', 'pw1'), true);

    chmodSync(path, 0o644);
    io = fakeIo({ lines: ['pw1'] });
    assert.equal(await runPasswd(['-s', '-f', path, 'alice'], io, params), 0);
    assert.match(io.stderr(), /warning: .* is readable by everyone \(mode 644\)/);
    chmodSync(path, 0o664);
    io = fakeIo({ lines: ['pw1'] });
    assert.equal(await runPasswd(['-s', '-f', path, 'alice'], io, params), 0);
    assert.match(io.stderr(), /writable by group or others \(mode 664\); nacred will not use it/);
    chmodSync(path, 0o600);

    io = fakeIo({ passphrases: ['a', 'b'] });
    assert.equal(await runPasswd(['-f', path, 'alice'], io, params), 1);
    assert.match(io.stderr(), /passwords do not match; nothing changed/);
    assert.equal(await file.verify('alice', 'pw1'), true);

    io = fakeIo({ passphrases: [''] });
    assert.equal(await runPasswd(['-f', path, 'alice'], io, params), 1);
    assert.match(io.stderr(), /empty password/);

    io = fakeIo({ lines: ['from-stdin\r'] });
    assert.equal(await runPasswd(['-s', '-f', path, 'bob'], io, params), 0, io.stderr());
    assert.equal(await file.verify('bob', 'from-stdin'), true);
    io = fakeIo({ lines: [] });
    assert.equal(await runPasswd(['-s', '-f', path, 'bob'], io, params), 1);
    assert.match(io.stderr(), /no password on standard input/);

    io = fakeIo();
    assert.equal(await runPasswd(['-d', '-f', path, 'bob'], io, params), 0);
    assert.equal(await file.verify('bob', 'from-stdin'), false);
    io = fakeIo();
    assert.equal(await runPasswd(['-d', '-f', path, 'bob'], io, params), 1);
    assert.match(io.stderr(), /bob is not in/);
    io = fakeIo();
    assert.equal(await runPasswd(['-d', '-f', path], io, params), 1);
    assert.match(io.stderr(), /-d needs the user/);

    io = fakeIo();
    assert.equal(await runPasswd(['-x'], io, params), 1);
    assert.match(io.stderr(), /usage: nacred passwd/);
    io = fakeIo();
    assert.equal(await runPasswd(['-f', path, 'a:b'], io, params), 1);
    assert.match(io.stderr(), /not a valid user name/);

    // A malformed file: named with its line, and left as it was.
    const before = readFileSync(path, 'utf8') + 'eve:$scrypt$ln=99,r=8,p=1$x$y\n';
    writeFileSync(path, before);
    io = fakeIo({ passphrases: ['z', 'z'] });
    assert.equal(await runPasswd(['-f', path, 'alice'], io, params), 1);
    assert.equal(io.stderr(), `nacred passwd: ${path} line 2: eve: ln=99 is outside 10–20\n`);
    assert.equal(readFileSync(path, 'utf8'), before);
    assert.ok(existsSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
