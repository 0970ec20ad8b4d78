// File names that are not UTF-8 against OpenSSH, both ways round (issue 13,
// "directory trees with ... odd names"): OpenSSH's sftp against nacred's
// internal-sftp, and the library client against sshd with sftp-server and
// internal-sftp, each uploading and downloading a tree whose names hold 0x80,
// 0xff, a lone continuation byte and an overlong sequence; names and
// contents byte-identical after the round trip. Also what sftp's `ls` prints
// for such names, nacre-sftp showing and reaching them as sftp does (batch
// lines of raw bytes, globs, Tab at the prompt through tmux), and nacre-scp
// -r moving such a tree both ways.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findOpenSsh, keygen, startSshd, tempDir, type Sshd } from './openssh.js';
import { findTmux, TmuxPane } from './nacre-tmux.js';
import { nacredFixture, repoRoot, startNacred, user, type NacredFixture, type RunningNacred } from './nacred-helpers.js';
import { connect } from '../../src/client/client.js';
import { pathFromBytes, showPath } from '../../src/wire/path-bytes.js';

const o = findOpenSsh();
const sftpBin = o ? join(dirname(o.ssh), 'sftp') : '';
const skip = !o || !existsSync(sftpBin) ? 'OpenSSH sftp is not installed' : false;
const sftpServer = '/usr/lib/openssh/sftp-server';
/** Whether a UTF-8 locale exists for sftp (in the C locale it shows every non-ASCII byte as \ooo, good UTF-8 too). */
const utf8Locale = /^c\.utf-?8$/im.test(spawnSync('locale', ['-a'], { encoding: 'utf8' }).stdout ?? '');
/** Lines of sftp's output that only a UTF-8 locale shows as nacre-sftp does (those naming well-formed non-ASCII). */
const localeDependent = (out: string) => (utf8Locale ? out : out.split('\n').filter((l) => !/[\u0080-\u00ff]|\\3[0-7][0-7]\\2/.test(l)).join('\n'));

/** 0x80 alone, 0xff, a lone continuation byte, an overlong '/', Latin-1 'é', and good UTF-8 beside them. */
const NAMES: Buffer[] = [
  Buffer.from([0x80]),
  Buffer.from([0x78, 0xff]),
  Buffer.from([0x61, 0xbf, 0x62]),
  Buffer.from([0x6f, 0xc0, 0xaf, 0x6f]),
  Buffer.from([0x63, 0x61, 0x66, 0xe9]),
  Buffer.from('ünï'),
];

const bytePath = (root: string, ...names: Buffer[]) => Buffer.concat([Buffer.from(root), ...names.flatMap((n) => [Buffer.from('/'), n])]);

/** A directory per name, each with a file per name (contents differ), and a file per name at the top. */
function makeTree(root: string): void {
  mkdirSync(root, { recursive: true });
  for (const d of NAMES) {
    mkdirSync(bytePath(root, d));
    for (const n of NAMES) writeFileSync(bytePath(root, d, n), Buffer.concat([d, n, randomBytes(100 + n.length * 1000)]));
    writeFileSync(bytePath(root, Buffer.concat([Buffer.from('f-'), d])), randomBytes(33_000));
  }
}

/** The tree as sorted `hex(path) hex(content)` lines, names read as bytes. */
function describeTree(root: string | Buffer, rel: Buffer = Buffer.alloc(0)): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root, { encoding: 'buffer' })) {
    const p = Buffer.concat([Buffer.from(root), Buffer.from('/'), name]);
    const r = rel.length === 0 ? name : Buffer.concat([rel, Buffer.from('/'), name]);
    if (lstatSync(p).isDirectory()) out.push(`${r.toString('hex')}/`, ...describeTree(p, r));
    else out.push(`${r.toString('hex')} ${readFileSync(p).toString('hex')}`);
  }
  return out.sort();
}

let work = '';
let f: NacredFixture;
let nacred: RunningNacred;
let sshd: Sshd[] = [];
let key = '';

before(async () => {
  if (skip) return;
  work = tempDir('sftp-bytes');
  f = nacredFixture(o!);
  mkdirSync(join(work, 'nacred-srv'));
  nacred = await startNacred(o!, f, [`Subsystem sftp internal-sftp -d ${join(work, 'nacred-srv')}`]);
  const keys = tempDir('sftp-bytes-keys');
  const k = keygen(o!, keys, 'ed25519', 'id');
  key = readFileSync(k.privatePath, 'utf8');
  writeFileSync(join(work, 'id'), key, { mode: 0o600 });
  rmSync(keys, { recursive: true, force: true });
  for (const subsystem of [existsSync(sftpServer) ? sftpServer : 'internal-sftp', 'internal-sftp']) {
    const s = await startSshd(o!, ['PermitRootLogin yes', `Subsystem sftp ${subsystem}`], { hostKeyTypes: ['ed25519'], authorizedKeys: k.publicLine + '\n' });
    chmodSync(s.dir, 0o755);
    chmodSync(join(s.dir, 'authorized_keys'), 0o644);
    sshd.push(s);
  }
});

