// nacre-scp and nacre-sftp through a control master, with names that are
// not UTF-8, against OpenSSH's sshd. `nacre-scp -O -o ControlPath=sock` joins the
// `nacre -M` master listening there, as scp's ssh does, and the remote
// `scp -f`/`scp -t` command travels to the master as its bytes (the mux
// session request carries an SSH string) and on to sshd as an exec request
// of those bytes; `-S nacre` gets there through nacre (run as scp runs ssh);
// without -O the SFTP subsystem runs through the master. Side by side with
// OpenSSH's scp -O through OpenSSH's own `ssh -M` master: the same files.
// nacre-sftp's batch through the master beside OpenSSH's sftp through ssh -M.
// (And `nacre -f` with such a command: its background copy gets the bytes.)
// And against OpenSSH's master, which passes sessions as file descriptors
// (Node cannot receive them): nacre connects directly, and the copy works.
// The odd bytes are made by the shell (Node's spawn takes strings only).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, keygen, runSsh, startSshd, tempDir, type Sshd } from './openssh.js';
import { runRaw, script, type RawRun } from './byte-names-peer.js';

const here = dirname(fileURLToPath(import.meta.url));
const SCP = join(here, '../../src/cli/nacre-scp.js');
const SFTP = join(here, '../../src/cli/nacre-sftp.js');
const NACRE = join(here, '../../src/cli/nacre.js');
const o = findOpenSsh();
const skip = process.platform !== 'linux' ? 'raw arguments come from /proc/self/cmdline (Linux)' : !o || !existsSync('/usr/bin/scp') ? 'OpenSSH or its scp missing' : false;

let work: string;
let key: string;
let knownHosts: string;
let sshd: Sshd;
let nacreProgram: string;

before(async () => {
  if (skip) return;
  work = tempDir('scp-o-bytes-mux');
  const k = keygen(o!, work, 'ed25519', 'client');
  key = k.privatePath;
  // DEBUG1 (the default): each accepted connection logs its peer's version, which is counted.
  sshd = await startSshd(o!, ['MaxSessions 30'], { hostKeyTypes: ['ed25519'], authorizedKeys: k.publicLine + '\n' });
  knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKeys.ed25519!}\n`);
  // The -S program: nacre, given the bytes scp gives it.
  nacreProgram = script(work, 'nacre', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(NACRE)} "$@"`);
});

after(async () => {
  if (skip) return;
  await sshd?.stop();
  rmSync(work, { recursive: true, force: true });
});

const b = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

const common = (): string[] => ['-F', 'none', '-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes'];

/** SSH connections sshd accepted so far (the harness's port probe sends no version and is not counted). */
function accepted(): number {
  return (sshd.log().match(/Remote protocol version 2\.0, remote software version/g) ?? []).length;
}

