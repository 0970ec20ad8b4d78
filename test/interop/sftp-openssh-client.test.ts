// OpenSSH's sftp, in batch mode, against Nacre's SFTP server: nacred's
// `Subsystem sftp internal-sftp` (with -d, -l INFO; -R and -P on other
// subsystem names), nacre-sftp-server as an external subsystem, sftp-server
// still run as an external one, and npm start's server; every command of
// sftp(1) that reaches a server. As root, nacred serving two throwaway users:
// each user's SFTP session has the user's permissions (a 0600 file of the
// other's cannot be read, created files belong to the user).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findOpenSsh, keygen, tempDir, type OpenSsh, type SshRun } from './openssh.js';
import { nacredFixture, repoRoot, startNacred, user, type NacredFixture, type RunningNacred } from './nacred-helpers.js';
import { startServer as startNpmServer } from '../../src/cli/start.js';
import { ExtRequest, FX, FXF, FxpInit, SftpFramer, decodeResponse, encodeRequest, frame, type SftpRequest, type SftpResponse } from '../../src/sftp/index.js';
import { lookupUserAccount, type UserAccount } from '../../src/server/user-account.js';

const o = findOpenSsh();
const sftpBin = o ? join(dirname(o.ssh), 'sftp') : '';
const skip = !o || !existsSync(sftpBin) ? 'OpenSSH sftp is not installed' : false;
const root = process.geteuid?.() === 0;
const userTools = ['useradd', 'userdel', 'setpriv'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const skipRoot = skip || (!root ? 'needs root (creates users)' : !userTools ? 'needs useradd and setpriv' : false);
const serverJs = join(repoRoot, 'dist/src/cli/nacre-sftp-server.js');

let f: NacredFixture;
let server: RunningNacred;
let dir = '';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** sftp -b `commands` as `login` on `port`; `extra` before the destination. */
function sftp(port: number, commands: string[], options: { login?: string; key?: string; knownHosts?: string; extra?: string[] } = {}): Promise<SshRun> {
  const batch = join(dir, `batch-${randomBytes(4).toString('hex')}`);
  writeFileSync(batch, commands.join('\n') + '\n');
  const args = [
    '-F', 'none',
    '-b', batch,
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', `UserKnownHostsFile=${options.knownHosts ?? f.knownHosts}`,
    '-o', 'IdentitiesOnly=yes',
    '-i', options.key ?? f.userKey,
    '-P', String(port),
    ...(options.extra ?? []),
    `${options.login ?? user}@127.0.0.1`,
  ];
  return new Promise((resolve) => {
    const child = spawn(sftpBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A local tree: a file, an empty directory, a symlink, odd names. */
function makeTree(at: string): void {
  mkdirSync(join(at, 'sub dir', 'empty'), { recursive: true });
  writeFileSync(join(at, 'sub dir', "it's \"quoted\" é.txt"), 'odd name\n');
  writeFileSync(join(at, 'top.txt'), randomBytes(40_000));
  symlinkSync('top.txt', join(at, 'link-to-top'));
}

before(async () => {
  if (skip) return;
  dir = tempDir('sftp-openssh');
  f = nacredFixture(o!);
  mkdirSync(join(dir, 'srv', 'emptydir'), { recursive: true });
  server = await startNacred(o!, f, [
    `Subsystem sftp internal-sftp -l INFO -d ${join(dir, 'srv')}`,
    `Subsystem ro internal-sftp -R -d ${join(dir, 'srv')}`,
    `Subsystem noremove internal-sftp -P remove,rmdir -d ${join(dir, 'srv')}`,
    `Subsystem external /usr/lib/openssh/sftp-server -d ${join(dir, 'srv')}`,
    `Subsystem loose internal-sftp -u 0 -d ${join(dir, 'srv')}`,
    `Subsystem tight internal-sftp -u 077 -d ${join(dir, 'srv')}`,
    `Subsystem nacreext ${process.execPath} ${serverJs} -d ${join(dir, 'srv')}`,
  ]);
});

after(async () => {
  if (skip) return;
  await server?.stop();
  f?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('sftp -b against nacred internal-sftp: every command a server serves, files intact, sftp-server\'s log lines in nacred\'s log', { skip }, async () => {
  const local = join(dir, 'local');
  const down = join(dir, 'down');
  const srv = join(dir, 'srv');
  mkdirSync(local);
  mkdirSync(down);
  makeTree(join(local, 'tree'));
  writeFileSync(join(local, 'small.bin'), randomBytes(32769));
  utimesSync(join(local, 'small.bin'), 1_000_000_000, 1_000_000_000);
  const big = randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(join(local, 'big.bin'), big);
  // partial copies for reget and reput
  writeFileSync(join(down, 'big-reget.bin'), big.subarray(0, 1_000_000));
  mkdirSync(join(srv, 'up'));
  writeFileSync(join(srv, 'up', 'big-reput.bin'), big.subarray(0, 777_777));
  writeFileSync(join(srv, 'up', 'big-put-a.bin'), big.subarray(0, 123_456));
  const r = await sftp(server.port, [
    'pwd',
    'cd up',
    'pwd',
    `put -p ${local}/small.bin`,
    `put ${local}/big.bin`,
    `put -r ${local}/tree`,
    `reput ${local}/big.bin big-reput.bin`,
    `put -a ${local}/big.bin big-put-a.bin`,
    `get -p small.bin ${down}/small.bin`,
    `get -r tree ${down}/tree`,
    `get -r -p tree ${down}/tree-p`,
    `reget big.bin ${down}/big-reget.bin`,
    `get -a big.bin ${down}/big-reget.bin`,
    'mkdir made',
    'rename small.bin made/renamed.bin',
    'ln -s renamed.bin made/sym',
    'ln made/renamed.bin made/hard',
    'chmod 640 made/renamed.bin',
    `chown ${process.getuid!()} made/renamed.bin`,
    `chgrp ${process.getgid!()} made/renamed.bin`,
    'ls -l',
    'ls -la made',
    'ls -l -a ../emptydir',
    'df -h',
    'df -i',
    'rm made/sym',
    '-rm no-such-file',
    'rmdir ../emptydir',
    'lls',
    'lpwd',
  ]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${server.log()}`);
  const up = join(srv, 'up');
  assert.equal(sha(join(up, 'big.bin')), sha(join(local, 'big.bin')));
  assert.equal(sha(join(up, 'big-reput.bin')), sha(join(local, 'big.bin')), 'reput completed the partial file');
  assert.equal(sha(join(up, 'big-put-a.bin')), sha(join(local, 'big.bin')), 'put -a completed the partial file');
  assert.equal(sha(join(down, 'big-reget.bin')), sha(join(local, 'big.bin')), 'reget completed the partial file');
  assert.equal(sha(join(down, 'small.bin')), sha(join(local, 'small.bin')));
  assert.equal(statSync(join(down, 'small.bin')).mtimeMs, 1_000_000_000_000, 'get -p kept the time put -p set');
  assert.equal(sha(join(up, 'tree', 'top.txt')), sha(join(local, 'tree', 'top.txt')));
  assert.equal(readFileSync(join(down, 'tree', 'sub dir', "it's \"quoted\" é.txt"), 'utf8'), 'odd name\n');
  assert.ok(statSync(join(down, 'tree', 'sub dir', 'empty')).isDirectory());
  // SFTP v3 carries whole seconds
  assert.equal(statSync(join(down, 'tree-p', 'top.txt')).mtimeMs, Math.floor(statSync(join(up, 'tree', 'top.txt')).mtimeMs / 1000) * 1000, 'get -r -p kept the times');
  assert.equal(statSync(join(up, 'made', 'renamed.bin')).mode & 0o777, 0o640);
  assert.equal(statSync(join(up, 'made', 'hard')).nlink, 2);
  assert.ok(!existsSync(join(up, 'made', 'sym')));
  assert.ok(!existsSync(join(srv, 'emptydir')));
  assert.match(r.stdout, new RegExp(`Remote working directory: ${join(srv, 'up')}`));
  assert.match(r.stdout, /-rw-r-----\s+\S+ \S+\s+\S+\s+32769 .* made\/renamed\.bin/);
  assert.match(r.stdout, /Size\s+Used\s+Avail/);
  assert.match(r.stdout, /Inodes\s+Used\s+Avail/);
  const log = server.log();
  assert.match(log, /session opened for local user \S+ from \[127\.0\.0\.1\]/);
  assert.match(log, new RegExp(`open "${join(up, 'big.bin')}" flags WRITE,CREATE,TRUNCATE mode 0644`));
  assert.match(log, new RegExp(`close "${join(up, 'big.bin')}" bytes read 0 written ${big.length}`));
  assert.match(log, /posix-rename old ".*small\.bin" new ".*made\/renamed\.bin"/);
  assert.match(log, /remove name ".*made\/sym"/);
});

test('sftp -s: internal-sftp -R refuses writes, -P refuses the denied requests; sftp-server and nacre-sftp-server still run as external subsystems', { skip }, async () => {
  const srv = join(dir, 'srv');
  writeFileSync(join(srv, 'ro.txt'), 'read me\n');
  const ro = await sftp(server.port, ['get ro.txt ' + join(dir, 'ro-copy.txt'), '-mkdir nope', '-put /etc/hostname x', 'ls'], { extra: ['-s', 'ro'] });
  assert.equal(ro.code, 0, ro.stderr);
  assert.equal(readFileSync(join(dir, 'ro-copy.txt'), 'utf8'), 'read me\n');
  assert.match(ro.stderr, /remote mkdir "[^"]*nope": Permission denied/);
  assert.ok(!existsSync(join(srv, 'nope')) && !existsSync(join(srv, 'x')));
  const denied = await sftp(server.port, ['put /etc/hostname h.txt', '-rm h.txt', 'ls h.txt'], { extra: ['-s', 'noremove'] });
  assert.equal(denied.code, 0, denied.stderr);
  assert.match(denied.stderr, /Permission denied/);
  assert.ok(existsSync(join(srv, 'h.txt')));
  // -u: created files get the client's mode less exactly this umask (not nacred's own)
  const local = join(dir, 'mode-0666');
  writeFileSync(local, 'm');
  chmodSync(local, 0o666);
  for (const [name, mode, dirMode] of [['loose', 0o666, 0o777], ['tight', 0o600, 0o700]] as const) {
    const r = await sftp(server.port, [`put ${local} umask-${name}`, `mkdir dir-${name}`], { extra: ['-s', name] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(join(srv, `umask-${name}`)).mode & 0o777, mode, name);
    assert.equal(statSync(join(srv, `dir-${name}`)).mode & 0o777, dirMode, name);
  }
  // ForceCommand internal-sftp: whatever the client asks for, SFTP (read-only here)
  const forced = await startNacred(o!, f, [`ForceCommand internal-sftp -R -d ${srv}`]);
  try {
    const r = await sftp(forced.port, ['ls ro.txt', '-mkdir forced-dir']);
    assert.equal(r.code, 0, r.stderr + forced.log());
    assert.match(r.stdout, /ro\.txt/);
    assert.match(r.stderr, /Permission denied/);
  } finally {
    await forced.stop();
  }
  for (const name of ['external', 'nacreext']) {
    const r = await sftp(server.port, [`put /etc/hostname via-${name}`, 'ls -l'], { extra: ['-s', name] });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(readFileSync(join(srv, `via-${name}`), 'utf8'), readFileSync('/etc/hostname', 'utf8'));
  }
});

test('sftp -b against npm start\'s server: the user\'s home, put, get, ls, rename, rm', { skip }, async () => {
  const home = join(dir, 'npm-home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  const key = keygen(o!, dir, 'ed25519', 'npm_key');
  writeFileSync(join(home, '.ssh', 'authorized_keys'), key.publicLine + '\n', { mode: 0o600 });
  const started = await startNpmServer({ port: 0, stateDir: join(dir, 'npm-state'), home, log: () => undefined });
  try {
    assert.match(started.sftpCommand, new RegExp(`^sftp -P ${started.address.port} -o UserKnownHostsFile=`));
    const payload = join(dir, 'npm-payload');
    writeFileSync(payload, randomBytes(300_000));
    const r = await sftp(started.address.port, ['pwd', `put ${payload} p.bin`, `get p.bin ${payload}.back`, 'mkdir d', 'rename p.bin d/q.bin', 'ls -l d', 'rm d/q.bin', 'rmdir d'], {
      login: started.username,
      key: key.privatePath,
      knownHosts: started.knownHostsPath,
      extra: ['-o', 'StrictHostKeyChecking=yes'],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Remote working directory: ${home}`));
    assert.equal(sha(`${payload}.back`), sha(payload));
    assert.match(r.stdout, /q\.bin/);
    assert.ok(!existsSync(join(home, 'd')));
  } finally {
    await started.close();
  }
});

/** A server speaking SFTP on stdin/stdout, after INIT: send a request, get its reply. */
async function stdioServer(command: string, args: string[]) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const framer = new SftpFramer(1 << 20);
  const queue: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  child.stdout.on('data', (d: Buffer) => {
    framer.push(d);
    for (let p = framer.next(); p; p = framer.next()) queue.push(p);
    wake?.();
  });
  // a server that stops answering fails the test instead of holding it
  const next = async (): Promise<Uint8Array> => {
    const until = Date.now() + 10_000;
    while (queue.length === 0) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`${command}: no reply`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    return queue.shift()!;
  };
  child.stdin.write(frame(FxpInit.encode({ version: 3, extensions: [] })));
  await next();
  return {
    async call(req: SftpRequest): Promise<SftpResponse> {
      child.stdin.write(frame(encodeRequest(req)));
      return decodeResponse(await next());
    },
    end: () => {
      child.stdin.end();
      setTimeout(() => child.kill(), 5000).unref();
    },
  };
}

/** READDIR's long names for `path` from a server speaking SFTP on stdin/stdout. */
async function longNames(command: string, args: string[], path: string): Promise<string[]> {
  const s = await stdioServer(command, args);
  const opened = await s.call({ type: 'opendir', id: 1, path });
  assert.equal(opened.type, 'handle');
  const handle = (opened as { handle: Uint8Array }).handle;
  const names: string[] = [];
  try {
    for (;;) {
      const r = await s.call({ type: 'readdir', id: 2, handle });
      if (r.type !== 'name') break;
      names.push(...r.names.map((n) => n.longname));
    }
  } finally {
    s.end();
  }
  return names.sort();
}

/** What a reply says, for comparing servers: its type and STATUS code (sftp-server's message too, except for FAILURE). */
function gist(r: SftpResponse): string {
  if (r.type !== 'status') return r.type;
  return r.code === FX.FAILURE ? 'status FAILURE' : `status ${r.code} ${r.text.message}`;
}

test('failures get the STATUS sftp-server gives: missing files, wrong kinds, existing targets, bad handles', { skip }, async () => {
  const top = join(dir, 'statuses');
  mkdirSync(join(top, 'full', 'x'), { recursive: true });
  writeFileSync(join(top, 'file'), 'f');
  symlinkSync('file', join(top, 'link'));
  const p = (name: string) => join(top, name);
  const bad = new Uint8Array([0, 0, 0, 99]);
  const requests: SftpRequest[] = [
    { type: 'stat', id: 1, path: p('missing') },
    { type: 'lstat', id: 2, path: p('missing/deeper') },
    { type: 'stat', id: 3, path: p('file/under-a-file') },
    { type: 'open', id: 4, path: p('missing'), pflags: FXF.READ, attrs: {} },
    { type: 'open', id: 5, path: p('file'), pflags: FXF.WRITE | FXF.CREAT | FXF.EXCL, attrs: {} },
    { type: 'opendir', id: 6, path: p('file') },
    { type: 'opendir', id: 7, path: p('missing') },
    { type: 'mkdir', id: 8, path: p('full'), attrs: {} },
    { type: 'rmdir', id: 9, path: p('full') },
    { type: 'rmdir', id: 10, path: p('file') },
    { type: 'remove', id: 11, path: p('missing') },
    { type: 'readlink', id: 12, path: p('file') },
    { type: 'readlink', id: 13, path: p('missing') },
    { type: 'realpath', id: 14, path: p('missing/deeper') },
    { type: 'rename', id: 15, oldPath: p('missing'), newPath: p('other') },
    { type: 'rename', id: 16, oldPath: p('link'), newPath: p('file') },
    { type: 'symlink', id: 17, targetPath: 'x', linkPath: p('file') },
    { type: 'setstat', id: 18, path: p('missing'), attrs: { mode: 0o600 } },
    { type: 'read', id: 19, handle: bad, offset: 0, length: 10 },
    { type: 'close', id: 20, handle: bad },
    { type: 'readdir', id: 21, handle: bad },
    { type: 'fstat', id: 22, handle: bad },
    { type: 'extended', id: 23, request: 'no-such@example.com', data: new Uint8Array() },
    { type: 'extended', id: 24, request: 'hardlink@openssh.com', data: ExtRequest['hardlink@openssh.com'].encode({ oldPath: p('missing'), newPath: p('h') }) },
    { type: 'extended', id: 25, request: 'statvfs@openssh.com', data: ExtRequest['statvfs@openssh.com'].encode({ path: p('missing') }) },
  ];
  const theirs = await stdioServer('/usr/lib/openssh/sftp-server', []);
  const ours = await stdioServer(process.execPath, [serverJs]);
  try {
    for (const req of requests) {
      assert.equal(gist(await ours.call(req)), gist(await theirs.call(req)), `${req.type} ${JSON.stringify(req).slice(0, 160)}`);
    }
  } finally {
    theirs.end();
    ours.end();
  }
});

test('READDIR long names are the ones sftp-server gives (modes, links, owners, sizes, recent and old dates)', { skip }, async () => {
  const top = join(dir, 'longnames', 'in');
  mkdirSync(join(top, 'sub'), { recursive: true });
  writeFileSync(join(top, 'a file'), 'hi\n');
  writeFileSync(join(top, 'old'), '');
  chmodSync(join(top, 'old'), 0o4755);
  utimesSync(join(top, 'old'), new Date('2020-01-05T10:00:00Z'), new Date('2020-01-05T10:00:00Z'));
  symlinkSync('a file', join(top, 'link'));
  const theirs = await longNames('/usr/lib/openssh/sftp-server', [], top);
  const ours = await longNames(process.execPath, [serverJs], top);
  assert.equal(ours.length, 6);
  assert.deepEqual(ours, theirs);
});

// -- nacred as root, two users --------------------------------------------

const tag = randomBytes(3).toString('hex');
const userA = `nacrsf-${tag}a`;
const userB = `nacrsf-${tag}b`;
let a: UserAccount | undefined;
let b: UserAccount | undefined;

function addUser(name: string): void {
  const r = spawnSync('useradd', ['-m', '-s', '/bin/sh', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`useradd ${name}: ${r.stderr}`);
}

test('nacred as root: each user\'s internal-sftp runs with their permissions; the other\'s 0600 file is unreadable; created files are the user\'s', { skip: skipRoot }, async (t) => {
  addUser(userA);
  addUser(userB);
  t.after(() => {
    for (const u of [userA, userB]) spawnSync('userdel', ['-r', '-f', u], { stdio: 'ignore' });
  });
  a = await lookupUserAccount(userA);
  b = await lookupUserAccount(userB);
  for (const acc of [a, b]) {
    const ssh = join(acc.home, '.ssh');
    mkdirSync(ssh, { recursive: true, mode: 0o700 });
    writeFileSync(join(ssh, 'authorized_keys'), f.userKeyLine + '\n', { mode: 0o600 });
    chownSync(ssh, acc.uid, acc.gid);
    chownSync(join(ssh, 'authorized_keys'), acc.uid, acc.gid);
  }
  // B's private file, and a world-readable home (so only the file's mode protects it)
  writeFileSync(join(b.home, 'secret.txt'), 'B only\n', { mode: 0o600 });
  chownSync(join(b.home, 'secret.txt'), b.uid, b.gid);
  spawnSync('chmod', ['755', b.home]);
  const users = await startNacred(o!, f, [`Match User ${userA},${userB}`, '  AuthorizedKeysFile .ssh/authorized_keys', '  Subsystem sftp internal-sftp -l INFO']);
  try {
    const payload = join(dir, 'a-payload');
    writeFileSync(payload, randomBytes(100_000));
    const ra = await sftp(users.port, ['pwd', `put ${payload} mine.bin`, 'mkdir mydir', `-get ${join(b.home, 'secret.txt')} ${join(dir, 'stolen.txt')}`, `-put ${payload} ${join(b.home, 'planted.bin')}`], { login: userA });
    assert.equal(ra.code, 0, ra.stderr + users.log());
    assert.match(ra.stdout, new RegExp(`Remote working directory: ${a.home}`));
    assert.match(ra.stderr, /Permission denied/);
    assert.ok(!existsSync(join(dir, 'stolen.txt')) || readFileSync(join(dir, 'stolen.txt'), 'utf8') === '', 'B\'s file was not read');
    assert.ok(!existsSync(join(b.home, 'planted.bin')));
    const st = statSync(join(a.home, 'mine.bin'));
    assert.deepEqual([st.uid, st.gid], [a.uid, a.gid], 'the file is A\'s');
    assert.equal(statSync(join(a.home, 'mydir')).uid, a.uid);
    assert.equal(sha(join(a.home, 'mine.bin')), sha(payload));
    // B reads their own file
    const rb = await sftp(users.port, [`get secret.txt ${join(dir, 'b-copy.txt')}`], { login: userB });
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(readFileSync(join(dir, 'b-copy.txt'), 'utf8'), 'B only\n');
    // the session ran in a process of A's: its log lines came back into nacred's log
    assert.match(users.log(), new RegExp(`open "${join(a.home, 'mine.bin')}" flags WRITE,CREATE,TRUNCATE`));
    assert.match(users.log(), new RegExp(`session opened for local user ${userA} from \\[127\\.0\\.0\\.1\\]`));
    assert.ok(lstatSync(join(a.home, 'mine.bin')).isFile());
  } finally {
    await users.stop();
  }

  // ChrootDirectory: root's session in nacred's process, A's in a process of A's; both see only the jail.
  const jail = `/srv/nacre-jail-${tag}`;
  mkdirSync(join(jail, a.home), { recursive: true, mode: 0o755 });
  t.after(() => rmSync(jail, { recursive: true, force: true }));
  chownSync(join(jail, a.home), a.uid, a.gid);
  writeFileSync(join(jail, 'inside.txt'), 'in the jail\n');
  const jailed = await startNacred(o!, f, ['Subsystem sftp internal-sftp', 'LogLevel VERBOSE', 'ChrootDirectory /srv/nacre-jail-%U', `Match User ${userA}`, '  AuthorizedKeysFile .ssh/authorized_keys', `  ChrootDirectory ${jail}`]);
  try {
    // root's ChrootDirectory (/srv/nacre-jail-0) does not exist: refused, nothing served
    const none = await sftp(jailed.port, ['pwd']);
    assert.notEqual(none.code, 0);
    assert.match(jailed.log(), /Unable to chdir to chroot path "\/srv\/nacre-jail-0"/);
    const ra = await sftp(jailed.port, ['pwd', `get /inside.txt ${join(dir, 'inside-copy.txt')}`, `-get ../../../etc/hostname ${join(dir, 'escaped.txt')}`, `put ${join(dir, 'a-payload')} jailed.bin`], { login: userA });
    assert.equal(ra.code, 0, ra.stderr + jailed.log());
    assert.match(ra.stdout, new RegExp(`Remote working directory: ${a.home}\n`));
    assert.equal(readFileSync(join(dir, 'inside-copy.txt'), 'utf8'), 'in the jail\n');
    assert.ok(!existsSync(join(dir, 'escaped.txt')));
    assert.equal(statSync(join(jail, a.home, 'jailed.bin')).uid, a.uid);
    // only internal-sftp runs under a ChrootDirectory
    const shell = await jailed.ssh([], ['id'], undefined);
    assert.notEqual(shell.code, 0);
  } finally {
    await jailed.stop();
  }
});
