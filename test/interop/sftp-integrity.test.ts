// Section 5's integrity matrix: files of 0, 1, 32767, 32768, 32769 bytes,
// 1 MiB + 1 and 200 MiB moved both ways and compared by SHA-256, and trees
// of odd names, symbolic links and empty directories moved both ways
// recursively with modes and times preserved, for
//   (a) the library client against OpenSSH's sshd with its sftp-server,
//   (b) OpenSSH's sftp against nacred's internal-sftp (OpenSSH's sftp
//       against OpenSSH's sshd is the oracle for what a tree becomes),
//   (c) the library client against a Nacre library server.
// Big files live in /dev/shm and are removed after.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, copyFileSync, symlinkSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Client } from '../../src/client/client.js';
import { generateHostKey } from '../../src/keys/index.js';
import { createServer, type Server } from '../../src/server/server.js';
import { NodeFileSystem } from '../../src/server/sftp/node-fs.js';
import { sftpSubsystem } from '../../src/server/sftp/serve.js';
import type { SftpClient } from '../../src/client/sftp/api.js';
import { findOpenSsh, keygen, startSshd, tempDir, type OpenSsh, type Sshd } from './openssh.js';
import { nacredFixture, startNacred, user, type NacredFixture, type RunningNacred } from './nacred-helpers.js';
import { DEFAULT_MAX_READ, FXF } from '../../src/sftp/constants.js';
import { rawSftp, settled } from '../node/sftp-harness-flood.js';
import { BIG_SIZE, SMALL_SIZES, comparable, describeTree, makeOddTree, sha256File, writePatternFile } from './sftp-harness.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';

let work = '';
let shm = '';
/** Local sources: one file per size, the big one, and the odd tree. */
const sources = new Map<number, { path: string; sha: string }>();
let tree = '';
let userKey: { privatePath: string; publicLine: string } | undefined;

before(async () => {
  if (!openssh) return;
  work = tempDir('sftp-integrity');
  shm = mkdtempSync(existsSync('/dev/shm') ? '/dev/shm/nacre-sftp-integrity-' : join(work, 'big-'));
  mkdirSync(join(work, 'src'));
  for (const [i, size] of SMALL_SIZES.entries()) {
    const p = join(work, 'src', `size-${size}`);
    writePatternFile(p, size, i + 1);
    sources.set(size, { path: p, sha: await sha256File(p) });
  }
  const big = join(shm, 'big-src');
  writePatternFile(big, BIG_SIZE, 99);
  sources.set(BIG_SIZE, { path: big, sha: await sha256File(big) });
  tree = join(work, 'tree');
  makeOddTree(tree);
  userKey = keygen(openssh, work, 'ed25519', 'user_key');
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  if (shm) rmSync(shm, { recursive: true, force: true });
});