/** Starts a master (`program` is nacre or OpenSSH's ssh) on `path` and waits for its socket. */
async function startMaster(program: readonly string[], path: string): Promise<ChildProcess> {
  const child = spawn(program[0]!, [...program.slice(1), '-M', '-S', path, '-N', ...common(), '-p', String(sshd.port), '127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: work } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 300 && !existsSync(path); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(existsSync(path), `the master did not listen: ${err}`);
  return child;
}

async function stopMaster(child: ChildProcess, path: string): Promise<void> {
  const exited = child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
  await runSsh(o!, ['-S', path, '-O', 'exit', 'x']);
  await exited;
}

/** A tool's run in `cwd` (`program` ends with -O for the legacy protocol), through ControlPath `path` (bytes allowed in `args`). */
function scpO(program: readonly string[], path: string, cwd: string, ...args: (string | Buffer)[]): Promise<RawRun> {
  return runRaw(cwd, [...program, '-q', ...common(), '-o', `ControlPath=${path}`, '-P', String(sshd.port), ...args], { HOME: work });
}

/** The files under `dir` (no subdirectories here): each name as latin1 with its contents. */
function files(dir: string): string[] {
  return (readdirSync(dir, { encoding: 'buffer' }) as Buffer[]).map((n) => `${n.toString('latin1')} = ${readFileSync(Buffer.concat([Buffer.from(dir + '/'), n])).toString('latin1')}`).sort();
}

/** Up a file named by bytes that are not UTF-8, then down again under another such name; the files each side ends with. */
async function copyBothWays(program: readonly string[], path: string, dir: string): Promise<{ remote: string[]; back: string[] }> {
  const local = join(dir, 'local');
  const remote = join(dir, 'remote');
  const back = join(dir, 'back');
  for (const d of [local, remote, back]) mkdirSync(d, { recursive: true });
  writeFileSync(b(local, '/x', [0xff]), 'through the master\n');
  const up = await scpO(program, path, local, b('x', [0xff]), b(`127.0.0.1:${remote}/caf`, [0xe9]));
  assert.equal(up.code, 0, up.stderr);
  const down = await scpO(program, path, back, b(`127.0.0.1:${remote}/caf`, [0xe9]), b('n', [0xfe]));
  assert.equal(down.code, 0, down.stderr);
  // A remote source that is not there: the far end's message names its bytes.
  const missing = await scpO(program, path, back, b(`127.0.0.1:${remote}/nope`, [0xfd]), '.');
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /nope\\375: No such file or directory/);
  return { remote: files(remote), back: files(back) };
}

test('nacre-scp through a nacre -M master (-O, -O -S nacre, SFTP): names that are not UTF-8 both ways, over the one connection; as OpenSSH scp -O through ssh -M', { skip, timeout: 120000 }, async () => {
  const results: { remote: string[]; back: string[] }[] = [];
  const ours = join(work, 'ours');
  mkdirSync(ours, { mode: 0o700 });
  const path = join(ours, 'ctl');
  const master = await startMaster([process.execPath, NACRE], path);
  try {
    const before = accepted();
    for (const [name, program] of [
      ['O', [process.execPath, SCP, '-O']],
      ['O-S', [process.execPath, SCP, '-O', '-S', nacreProgram]],
      ['sftp', [process.execPath, SCP]],
    ] as const) {
      const dir = join(ours, name);
      mkdirSync(dir);
      results.push(await copyBothWays(program, path, dir));
    }
    assert.equal(accepted(), before, 'every copy went through the master: sshd saw no new connection');
  } finally {
    await stopMaster(master, path);
  }
  // OpenSSH's scp through OpenSSH's master.
  const theirs = join(work, 'theirs');
  mkdirSync(theirs, { mode: 0o700 });
  const path2 = join(theirs, 'ctl');
  const master2 = await startMaster([o!.ssh], path2);
  try {
    const before = accepted();
    results.push(await copyBothWays(['/usr/bin/scp', '-O'], path2, theirs));
    assert.equal(accepted(), before);
  } finally {
    await stopMaster(master2, path2);
  }
  for (const r of results) assert.deepEqual(r, { remote: ['caf\xe9 = through the master\n'], back: ['n\xfe = through the master\n'] });
});

test("nacre as the -S program against OpenSSH's own master: no sessions through it (descriptors), so nacre connects directly and the copy still works", { skip, timeout: 90000 }, async () => {
  const dir = join(work, 'mixed');
  mkdirSync(dir, { mode: 0o700 });
  const path = join(dir, 'ctl');
  const master = await startMaster([o!.ssh], path);
  try {
    const before = accepted();
    for (const [name, program, connections] of [
      ['O-S', [process.execPath, SCP, '-O', '-S', nacreProgram], 3],
      ['O', [process.execPath, SCP, '-O'], 3],
    ] as const) {
      const at = accepted();
      mkdirSync(join(dir, name));
      const r = await copyBothWays(program, path, join(dir, name));
      assert.deepEqual(r, { remote: ['caf\xe9 = through the master\n'], back: ['n\xfe = through the master\n'] });
      assert.equal(accepted(), at + connections, 'one connection of its own per copy');
    }
    assert.ok(accepted() > before);
  } finally {
    await stopMaster(master, path);
  }
});

test("nacre-sftp through a nacre -M master: a batch naming bytes that are not UTF-8, over the one connection; the same output as OpenSSH's sftp through ssh -M", { skip, timeout: 90000 }, async () => {
  const outputs: string[] = [];
  for (const [name, master, sftp] of [
    ['sftp-ours', [process.execPath, NACRE], [process.execPath, SFTP]],
    ['sftp-theirs', [o!.ssh], ['/usr/bin/sftp']],
  ] as const) {
    const dir = join(work, name);
    mkdirSync(join(dir, 'remote'), { recursive: true, mode: 0o700 });
    writeFileSync(b(dir, '/remote/x', [0xff]), 'sftp through the master\n');
    const batch = join(dir, 'batch');
    writeFileSync(batch, b(`ls -1 ${dir}/remote\nget ${dir}/remote/x`, [0xff], ' ', `${dir}/got`, [0xfe], '\n'));
    const path = join(dir, 'ctl');
    const m = await startMaster(master, path);
    try {
      const before = accepted();
      const r = await runRaw(dir, [...sftp, '-q', '-b', batch, ...common(), '-o', `ControlPath=${path}`, '-P', String(sshd.port), '127.0.0.1'], { HOME: work });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(accepted(), before, 'through the master: sshd saw no new connection');
      assert.equal(readFileSync(b(dir, '/got', [0xfe])).toString(), 'sftp through the master\n');
      outputs.push(r.stdout.split(dir).join('DIR'));
    } finally {
      await stopMaster(m, path);
    }
  }
  assert.match(outputs[0]!, /DIR\/remote\/x\\377/);
  assert.equal(outputs[0], outputs[1]);
});

test('nacre -f with a command naming bytes that are not UTF-8: the background copy runs those bytes, as ssh -f', { skip, timeout: 60000 }, async () => {
  const dir = join(work, 'fork');
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(b(dir, '/in', [0xff]), 'read by the background copy\n');
  const r = await runRaw(dir, [process.execPath, NACRE, '-f', ...common(), '-p', String(sshd.port), '127.0.0.1', b(`cat ${dir}/in`, [0xff], ` > ${dir}/out.tmp && mv ${dir}/out.tmp ${dir}/out`)], { HOME: work });
  assert.equal(r.code, 0, r.stderr);
  // The foreground returns once the copy is logged in; the copy then runs the command.
  for (let i = 0; i < 400 && !existsSync(join(dir, 'out')); i++) await new Promise((res) => setTimeout(res, 50));
  assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'read by the background copy\n');
});