after(async () => {
  if (skip) return;
  await nacred?.stop();
  for (const s of sshd) await s.stop();
  sshd = [];
  f?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** OpenSSH's sftp -b with a batch of raw bytes; stdout and stderr as bytes. */
function sftpBatch(port: number, batch: Buffer, knownHosts: string, identity: string, login: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const file = join(work, `batch-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, batch);
  const args = ['-F', 'none', '-b', file, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'IdentitiesOnly=yes', '-i', identity, '-P', String(port), `${login}@127.0.0.1`];
  return new Promise((resolve) => {
    // A UTF-8 locale, so that sftp shows well-formed non-ASCII names as they are.
    const child = spawn(sftpBin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
  });
}

const lines = (...parts: (string | Buffer)[][]) => Buffer.concat(parts.map((l) => Buffer.concat([...l.map((p) => Buffer.from(p)), Buffer.from('\n')])));

test('OpenSSH sftp against nacred: put -r and get -r of a tree of non-UTF-8 names, byte-identical; get and rm of one by its raw name; ls shows each odd byte as \\ooo', { skip }, async () => {
  const local = join(work, 'sftp-local');
  makeTree(local);
  const down = join(work, 'sftp-down');
  const srv = join(work, 'nacred-srv');
  const odd = NAMES[1]!;
  const r = await sftpBatch(
    nacred.port,
    lines(
      [`put -r ${local} tree`],
      [`get -r tree ${down}`],
      ['get tree/', odd, '/', odd, ` ${join(work, 'one')}`],
      ['rm tree/f-', odd],
      ['ls -1 tree'],
    ),
    f.knownHosts,
    f.userKey,
    user,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(describeTree(down), describeTree(local));
  const remaining = describeTree(join(srv, 'tree'));
  assert.deepEqual(remaining, describeTree(local).filter((l) => !l.startsWith(Buffer.concat([Buffer.from('f-'), odd]).toString('hex') + ' ')));
  assert.deepEqual(readFileSync(join(work, 'one')), readFileSync(bytePath(local, odd, odd)));
  // sftp prints the names itself (a byte outside UTF-8 as \ooo): nacre-sftp's showPath() has it the same way.
  const listed = r.stdout.toString('utf8');
  for (const n of NAMES.slice(0, -1)) assert.ok(listed.includes(`\ntree/${showPath(pathFromBytes(n))}\n`), `${showPath(pathFromBytes(n))} in ${listed}`);
  if (utf8Locale) assert.ok(listed.includes('\ntree/ünï\n'), listed);
  assert.ok(listed.includes('\ntree/x\\377\n'), listed);
});

for (const [i, name] of ['sftp-server', 'internal-sftp'].entries()) {
  test(`library client against sshd (${name}): put and get of a tree of non-UTF-8 names, byte-identical; list() gives the escaped names`, { skip }, async () => {
    const s = sshd[i]!;
    const hostKey = Buffer.from(s.hostKeys.ed25519!.split(' ')[1]!, 'base64');
    const c = await connect({ host: '127.0.0.1', port: s.port, username: user, privateKey: key, verifyHostKey: (info) => hostKey.equals(Buffer.from(info.key)) });
    try {
      const sftp = await c.sftp();
      const base = join(work, `lib-${name}`);
      const local = join(base, 'local');
      makeTree(local);
      await sftp.put(local, join(base, 'remote'), { recursive: true });
      assert.deepEqual(describeTree(join(base, 'remote')), describeTree(local));
      const listed = (await sftp.list(join(base, 'remote'))).map((e) => e.filename).filter((n) => !n.startsWith('f-'));
      assert.deepEqual(listed.sort(), NAMES.map((n) => pathFromBytes(n)).sort());
      await sftp.get(join(base, 'remote'), join(base, 'down'), { recursive: true });
      assert.deepEqual(describeTree(join(base, 'down')), describeTree(local));
      const odd = pathFromBytes(NAMES[0]!);
      await sftp.rename(join(base, 'remote', odd, odd), join(base, 'remote', odd, `${odd}.renamed`));
      assert.ok(lstatSync(Buffer.concat([bytePath(base, Buffer.from('remote'), NAMES[0]!, NAMES[0]!), Buffer.from('.renamed')])).isFile());
      await sftp.end();
    } finally {
      await c.close();
    }
  });
}

const NACRE_SFTP = join(repoRoot, 'dist/src/cli/nacre-sftp.js');

/** nacre-sftp -b with a batch of raw bytes against sshd `s` (as the same user the library tests log in as). */
function nacreSftpBatch(s: Sshd, batch: Buffer, cwd: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const file = join(work, `nbatch-${randomBytes(4).toString('hex')}`);
  writeFileSync(file, batch);
  const args = ['-F', 'none', '-b', file, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-i', join(work, 'id'), '-P', String(s.port), `${user}@127.0.0.1`];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NACRE_SFTP, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: work } });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
  });
}

test('nacre-sftp against sshd: ls shows non-UTF-8 names as OpenSSH sftp does; get by raw name and by glob, rm by glob, put -r and get -r byte for byte', { skip }, async () => {
  const s = sshd[0]!;
  const base = join(work, 'nacre-sftp');
  const remote = join(base, 'remote');
  makeTree(remote);
  const ls = lines([`ls -1 ${remote}`], [`ls -1 ${remote}/f-*`]);
  const theirs = await sftpBatch(s.port, ls, '/dev/null', join(work, 'id'), user);
  const ours = await nacreSftpBatch(s, ls, base);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(localeDependent(ours.stdout.toString('latin1')), localeDependent(theirs.stdout.toString('latin1')));
  const [n0, n1, , n3] = NAMES as [Buffer, Buffer, Buffer, Buffer];
  const down = join(base, 'down');
  mkdirSync(down);
  const r = await nacreSftpBatch(
    s,
    lines(
      ['get ', remote, '/', n1, '/', n1, ' ', down, '/one'],
      [`get ${remote}/f-o* ${down}/`],
      [`rm ${remote}/f-x*`],
      [`put -r ${remote} ${base}/up`],
      [`get -r ${base}/up ${down}/tree`],
    ),
    base,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readFileSync(join(down, 'one')), readFileSync(bytePath(remote, n1, n1)));
  assert.deepEqual(readFileSync(bytePath(down, Buffer.concat([Buffer.from('f-'), n3]))), readFileSync(bytePath(remote, Buffer.concat([Buffer.from('f-'), n3]))));
  assert.ok(!existsSync(bytePath(remote, Buffer.concat([Buffer.from('f-'), n1]))), 'removed by glob');
  assert.deepEqual(describeTree(join(base, 'up')), describeTree(remote));
  assert.deepEqual(describeTree(join(down, 'tree')), describeTree(remote));
  // The echoed commands and messages show the names as sftp would.
  const said = r.stdout.toString('latin1');
  assert.ok(said.includes(`sftp> get ${remote}/x\\377/x\\377 ${down}/one\n`), said);
  assert.ok(said.includes(`Entering ${remote}/${showPath(pathFromBytes(n0))}\n`), said);
});

test('nacre-scp -r against sshd: a tree of non-UTF-8 names up and down, byte for byte', { skip }, async () => {
  const s = sshd[0]!;
  const base = join(work, 'nacre-scp');
  const local = join(base, 'local');
  makeTree(local);
  const scp = (...args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const opts = ['-F', 'none', '-q', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-i', join(work, 'id'), '-P', String(s.port)];
      const child = spawn(process.execPath, [join(repoRoot, 'dist/src/cli/nacre-scp.js'), ...opts, ...args], { cwd: base, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: work } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  const up = await scp('-r', local, `${user}@127.0.0.1:${base}/up`);
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(describeTree(join(base, 'up')), describeTree(local));
  const down = await scp('-r', `${user}@127.0.0.1:${base}/up`, join(base, 'down'));
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(describeTree(join(base, 'down')), describeTree(local));
});

test('nacre-sftp at the prompt: tab completion of a non-UTF-8 name fetches the very file', { skip: skip || (!findTmux() ? 'tmux is not installed' : false) }, async () => {
  const s = sshd[1]!;
  const base = join(work, 'tmux');
  const remote = join(base, 'remote');
  const local = join(base, 'local');
  mkdirSync(remote, { recursive: true });
  mkdirSync(local);
  const name = Buffer.from([0x71, 0x71, 0xff, 0x7a]);
  const data = randomBytes(5000);
  writeFileSync(bytePath(remote, name), data);
  const config = join(base, 'config');
  writeFileSync(config, `Host peer\n  HostName 127.0.0.1\n  Port ${s.port}\n  User ${user}\n  IdentityFile ${join(work, 'id')}\n  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n`);
  const pane = new TmuxPane(findTmux()!, base, 110, 30);
  try {
    await pane.waitFor(/^pane\$$/m, 10000, 'the local prompt');
    pane.line(`cd ${local} && node ${NACRE_SFTP} -F ${config} peer:${remote}; echo "status=$?"`);
    await pane.waitFor(/Changing to: .*\nsftp>$/m, 20000, 'the sftp prompt');
    pane.type('get qq');
    pane.keys('Tab');
    // The prompt shows the odd byte as sftp shows names (\377); the line holds the name as listed.
    await pane.waitFor(/sftp> get qq\\377z$/m, 10000, 'the completed name');
    pane.keys('Enter');
    await pane.waitFor(/Fetching .*\/qq\\377z to qq\\377z/, 20000, 'the Fetching line');
    await pane.waitFor(/\nsftp>$/m, 10000, 'the prompt after the transfer');
    pane.line('bye');
    await pane.waitFor(/^status=0$/m, 20000, 'the exit status');
    assert.deepEqual(readFileSync(bytePath(local, name)), data);
  } finally {
    pane.kill();
  }
});
