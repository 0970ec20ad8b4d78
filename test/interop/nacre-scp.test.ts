// nacre-scp against OpenSSH's sshd serving SFTP with its sftp-server
// program: uploads and downloads compared by SHA-256, -r trees (nested and
// empty directories), -p modes and times, several sources into a directory,
// missing files and the exit statuses (checked against OpenSSH's own scp run
// the same way), -3 between two sshd instances, -R running scp on the origin,
// and the progress bar drawn under tmux.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, freePort, keygen, tempDir, waitForPort, type OpenSsh } from './openssh.js';
import { findTmux, TmuxPane, PANE_PROMPT } from './nacre-tmux.js';

const SCP = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/nacre-scp.js');
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const o = findOpenSsh();
const skip = !o || !existsSync(SFTP_SERVER) ? 'OpenSSH or its sftp-server missing' : false;

interface Server {
  readonly port: number;
  readonly dir: string;
  readonly hostLine: string;
  stop(): Promise<void>;
}

/** An sshd whose sftp subsystem is OpenSSH's sftp-server program; `extra` lines appended. */
async function startServer(ossh: OpenSsh, clientPublic: string, extra: string[] = []): Promise<Server> {
  const dir = tempDir('nscp-sshd');
  const port = await freePort();
  const host = keygen(ossh, dir, 'ed25519', 'host');
  writeFileSync(join(dir, 'authorized_keys'), clientPublic + '\n');
  const config = [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${host.privatePath}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'StrictModes no',
    'UsePAM no',
    'LogLevel ERROR',
    'PerSourcePenalties no',
    `Subsystem sftp ${SFTP_SERVER}`,
    ...extra,
  ];
  writeFileSync(join(dir, 'sshd_config'), config.join('\n') + '\n');
  const child: ChildProcess = spawn(ossh.sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitForPort(port, 5000, () => (child.exitCode !== null ? `sshd exited: ${stderr}` : null));
  return {
    port,
    dir,
    hostLine: host.publicLine,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let work: string;
let home: string;
let key: string;
let knownHosts: string;
let one: Server;
let two: Server;
/** A directory the fake `scp` of the -R test lives in (on the origin's PATH). */
let fakeBin: string;

before(async () => {
  if (skip) return;
  work = tempDir('nscp-work');
  home = join(work, 'home');
  mkdirSync(home);
  const k = keygen(o!, work, 'ed25519', 'client');
  key = k.privatePath;
  fakeBin = join(work, 'bin');
  mkdirSync(fakeBin);
  // The origin's `scp` for -R: records its arguments and exits 3 when the target is the made-up host; the real scp otherwise (-O).
  writeFileSync(
    join(fakeBin, 'scp'),
    `#!/bin/sh\ncase "$*" in *elsewhere*) printf '%s\\n' "$@" > ${join(work, 'origin-args')}; exit 3;; esac\nexec /usr/bin/scp "$@"\n`,
  );
  chmodSync(join(fakeBin, 'scp'), 0o755);
  [one, two] = await Promise.all([startServer(o!, k.publicLine), startServer(o!, k.publicLine, [`SetEnv PATH=${fakeBin}:/usr/bin:/bin`])]);
  knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${one.port} ${one.hostLine}\n[127.0.0.1]:${two.port} ${two.hostLine}\n`);
});

after(async () => {
  if (skip) return;
  await Promise.all([one?.stop(), two?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(program: string[], args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(program[0]!, [...program.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: home } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The options both scp's take here: no config files, the test key, the test known_hosts. */
function common(): string[] {
  return ['-F', 'none', '-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes'];
}

/** nacre-scp against server one (-P its port) unless the operands say otherwise. */
function nscp(...args: string[]): Promise<Run> {
  return run([process.execPath, SCP], [...common(), '-P', String(one.port), ...args]);
}

function opensshScp(...args: string[]): Promise<Run> {
  return run(['scp'], [...common(), '-P', String(one.port), ...args]);
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function fresh(name: string): string {
  const d = join(work, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

/** Every path under `dir` (relative), with a file's SHA-256 or 'dir'. */
function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(join(dir, r));
      if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else out[r] = sha(join(dir, r));
    }
  };
  walk('');
  return out;
}

function makeTree(root: string): void {
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'top.txt'), 'top\n');
  writeFileSync(join(root, 'sub', 'with space.bin'), Buffer.alloc(70000, 7));
  writeFileSync(join(root, 'sub', 'deeper', 'last'), '');
}

test('a file up and down, byte for byte (0, 1, 32769 bytes and 1 MiB + 1), quiet off a terminal', { skip, timeout: 60000 }, async () => {
  const d = fresh('files');
  const sizes = [0, 1, 32769, 1024 * 1024 + 1];
  for (const size of sizes) writeFileSync(join(d, `f${size}`), Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff)));
  // Several sources into a directory (made by the upload), in one run each way.
  const up = join(fresh('files-up'), 'in');
  let r = await nscp(...sizes.map((size) => join(d, `f${size}`)), `127.0.0.1:${up}`);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
  for (const size of sizes) assert.equal(sha(join(up, `f${size}`)), sha(join(d, `f${size}`)), `upload ${size}`);
  const down = fresh('files-down');
  r = await nscp(...sizes.map((size) => `root@127.0.0.1:${join(up, `f${size}`)}`), down);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
  for (const size of sizes) assert.equal(sha(join(down, `f${size}`)), sha(join(d, `f${size}`)), `download ${size}`);
});

test('-r: a tree with nested and empty directories and a name with a space, both ways', { skip, timeout: 60000 }, async () => {
  const src = fresh('tree-src');
  makeTree(src);
  const dst = fresh('tree-dst');
  // To a name that does not exist: the tree becomes it; into an existing directory: under its own name.
  // (Into an existing directory, under its own name: the -3 and -O tests.)
  let r = await nscp('-r', src, `127.0.0.1:${join(dst, 'copy')}`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(treeOf(join(dst, 'copy')), treeOf(src));
  const back = fresh('tree-back');
  r = await nscp('-r', `127.0.0.1:${join(dst, 'copy')}`, back);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(treeOf(join(back, 'copy')), treeOf(src));
  // Without -r a directory is refused as scp refuses it, both ways.
  const [up, upRef] = await Promise.all([nscp(src, `127.0.0.1:${dst}`), opensshScp(src, `127.0.0.1:${dst}`)]);
  assert.deepEqual([up.code, up.stderr], [upRef.code, upRef.stderr.replace(/\r/g, '')]);
  const [down, downRef] = await Promise.all([nscp(`127.0.0.1:${src}`, back), opensshScp(`127.0.0.1:${src}`, back)]);
  assert.deepEqual([down.code, down.stderr], [downRef.code, downRef.stderr.replace(/\r/g, '')]);
});

test('-p keeps modes and times, both ways and in trees', { skip, timeout: 60000 }, async () => {
  const src = fresh('keep-src');
  writeFileSync(join(src, 'f'), 'x');
  chmodSync(join(src, 'f'), 0o640);
  utimesSync(join(src, 'f'), 1_000_000_000, 1_100_000_000);
  mkdirSync(join(src, 'd'));
  writeFileSync(join(src, 'd', 'g'), 'y');
  chmodSync(join(src, 'd', 'g'), 0o600);
  utimesSync(join(src, 'd', 'g'), 1_200_000_000, 1_300_000_000);
  const dst = fresh('keep-dst');
  let r = await nscp('-p', join(src, 'f'), `127.0.0.1:${join(dst, 'f')}`);
  assert.equal(r.code, 0, r.stderr);
  const st = statSync(join(dst, 'f'));
  assert.equal(st.mode & 0o777, 0o640);
  assert.equal(Math.floor(st.mtimeMs / 1000), 1_100_000_000);
  assert.equal(Math.floor(st.atimeMs / 1000), 1_000_000_000);
  r = await nscp('-rp', `127.0.0.1:${join(src, 'd')}`, join(dst, 'd'));
  assert.equal(r.code, 0, r.stderr);
  const g = statSync(join(dst, 'd', 'g'));
  assert.equal(g.mode & 0o777, 0o600);
  assert.equal(Math.floor(g.mtimeMs / 1000), 1_300_000_000);
});

test('several sources into a directory: made on the server for uploads, required locally for downloads', { skip, timeout: 60000 }, async () => {
  const src = fresh('many-src');
  for (const n of ['a', 'b', 'c.txt']) writeFileSync(join(src, n), n);
  const dst = fresh('many-dst');
  let r = await nscp(join(src, 'a'), join(src, 'b'), `127.0.0.1:${join(dst, 'made')}`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(join(dst, 'made')).sort(), ['a', 'b']);
  const down = fresh('many-down');
  // Remote wildcards are expanded over SFTP.
  r = await nscp(`127.0.0.1:${join(src, '*')}`, down);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(down).sort(), ['a', 'b', 'c.txt']);
  const args = [`127.0.0.1:${join(src, 'a')}`, `127.0.0.1:${join(src, 'b')}`, join(down, 'missing-dir')];
  let ref;
  [r, ref] = await Promise.all([nscp(...args), opensshScp(...args)]);
  assert.deepEqual([r.code, r.stderr], [ref.code, ref.stderr.replace(/\r/g, '')]);
});

test('errors and exit statuses as OpenSSH\'s scp: missing remote and local sources, the others still copied', { skip, timeout: 60000 }, async () => {
  const src = fresh('err-src');
  writeFileSync(join(src, 'ok'), 'ok');
  const cases: string[][] = [
    // A missing remote source: reported, the next one copied, status 1.
    ['127.0.0.1:/nope', `127.0.0.1:${join(src, 'ok')}`, 'DEST'],
    // A missing local source of an upload: fatal, 255.
    ['/nope', join(src, 'ok'), '127.0.0.1:DESTR'],
    // A remote file into a directory that does not exist.
    [`127.0.0.1:${join(src, 'ok')}`, 'DEST/no/such/dir/x'],
    // An upload into a directory that does not exist.
    [join(src, 'ok'), '127.0.0.1:DESTR/no/such/x'],
  ];
  for (const c of cases) {
    const mine = fresh('err-mine');
    const theirs = fresh('err-theirs');
    const fill = (dir: string) => c.map((a) => a.replace('DESTR', dir).replace('DEST', dir));
    const [m, t] = await Promise.all([nscp(...fill(mine)), opensshScp(...fill(theirs))]);
    assert.equal(m.code, t.code, `${c.join(' ')}: ${m.stderr} / ${t.stderr}`);
    assert.equal(m.stderr.replaceAll(mine, 'DIR'), t.stderr.replace(/\r/g, '').replaceAll(theirs, 'DIR'), c.join(' '));
    assert.deepEqual(readdirSync(mine), readdirSync(theirs), c.join(' '));
  }
});

test('-3: between two sshd instances through this host, a file and a tree; -J through one to the other', { skip, timeout: 60000 }, async () => {
  const src = fresh('x-src');
  makeTree(src);
  const dst = fresh('x-dst');
  let r = await nscp('-3', `127.0.0.1:${join(src, 'sub', 'with space.bin')}`, `scp://127.0.0.1:${two.port}/${join(dst, 'copy.bin')}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha(join(dst, 'copy.bin')), sha(join(src, 'sub', 'with space.bin')));
  // -3 is the default.
  r = await nscp('-r', `127.0.0.1:${src}`, `scp://127.0.0.1:${two.port}/${dst}`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(treeOf(join(dst, 'x-src')), treeOf(src));
  r = await nscp('127.0.0.1:/nope', `scp://127.0.0.1:${two.port}/${dst}`);
  assert.deepEqual([r.code, r.stderr], [1, 'scp: /nope: No such file or directory\n']);
  // -J: to server two through server one.
  r = await run([process.execPath, SCP], [...common(), '-J', `root@127.0.0.1:${one.port}`, '-P', String(two.port), join(src, 'top.txt'), `127.0.0.1:${join(dst, 'jumped.txt')}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(dst, 'jumped.txt'), 'utf8'), 'top\n');
});

test('-R: scp runs on the origin host with the target as typed; its status is ours', { skip, timeout: 60000 }, async () => {
  rmSync(join(work, 'origin-args'), { force: true });
  const r = await run([process.execPath, SCP], [...common(), '-R', '-rp', `scp://127.0.0.1:${two.port}//srv/x`, 'user@elsewhere:/dst']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(readFileSync(join(work, 'origin-args'), 'utf8'), '-r\n-p\n/srv/x\nuser@elsewhere:/dst\n');
});

test('-O: the legacy protocol both ways (files, a tree, -p), between two hosts with -3, and its errors as OpenSSH\'s scp -O', { skip, timeout: 60000 }, async () => {
  const src = fresh('o-src');
  makeTree(src);
  writeFileSync(join(src, 'kept'), 'k');
  chmodSync(join(src, 'kept'), 0o604);
  utimesSync(join(src, 'kept'), 1_000_000_000, 1_100_000_000);
  const dst = fresh('o-dst');
  let r = await nscp('-O', '-rp', src, join(src, 'kept'), `127.0.0.1:${dst}`);
  assert.deepEqual([r.code, r.stderr], [0, '']);
  assert.deepEqual(treeOf(join(dst, 'o-src')), treeOf(src));
  assert.equal(statSync(join(dst, 'kept')).mode & 0o777, 0o604);
  assert.equal(Math.floor(statSync(join(dst, 'kept')).mtimeMs / 1000), 1_100_000_000);
  const back = fresh('o-back');
  r = await nscp('-O', '-r', `127.0.0.1:${join(dst, 'o-src')}`, `127.0.0.1:${join(dst, 'kept')}`, back);
  assert.deepEqual([r.code, r.stderr], [0, '']);
  assert.deepEqual(treeOf(join(back, 'o-src')), treeOf(src));
  const between = fresh('o-between');
  r = await nscp('-O', '-3', `127.0.0.1:${join(src, 'top.txt')}`, `scp://127.0.0.1:${two.port}/${join(between, 'copied.txt')}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(between, 'copied.txt'), 'utf8'), 'top\n');
  for (const c of [
    ['127.0.0.1:/nope', `127.0.0.1:${join(src, 'kept')}`, 'DEST'],
    // (A missing local source, not fatal with -O, is in test/node/scp-legacy.test.ts.)
    [`127.0.0.1:${src}`, 'DEST'],
  ]) {
    const mine = fresh('o-mine');
    const theirs = fresh('o-theirs');
    const [m, t] = await Promise.all([nscp('-O', ...c.map((a) => a.replace('DEST', mine))), opensshScp('-O', ...c.map((a) => a.replace('DEST', theirs)))]);
    assert.equal(m.code, t.code, `${c.join(' ')}: ${m.stderr} / ${t.stderr}`);
    assert.equal(m.stderr.replaceAll(mine, 'DIR'), t.stderr.replace(/\r/g, '').replaceAll(theirs, 'DIR'), c.join(' '));
    assert.deepEqual(readdirSync(mine), readdirSync(theirs), c.join(' '));
  }
});

const tmux = findTmux();

test('the progress bar under a terminal: name, percent, size, rate and time, fitted to the width', { skip: skip || (!tmux ? 'tmux missing' : false), timeout: 60000 }, async () => {
  const d = fresh('bar');
  writeFileSync(join(d, 'payload.bin'), Buffer.alloc(600 * 1024, 1));
  const pane = new TmuxPane(tmux!, d, 90, 10);
  try {
    await pane.waitFor((t) => t.includes(PANE_PROMPT.trim()));
    // -l 2048 Kbit/s: 256 KB/s, so the bar is redrawn a few times.
    const args = [...common(), '-P', String(one.port), '-l', '2048', join(d, 'payload.bin'), `127.0.0.1:${join(d, 'up.bin')}`];
    pane.line(`HOME=${home} ${process.execPath} ${SCP} ${args.map((a) => `'${a}'`).join(' ')}; echo "status=$?"`);
    const text = await pane.waitFor(/status=\d+/, 30000);
    assert.match(text, /status=0/);
    const line = text.split('\n').find((l) => l.startsWith('payload.bin'));
    assert.ok(line, text);
    // 90 columns: the name gets 55, the figures the rest (one column short).
    // (tmux trims the four blanks that end the last line.)
    assert.match(line, /^payload\.bin {45}100%  600KB +\d+\.\d[KM]B\/s   00:0\d$/);
    assert.equal(sha(join(d, 'up.bin')), sha(join(d, 'payload.bin')));
    // A tree: a bar per file, one after another, each ending at 100%.
    mkdirSync(join(d, 'tree'));
    for (const n of ['one', 'two', 'three']) writeFileSync(join(d, 'tree', n), Buffer.alloc(50_000, 2));
    const treeArgs = [...common(), '-r', '-P', String(one.port), `127.0.0.1:${join(d, 'tree')}`, join(d, 'tree-copy')];
    pane.line(`clear; HOME=${home} ${process.execPath} ${SCP} ${treeArgs.map((a) => `'${a}'`).join(' ')}; echo "tree=$?"`);
    const after = await pane.waitFor(/tree=\d+/, 30000);
    assert.match(after, /tree=0/);
    const bars = after.split('\n').filter((l) => /^(one|two|three) /.test(l));
    assert.deepEqual(bars.map((l) => l.split(' ')[0]).sort(), ['one', 'three', 'two'], after);
    for (const l of bars) assert.match(l, / 100%   49KB /);
  } finally {
    pane.kill();
  }
});

test('-q: no progress bar even on a terminal', { skip: skip || (!tmux ? 'tmux missing' : false), timeout: 60000 }, async () => {
  const d = fresh('quiet');
  writeFileSync(join(d, 'q.bin'), Buffer.alloc(1000, 1));
  const pane = new TmuxPane(tmux!, d, 90, 10);
  try {
    await pane.waitFor((t) => t.includes(PANE_PROMPT.trim()));
    const args = [...common(), '-q', '-P', String(one.port), join(d, 'q.bin'), `127.0.0.1:${join(d, 'q2.bin')}`];
    pane.line(`HOME=${home} ${process.execPath} ${SCP} ${args.map((a) => `'${a}'`).join(' ')}; echo "status=$?"`);
    const text = await pane.waitFor(/status=\d+/, 30000);
    assert.match(text, /status=0/);
    assert.doesNotMatch(text, /100%/);
    assert.ok(lstatSync(join(d, 'q2.bin')).isFile());
  } finally {
    pane.kill();
  }
});