/** A fresh directory for one case's results (in /dev/shm for the big file). */
function fresh(name: string, big = false): string {
  const d = join(big ? shm : work, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(d);
  return d;
}

/** The expected tree after a recursive transfer, by `transfersLinks`: links recreated, or skipped as OpenSSH's sftp does. */
async function expectedTree(root: string, preserved: boolean, links: 'recreated' | 'skipped'): Promise<string[]> {
  const entries = await describeTree(root);
  return comparable(links === 'skipped' ? entries.filter((e) => e.type !== 'link') : entries, preserved);
}

// ---------------------------------------------------------------------------
// the library client against a server whose files are on this machine

/** Every size up and down again through `sftp`, `remote` a directory the server writes on this machine. */
async function sizesBothWays(sftp: SftpClient, remote: string, local: string, sizes: readonly number[]): Promise<void> {
  for (const size of sizes) {
    const src = sources.get(size)!;
    const up = join(remote, `up-${size}`);
    await sftp.put(src.path, up);
    assert.equal(statSync(up).size, size, `put of ${size} bytes: size`);
    assert.equal(await sha256File(up), src.sha, `put of ${size} bytes: SHA-256`);
    const down = join(local, `down-${size}`);
    await sftp.get(up, down);
    assert.equal(statSync(down).size, size, `get of ${size} bytes: size`);
    assert.equal(await sha256File(down), src.sha, `get of ${size} bytes: SHA-256`);
    assert.deepEqual(readdirSync(remote), [`up-${size}`], 'no temporary file is left on the server');
    assert.deepEqual(readdirSync(local), [`down-${size}`], 'no temporary file is left here');
    rmSync(up);
    rmSync(down);
  }
}

/**
 * The odd tree up and down again, recursively, with preserve. Symbolic
 * links are skipped with a notice, as OpenSSH's sftp does (without
 * `followSymlinks`).
 */
async function treeBothWays(sftp: SftpClient, remote: string, local: string): Promise<void> {
  const links = 'skipped';
  const want = await expectedTree(tree, true, links);
  const up = join(remote, 'tree-up');
  await sftp.put(tree, up, { recursive: true, preserve: true });
  assert.deepEqual(comparable(await describeTree(up), true), want, 'put -r -p');
  const down = join(local, 'tree-down');
  await sftp.get(up, down, { recursive: true, preserve: true });
  assert.deepEqual(comparable(await describeTree(down), true), want, 'get -r -p');
  // without preserve: the same names, types and contents
  const plain = join(remote, 'tree-plain');
  await sftp.put(tree, plain, { recursive: true });
  assert.deepEqual(comparable(await describeTree(plain), false), await expectedTree(tree, false, links), 'put -r');
}

/** Partial files on both sides completed with `resume`; then `followSymlinks` copies what links point at. */
async function resumeAndLinks(sftp: SftpClient, remote: string, local: string): Promise<void> {
  const src = sources.get(1024 * 1024 + 1)!;
  copyFileSync(src.path, join(remote, 'up'));
  truncateSync(join(remote, 'up'), 300_001);
  await sftp.put(src.path, join(remote, 'up'), { resume: true });
  assert.equal(await sha256File(join(remote, 'up')), src.sha, 'put with resume');
  copyFileSync(src.path, join(local, 'down'));
  truncateSync(join(local, 'down'), 400_003);
  await sftp.get(src.path, join(local, 'down'), { resume: true });
  assert.equal(await sha256File(join(local, 'down')), src.sha, 'get with resume');
  // a destination longer than the source is refused, not cut
  await assert.rejects(sftp.put(sources.get(32767)!.path, join(remote, 'up'), { resume: true }));
  assert.equal(await sha256File(join(remote, 'up')), src.sha, 'a refused resume leaves the file alone');
  // followSymlinks: the link to a file arrives as that file, the link to a directory as a copy of it
  const linked = fresh('links');
  mkdirSync(join(linked, 'sub'));
  copyFileSync(sources.get(32769)!.path, join(linked, 'sub', 'f'));
  symlinkSync('sub/f', join(linked, 'to-file'));
  symlinkSync('sub', join(linked, 'to-dir'));
  await sftp.put(linked, join(remote, 'followed'), { recursive: true, followSymlinks: true });
  assert.equal(await sha256File(join(remote, 'followed', 'to-file')), sources.get(32769)!.sha);
  assert.equal(await sha256File(join(remote, 'followed', 'to-dir', 'f')), sources.get(32769)!.sha);
  assert.ok(lstatSync(join(remote, 'followed', 'to-file')).isFile());
}

describe('(a) the library client against OpenSSH sshd with sftp-server', { skip }, () => {
  let sshd: Sshd | undefined;
  let client: Client | undefined;
  let sftp: SftpClient | undefined;
  before(async () => {
    if (!openssh) return;
    sshd = await startSshd(openssh, ['PermitRootLogin yes', 'Match all', '  Subsystem sftp /usr/lib/openssh/sftp-server'], {
      hostKeyTypes: ['ed25519'],
      authorizedKeys: userKey!.publicLine + '\n',
    });
    client = await connect({ host: '127.0.0.1', port: sshd.port, username: user, privateKey: readFileSync(userKey!.privatePath, 'utf8'), verifyHostKey: () => true });
    sftp = await client.sftp();
  });
  after(async () => {
    await client?.close();
    await sshd?.stop();
  });

  test('files of 0, 1, 32767, 32768, 32769 and 1 MiB + 1 bytes, put and get, by SHA-256', { timeout: 60_000 }, async () => {
    await sizesBothWays(sftp!, fresh('a-remote'), fresh('a-local'), SMALL_SIZES);
  });
  test('a file of 200 MiB, put and get, by SHA-256', { timeout: 180_000 }, async () => {
    await sizesBothWays(sftp!, fresh('a-remote', true), fresh('a-local', true), [BIG_SIZE]);
  });
  test('a tree of odd names, symbolic links and empty directories, both ways, modes and times preserved', { timeout: 60_000 }, async () => {
    await treeBothWays(sftp!, fresh('a-remote'), fresh('a-local'));
  });
  test('resume of partial files both ways, and followSymlinks', { timeout: 60_000 }, async () => {
    await resumeAndLinks(sftp!, fresh('a-remote'), fresh('a-local'));
  });
});

// ---------------------------------------------------------------------------
// OpenSSH's sftp against nacred (and against sshd, the oracle)

interface SftpRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** OpenSSH's sftp in batch mode (`-b -`: the commands on stdin). */
function runSftp(o: OpenSsh, port: number, key: string, knownHosts: string, commands: string[], login = user): Promise<SftpRun> {
  const sftp = o.ssh.replace(/ssh$/, 'sftp');
  const args = ['-F', 'none', '-b', '-', '-i', key, '-P', String(port), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', `${login}@127.0.0.1`];
  return new Promise((resolve) => {
    const child = spawn(sftp, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(commands.join('\n') + '\n');
  });
}

/** OpenSSH's sftp logging in as `login` (batch on stdin). */
function runSftpAs(o: OpenSsh, port: number, login: string, key: string, knownHosts: string, commands: string[]): Promise<SftpRun> {
  return runSftp(o, port, key, knownHosts, commands, login);
}

/** A path quoted for sftp's command line. */
const q = (p: string) => `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

describe('(b) OpenSSH sftp against nacred internal-sftp', { skip }, () => {
  let fixture: NacredFixture | undefined;
  let nacred: RunningNacred | undefined;
  let oracle: Sshd | undefined;
  before(async () => {
    if (!openssh) return;
    fixture = nacredFixture(openssh);
    nacred = await startNacred(openssh, fixture, ['Subsystem sftp internal-sftp -l INFO']);
    // sshd reads a user's keys as that user: the throwaway one's are in its home
    oracle = await startSshd(openssh, ['PermitRootLogin yes', 'Match User nacsft-*', '  AuthorizedKeysFile .ssh/authorized_keys'], { hostKeyTypes: ['ed25519'], authorizedKeys: fixture.userKeyLine + '\n' });
  });
  after(async () => {
    await nacred?.stop();
    await oracle?.stop();
    fixture?.cleanup();
  });

  const sftpTo = (port: number, commands: string[]) => runSftp(openssh!, port, fixture!.userKey, fixture!.knownHosts, commands);

  async function sizes(list: readonly number[], big: boolean): Promise<void> {
    const remote = fresh('b-remote', big);
    const local = fresh('b-local', big);
    const commands = list.flatMap((size) => [`put ${q(sources.get(size)!.path)} ${q(join(remote, `up-${size}`))}`, `get ${q(join(remote, `up-${size}`))} ${q(join(local, `down-${size}`))}`]);
    const r = await sftpTo(nacred!.port, commands);
    assert.equal(r.code, 0, `sftp failed: ${r.stderr}\n${nacred!.log().slice(-2000)}`);
    // served by internal-sftp (its transfer log, -l INFO), each upload whole
    assert.match(nacred!.log(), /session opened for local user/);
    for (const size of list) assert.ok(nacred!.log().includes(`up-${size}" bytes read 0 written ${size}`), `nacred logged the upload of ${size} bytes`);
    for (const size of list) {
      const sha = sources.get(size)!.sha;
      assert.equal(statSync(join(remote, `up-${size}`)).size, size, `put of ${size} bytes: size`);
      assert.equal(await sha256File(join(remote, `up-${size}`)), sha, `put of ${size} bytes: SHA-256`);
      assert.equal(await sha256File(join(local, `down-${size}`)), sha, `get of ${size} bytes: SHA-256`);
    }
    rmSync(remote, { recursive: true });
    rmSync(local, { recursive: true });
  }

  // first, while nacred's heap is small: RSS does not shrink after the big transfers
  test('nacred under a flood of READs nobody reads: its memory stays bounded, every READ is answered, others are served', { timeout: 120_000 }, async (t) => {
    const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${nacred!.process.pid}/status`, 'utf8'))![1]) * 1024;
    const c = await connect({ host: '127.0.0.1', port: nacred!.port, username: user, privateKey: readFileSync(fixture!.userKey, 'utf8'), verifyHostKey: () => true });
    try {
      const raw = await rawSftp(c);
      const path = sources.get(1024 * 1024 + 1)!.path;
      raw.send({ type: 'open', id: 1, path, pflags: FXF.READ, attrs: {} });
      const opened = await raw.next();
      if (opened?.type !== 'handle') assert.fail(`open: ${JSON.stringify(opened)}`);
      const before = rss();
      const count = 600;
      // 600 READs of 255 KiB (150 MiB of replies) in a few channel packets
      for (let i = 0; i < count; i++) raw.send({ type: 'read', id: 100 + i, handle: opened.handle, offset: (i * 4096) % (1024 * 1024), length: DEFAULT_MAX_READ });
      await settled(() => raw.unsent + raw.unread * 7, 500, 20_000);
      const grew = rss() - before;
      t.diagnostic(`nacred's RSS grew by ${(grew / 1048576).toFixed(1)} MiB`);
      const other = await runSftp(openssh!, nacred!.port, fixture!.userKey, fixture!.knownHosts, [`ls ${q(work)}`]);
      assert.equal(other.code, 0, `another client is served meanwhile: ${other.stderr}`);
      for (let i = 0; i < count; i++) {
        const r = await raw.next(30_000);
        if (r?.type !== 'data') assert.fail(`reply ${i}: ${r === null ? 'the channel ended' : r.type}`);
      }
      raw.close();
      assert.ok(grew < 96 * 1024 * 1024, `nacred's RSS grew by ${(grew / 1048576).toFixed(1)} MiB while the client read nothing`);
    } finally {
      await c.close();
    }
  });

  test('files of 0, 1, 32767, 32768, 32769 and 1 MiB + 1 bytes, put and get, by SHA-256', { timeout: 60_000 }, async () => {
    await sizes(SMALL_SIZES, false);
  });
  test('a file of 200 MiB, put and get, by SHA-256', { timeout: 180_000 }, async () => {
    await sizes([BIG_SIZE], true);
  });

  test('reput and reget complete partial files exactly', { timeout: 60_000 }, async () => {
    const size = 1024 * 1024 + 1;
    const src = sources.get(size)!;
    const remote = fresh('b-resume-remote');
    const local = fresh('b-resume-local');
    copyFileSync(src.path, join(remote, 'up'));
    truncateSync(join(remote, 'up'), 300_001);
    copyFileSync(src.path, join(local, 'down'));
    truncateSync(join(local, 'down'), 400_003);
    const from = nacred!.log().length;
    const r = await sftpTo(nacred!.port, [`reput ${q(src.path)} ${q(join(remote, 'up'))}`, `reget ${q(src.path)} ${q(join(local, 'down'))}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(join(remote, 'up')), src.sha, 'reput');
    assert.equal(await sha256File(join(local, 'down')), src.sha, 'reget');
    // only the missing part went over the wire
    assert.ok(nacred!.log().slice(from).includes(`written ${size - 300_001}`), 'reput wrote only the rest');
  });

  test('as a non-root user: permission denied both ways, as sshd says it, and uploads owned by the user', { timeout: 60_000, skip: process.geteuid?.() === 0 && spawnSync('sh', ['-c', 'command -v useradd']).status === 0 ? false : 'needs root and useradd' }, async () => {
    const login = `nacsft-${Math.random().toString(36).slice(2, 7)}`;
    // '*' rather than useradd's locked '!': sshd without PAM refuses a locked account
    const made = spawnSync('useradd', ['-m', '-p', '*', '-s', '/bin/sh', login], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const locked = fresh('b-locked');
    try {
      const ssh = `/home/${login}/.ssh`;
      mkdirSync(ssh, { mode: 0o700 });
      writeFileSync(join(ssh, 'authorized_keys'), fixture!.userKeyLine + '\n', { mode: 0o600 });
      spawnSync('chown', ['-R', `${login}:`, ssh]);
      // the user may walk to the files (the test directory is 0700 otherwise), not read or write them
      chmodSync(work, 0o755);
      chmodSync(locked, 0o755);
      const secret = join(locked, 'secret');
      writeFileSync(secret, 'not yours', { mode: 0o600 });
      const home = `/home/${login}`;
      const runs: Record<string, SftpRun> = {};
      for (const [name, port] of [['nacred', nacred!.port], ['sshd', oracle!.port]] as const) {
        const local = fresh(`b-${name}-user-local`);
        chmodSync(local, 0o777);
        const commands = [`-get ${q(secret)} ${q(join(local, 'stolen'))}`, `-put ${q(sources.get(32769)!.path)} ${q(join(locked, 'planted'))}`, `put ${q(sources.get(32769)!.path)} ${q(`${home}/mine-${name}`)}`];
        runs[name] = await runSftpAs(openssh!, port, login, fixture!.userKey, fixture!.knownHosts, commands);
        assert.equal(runs[name]!.code, 0, `${name}: ${runs[name]!.stderr}`);
        assert.equal(existsSync(join(local, 'stolen')), false, `${name}: nothing downloaded`);
        assert.equal(existsSync(join(locked, 'planted')), false, `${name}: nothing planted`);
        const mine = statSync(`${home}/mine-${name}`);
        assert.equal(await sha256File(`${home}/mine-${name}`), sources.get(32769)!.sha);
        assert.equal(mine.uid, Number(spawnSync('id', ['-u', login], { encoding: 'utf8' }).stdout.trim()), `${name}: the upload is the user's`);
      }
      const denials = (r: SftpRun) => r.stderr.split('\n').filter((l) => /denied/i.test(l)).map((l) => l.replace(/b-(nacred|sshd)-user-local-\w+/, 'L'));
      assert.equal(denials(runs.nacred!).length, 2, runs.nacred!.stderr);
      assert.deepEqual(denials(runs.nacred!), denials(runs.sshd!));
    } finally {
      spawnSync('userdel', ['-r', login]);
    }
  });

  test('put -rp and get -rp of the odd tree: what sshd makes of it, modes and times preserved', { timeout: 60_000 }, async () => {
    const results: Record<string, { up: string[]; down: string[]; run: SftpRun }> = {};
    for (const [name, port] of [['nacred', nacred!.port], ['sshd', oracle!.port]] as const) {
      const remote = fresh(`b-${name}-remote`);
      const local = fresh(`b-${name}-local`);
      const run = await sftpTo(port, [`put -rp ${q(tree)} ${q(join(remote, 'up'))}`, `get -rp ${q(join(remote, 'up'))} ${q(join(local, 'down'))}`]);
      assert.equal(run.code, 0, `${name}: sftp failed: ${run.stderr}`);
      results[name] = { up: comparable(await describeTree(join(remote, 'up')), true), down: comparable(await describeTree(join(local, 'down')), true), run };
    }
    const want = await expectedTree(tree, true, 'skipped');
    assert.deepEqual(results.sshd!.up, want, 'the oracle: sshd skips links and keeps modes and times');
    assert.deepEqual(results.nacred!.up, results.sshd!.up, 'put -rp to nacred as to sshd');
    assert.deepEqual(results.nacred!.down, results.sshd!.down, 'get -rp from nacred as from sshd');
    // and the warnings about the links: the same ones
    const warnings = (r: SftpRun) => r.stderr.split('\n').filter((l) => /not a regular file/.test(l)).map((l) => l.replace(/b-(nacred|sshd)-remote-\w+/, 'R')).sort();
    assert.deepEqual(warnings(results.nacred!.run), warnings(results.sshd!.run));
  });
});

