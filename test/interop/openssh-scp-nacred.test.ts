// OpenSSH's scp against nacred (issue 13 §5): SFTP mode (scp's default,
// served by nacred's internal-sftp) and `-O`, the legacy protocol, for which
// nacred runs the `scp` found on the server's PATH through the user's shell,
// as sshd does. Files both ways compared by SHA-256, `-r` trees, `-p` modes
// and times, and a missing file's message and status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { findOpenSsh, type SshRun } from './openssh.js';
import { nacredFixture, startNacred, user, type NacredFixture, type RunningNacred } from './nacred-helpers.js';
import { runRaw } from './byte-names-peer.js';

const o = findOpenSsh();
const SCP = o ? join(dirname(o.ssh), 'scp') : 'scp';
const skip = !o || !existsSync(SCP) ? 'OpenSSH scp missing' : false;

let f: NacredFixture;
let server: RunningNacred;
let work: string;

before(async () => {
  if (!o) return;
  f = nacredFixture(o);
  work = join(f.dir, 'work');
  mkdirSync(work);
  server = await startNacred(o, f, ['Subsystem sftp internal-sftp']);
});

after(async () => {
  await server?.stop();
  f?.cleanup();
});

/** OpenSSH's scp with the fixture's key and known_hosts file, to nacred. */
function scp(args: readonly string[]): Promise<SshRun> {
  const all = [
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', `UserKnownHostsFile=${f.knownHosts}`,
    '-o', 'IdentitiesOnly=yes',
    '-i', f.userKey,
    '-P', String(server.port),
    ...args,
  ];
  return new Promise((resolve) => {
    const child = spawn(SCP, ['-F', 'none', ...all], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const remote = (path: string) => `${user}@127.0.0.1:${path}`;

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function fresh(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Every path under `root` (relative) with its kind and, for files, SHA-256. */
function treeOf(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        out.push(`${relative(root, p)}/`);
        walk(p);
      } else {
        out.push(`${relative(root, p)} ${sha(p)}`);
      }
    }
  };
  walk(root);
  return out;
}

/** A tree with sizes around SFTP's 32 KiB reads, an empty file and directory, and odd names. */
function makeTree(root: string): void {
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'zero'), '');
  writeFileSync(join(root, 'one'), 'x');
  writeFileSync(join(root, 'sub', '32767'), randomBytes(32767));
  writeFileSync(join(root, 'sub', '32768'), randomBytes(32768));
  writeFileSync(join(root, 'sub', 'deeper', 'with space & quote\'s'), randomBytes(32769));
  writeFileSync(join(root, 'sub', 'deeper', 'näme'), randomBytes(1024 * 1024 + 1));
}

for (const mode of ['sftp', 'legacy'] as const) {
  const flags = mode === 'legacy' ? ['-O'] : [];
  const label = mode === 'legacy' ? 'scp -O (legacy protocol)' : 'scp (SFTP mode)';

  test(`${label} to and from nacred: files by SHA-256, both ways`, { skip, timeout: 120000 }, async () => {
    const dir = fresh(`files-${mode}`);
    for (const size of [0, 1, 32767, 32768, 32769, 1024 * 1024 + 1]) writeFileSync(join(dir, `f${size}`), randomBytes(size));
    mkdirSync(join(dir, 'up'));
    mkdirSync(join(dir, 'down'));
    const names = readdirSync(dir).filter((n) => n.startsWith('f'));
    let r = await scp([...flags, ...names.map((n) => join(dir, n)), remote(join(dir, 'up'))]);
    assert.equal(r.code, 0, r.stderr);
    r = await scp([...flags, ...names.map((n) => remote(join(dir, 'up', n))), join(dir, 'down')]);
    assert.equal(r.code, 0, r.stderr);
    for (const n of names) {
      assert.equal(sha(join(dir, 'up', n)), sha(join(dir, n)), `up ${n}`);
      assert.equal(sha(join(dir, 'down', n)), sha(join(dir, n)), `down ${n}`);
    }
    // A single file to a new name, each way.
    r = await scp([...flags, join(dir, 'f32769'), remote(join(dir, 'renamed'))]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(join(dir, 'renamed')), sha(join(dir, 'f32769')));
  });

  test(`${label}: -r trees both ways; -p keeps modes and times`, { skip, timeout: 120000 }, async () => {
    const dir = fresh(`tree-${mode}`);
    const src = join(dir, 'src');
    makeTree(src);
    chmodSync(join(src, 'one'), 0o751);
    chmodSync(join(src, 'sub'), 0o750);
    const when = new Date('2021-06-01T12:34:56Z');
    utimesSync(join(src, 'one'), when, when);
    utimesSync(join(src, 'sub', '32768'), when, when);
    let r = await scp([...flags, '-r', '-p', src, remote(join(dir, 'up'))]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(treeOf(join(dir, 'up')), treeOf(src));
    r = await scp([...flags, '-r', '-p', remote(join(dir, 'up')), join(dir, 'down')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(treeOf(join(dir, 'down')), treeOf(src));
    for (const copy of ['up', 'down']) {
      const one = statSync(join(dir, copy, 'one'));
      assert.equal(one.mode & 0o777, 0o751, `${copy} one mode`);
      assert.equal(one.mtimeMs, when.getTime(), `${copy} one mtime`);
      assert.equal(statSync(join(dir, copy, 'sub')).mode & 0o777, 0o750, `${copy} sub mode`);
      assert.equal(statSync(join(dir, copy, 'sub', '32768')).mtimeMs, when.getTime(), `${copy} 32768 mtime`);
    }
  });

  test(`${label}: a missing file is named, status 1, and the others still copy`, { skip, timeout: 120000 }, async () => {
    const dir = fresh(`missing-${mode}`);
    writeFileSync(join(dir, 'there'), 'here\n');
    mkdirSync(join(dir, 'out'));
    const r = await scp([...flags, remote(join(dir, 'nope')), remote(join(dir, 'there')), join(dir, 'out')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${join(dir, 'nope').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: No such file or directory`));
    assert.equal(readFileSync(join(dir, 'out', 'there'), 'utf8'), 'here\n');
    assert.equal(existsSync(join(dir, 'out', 'nope')), false);
    // Uploading into a directory that is not there.
    const up = await scp([...flags, join(dir, 'there'), remote(join(dir, 'no-dir', 'x'))]);
    assert.equal(up.code, 1);
    assert.match(up.stderr, /No such file or directory/);
  });
}

// The legacy protocol names files in its remote command (`scp -t -- DIR`,
// `scp -f -- NAME`), so a name that is not UTF-8 reaches nacred in an exec
// request whose command is not UTF-8: nacred must run it as those bytes, as
// sshd does (it used to refuse the request).
test('scp -O: names that are not UTF-8, both ways, and a directory named so', { skip, timeout: 120000 }, async () => {
  const dir = fresh('bytes-legacy');
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  const cafe = bytes('caf', [0xe9]);
  const odd = bytes('x', [0xff, 0xfe], '-y');
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(Buffer.concat([Buffer.from(src + '/'), cafe]), 'latin-1 name\n');
  writeFileSync(Buffer.concat([Buffer.from(src + '/'), odd]), randomBytes(40000));
  const target = bytes(dir + '/', 'up', [0xe0]);
  mkdirSync(target);
  const common = ['-F', 'none', '-O', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-o', 'IdentitiesOnly=yes', '-i', f.userKey, '-P', String(server.port)];
  const at = (path: Uint8Array) => Buffer.concat([Buffer.from(`${user}@127.0.0.1:`), path]);
  const inSrc = (name: Uint8Array) => Buffer.concat([Buffer.from(src + '/'), name]);
  let r = await runRaw(dir, [SCP, ...common, inSrc(cafe), inSrc(odd), at(target)], {});
  assert.equal(r.code, 0, r.stderr);
  for (const name of [cafe, odd]) assert.deepEqual(readFileSync(Buffer.concat([target, Buffer.from('/'), name])), readFileSync(inSrc(name)));
  const down = join(dir, 'down');
  mkdirSync(down);
  r = await runRaw(dir, [SCP, ...common, at(Buffer.concat([target, Buffer.from('/'), cafe])), at(Buffer.concat([target, Buffer.from('/'), odd])), down], {});
  assert.equal(r.code, 0, r.stderr);
  for (const name of [cafe, odd]) assert.deepEqual(readFileSync(Buffer.concat([Buffer.from(down + '/'), name])), readFileSync(inSrc(name)));
  // A missing one is named as scp shows such bytes (octal), as with sshd.
  r = await runRaw(dir, [SCP, ...common, at(bytes(dir + '/', 'nope', [0xfe])), down], {});
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nope\\376: No such file or directory/);
});