// ---------------------------------------------------------------------------
// the library client against a Nacre library server (serveSftp over node:fs)

describe('(c) the library client against a Nacre library server', { skip }, () => {
  let server: Server | undefined;
  let client: Client | undefined;
  let sftp: SftpClient | undefined;
  before(async () => {
    if (!openssh) return;
    const hostKey = generateHostKey('ssh-ed25519');
    server = createServer({
      hostKeys: [hostKey],
      authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'secret',
      session: (s) => {
        s.onSubsystem = sftpSubsystem({ fileSystem: new NodeFileSystem({ startDirectory: work }) });
      },
    });
    const { port } = await server.listen(0, '127.0.0.1');
    client = await connect({ host: '127.0.0.1', port, username: user, password: 'secret', verifyHostKey: (info) => Buffer.from(info.key).equals(Buffer.from(hostKey.publicBlob)) });
    sftp = await client.sftp();
  });
  after(async () => {
    await client?.close();
    await server?.close();
  });

  test('files of 0, 1, 32767, 32768, 32769 and 1 MiB + 1 bytes, put and get, by SHA-256', { timeout: 60_000 }, async () => {
    await sizesBothWays(sftp!, fresh('c-remote'), fresh('c-local'), SMALL_SIZES);
  });
  test('a file of 200 MiB, put and get, by SHA-256', { timeout: 180_000 }, async () => {
    await sizesBothWays(sftp!, fresh('c-remote', true), fresh('c-local', true), [BIG_SIZE]);
  });
  test('a tree of odd names, symbolic links and empty directories, both ways, modes and times preserved', { timeout: 60_000 }, async () => {
    await treeBothWays(sftp!, fresh('c-remote'), fresh('c-local'));
  });
  test('resume of partial files both ways, and followSymlinks', { timeout: 60_000 }, async () => {
    await resumeAndLinks(sftp!, fresh('c-remote'), fresh('c-local'));
  });
});
