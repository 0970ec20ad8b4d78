// SFTP over a program (issue 13): nacre-sftp and nacre-scp with `-D` (a
// local OpenSSH sftp-server, no SSH) and `-S` (OpenSSH's ssh as the
// transport, against an sshd), next to OpenSSH's sftp and scp with the same
// flags: the same files, statuses and messages, and the same arguments given
// to the -S program (a wrapper records them, then runs ssh). Also the
// library's openSftp() over a child sftp-server's standard streams.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, tempDir } from './openssh.js';
import { runCommand, startKeyedSshd, type KeyedSshd, type NacreRun } from './nacre-run.js';
import { openSftp, SftpError } from '../../src/index.js';

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const o = findOpenSsh();
const skip = !o || !existsSync(SFTP_SERVER) ? 'OpenSSH or its sftp-server missing' : false;
const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli');
/** OpenSSH's sftp and scp, beside its ssh. */
const OPENSSH_SFTP = o ? join(dirname(o.ssh), 'sftp') : 'sftp';
const OPENSSH_SCP = o ? join(dirname(o.ssh), 'scp') : 'scp';

let server: KeyedSshd;
let work: string;
let home: string;
let knownHosts: string;
/** A -S program that writes its arguments (one a line) to $ARGS_LOG, then runs ssh with them. */
let wrapper: string;

before(async () => {
  if (!o) return;
  server = await startKeyedSshd(o, 'over-program');
  work = tempDir('over-program');
  home = join(work, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${server.sshd.port} ${server.sshd.hostKeys.ed25519}\n`);
  wrapper = join(work, 'ssh-wrapper');
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$@" > "$ARGS_LOG"\nexec ${o.ssh} "$@"\n`);
  chmodSync(wrapper, 0o755);
});

after(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(program: string, args: readonly string[], input = '', env: Record<string, string> = {}): Promise<NacreRun> {
  return runCommand(program, args, { home, cwd: work, input, env });
}

const nacreSftp = (args: readonly string[], input = '', env: Record<string, string> = {}) => run(process.execPath, [join(CLI, 'nacre-sftp.js'), ...args], input, env);
const nacreScp = (args: readonly string[], env: Record<string, string> = {}) => run(process.execPath, [join(CLI, 'nacre-scp.js'), ...args], '', env);

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function fresh(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** ssh options for the test server, as -o words (no user config: HOME is empty). */
function sshOptions(): string[] {
  return ['-i', server.key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null'];
}

test('nacre-sftp -D: a batch against a local sftp-server, as OpenSSH\'s sftp -D runs it', { skip, timeout: 60000 }, async () => {
  const dir = fresh('direct-sftp');
  const data = randomBytes(300_000);
  writeFileSync(join(dir, 'src.bin'), data);
  const batch = [`cd ${dir}`, `lcd ${dir}`, 'put src.bin up.bin', 'get up.bin down.bin', 'mkdir sub', 'rename down.bin sub/moved.bin', '-rm missing.bin', 'ls sub', ''].join('\n');
  const ours = await nacreSftp(['-D', SFTP_SERVER, '-b', '-'], batch);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(sha(join(dir, 'up.bin')), sha(join(dir, 'src.bin')));
  assert.equal(sha(join(dir, 'sub', 'moved.bin')), sha(join(dir, 'src.bin')));
  const ourOut = ours.stdout;
  // OpenSSH's sftp with the same batch in a fresh copy prints the same.
  rmSync(join(dir, 'sub'), { recursive: true });
  rmSync(join(dir, 'up.bin'));
  const theirs = await run(OPENSSH_SFTP, ['-D', SFTP_SERVER, '-b', '-'], batch);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ourOut, theirs.stdout);
  // (OpenSSH's error() ends its lines with \r\n on standard error.)
  assert.equal(ours.stderr, theirs.stderr.replaceAll('\r\n', '\n'));
  // A command given with its arguments; "Attached to" unless quiet; a failed command ends a batch with 1.
  const args = await nacreSftp(['-D', `${SFTP_SERVER} -e -l INFO`, '-N', '-b', '-'], `cd ${dir}\nrm missing.bin\nls\n`);
  assert.equal(args.code, 1);
  assert.match(args.stderr, new RegExp(`^Attached to ${SFTP_SERVER} -e -l INFO\\.$`, 'm'));
  assert.match(args.stderr, /session opened for local user/, 'sftp-server -e logs to our stderr');
  assert.doesNotMatch(args.stdout, /sftp> ls/);
  // A server that cannot be run: sftp's words, 255.
  const missing = await nacreSftp(['-D', join(work, 'no-such-server'), '-b', '-'], 'pwd\n');
  assert.equal(missing.code, 255);
  assert.equal(missing.stderr, `exec: ${join(work, 'no-such-server')}: No such file or directory\nCouldn't initialise connection to server\n`);
  const unterminated = await nacreSftp(['-D', `${SFTP_SERVER} "-e`, '-b', '-'], 'pwd\n');
  assert.equal(unterminated.code, 255);
});

test('nacre-sftp -S ssh: the arguments sftp gives ssh, and a batch through OpenSSH\'s ssh to sshd', { skip, timeout: 60000 }, async () => {
  const dir = fresh('program-sftp');
  writeFileSync(join(dir, 'a.txt'), 'over ssh\n');
  const flags = ['-S', wrapper, ...sshOptions(), '-P', String(server.sshd.port), '-b', '-'];
  const batch = `get ${join(dir, 'a.txt')} ${join(dir, 'b.txt')}\nput ${join(dir, 'a.txt')} ${join(dir, 'c.txt')}\n`;
  const ourLog = join(work, 'sftp-ours.args');
  const theirLog = join(work, 'sftp-theirs.args');
  const ours = await nacreSftp([...flags, '127.0.0.1'], batch, { ARGS_LOG: ourLog });
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'over ssh\n');
  assert.equal(readFileSync(join(dir, 'c.txt'), 'utf8'), 'over ssh\n');
  const theirs = await run(OPENSSH_SFTP, [...flags, '127.0.0.1'], batch, { ARGS_LOG: theirLog });
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(readFileSync(ourLog, 'utf8'), readFileSync(theirLog, 'utf8'));
  assert.match(readFileSync(ourLog, 'utf8'), /^-oForwardX11 no\n-oPermitLocalCommand no\n-oClearAllForwardings yes\n/);
  // ssh refused (a key the server does not know): ssh's complaint, then sftp's; 255.
  const refused = await nacreSftp(['-S', wrapper, '-o', 'IdentityFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-P', String(server.sshd.port), '-b', '-', '127.0.0.1'], 'pwd\n', { ARGS_LOG: ourLog });
  assert.equal(refused.code, 255);
  assert.match(refused.stderr, /Permission denied/);
  assert.match(refused.stderr, /Couldn't initialise connection to server\n$/);
});

test('nacre-scp -D: files and a tree both ways with a local sftp-server; a missing file', { skip, timeout: 60000 }, async () => {
  const dir = fresh('direct-scp');
  mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'tree', 'sub', 'x.bin'), randomBytes(70_000));
  writeFileSync(join(dir, 'one.txt'), 'one\n');
  let r = await nacreScp(['-D', SFTP_SERVER, join(dir, 'one.txt'), `anyhost:${join(dir, 'up.txt')}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(dir, 'up.txt'), 'utf8'), 'one\n');
  r = await nacreScp(['-D', SFTP_SERVER, '-r', `anyhost:${join(dir, 'tree')}`, join(dir, 'copy')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha(join(dir, 'copy', 'sub', 'x.bin')), sha(join(dir, 'tree', 'sub', 'x.bin')));
  const ours = await nacreScp(['-D', SFTP_SERVER, `anyhost:${join(dir, 'missing')}`, dir]);
  const theirs = await run(OPENSSH_SCP, ['-D', SFTP_SERVER, `anyhost:${join(dir, 'missing')}`, dir]);
  // OpenSSH's scp names itself as run (here by its path).
  const asScp = (text: string) => text.replaceAll(`${OPENSSH_SCP}:`, 'scp:').replaceAll('\r\n', '\n');
  assert.deepEqual([ours.code, ours.stderr], [theirs.code, asScp(theirs.stderr)]);
  assert.equal(ours.stderr, `scp: ${join(dir, 'missing')}: No such file or directory\n`);
  const bad = await nacreScp(['-D', join(work, 'no-such-server'), join(dir, 'one.txt'), 'h:/tmp/x']);
  assert.deepEqual([bad.code, bad.stderr], [255, `${join(work, 'no-such-server')}: No such file or directory\nscp: Connection closed\n`]);
  // OpenSSH's scp says the same, or "lost connection" (status 1) when its first write meets the dead pipe first.
  const theirBad = await run(OPENSSH_SCP, ['-D', join(work, 'no-such-server'), join(dir, 'one.txt'), 'h:/tmp/x']);
  assert.match(asScp(theirBad.stderr), /No such file or directory\n(scp: Connection closed|lost connection)\n$/);
  assert.notEqual(theirBad.code, 0);
});

test('nacre-scp -S ssh: the arguments scp gives ssh (SFTP and -O), files both ways through OpenSSH\'s ssh', { skip, timeout: 60000 }, async () => {
  const dir = fresh('program-scp');
  writeFileSync(join(dir, 'a.bin'), randomBytes(100_000));
  chmodSync(join(dir, 'a.bin'), 0o640);
  const flags = ['-S', wrapper, ...sshOptions(), '-P', String(server.sshd.port)];
  for (const mode of [[], ['-O']]) {
    const tag = mode.length ? 'legacy' : 'sftp';
    const ourLog = join(work, `scp-ours-${tag}.args`);
    const theirLog = join(work, `scp-theirs-${tag}.args`);
    let r = await nacreScp([...mode, ...flags, '-p', join(dir, 'a.bin'), `127.0.0.1:${join(dir, `up-${tag}.bin`)}`], { ARGS_LOG: ourLog });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(join(dir, `up-${tag}.bin`)), sha(join(dir, 'a.bin')));
    assert.equal(statSync(join(dir, `up-${tag}.bin`)).mode & 0o777, 0o640);
    r = await run(OPENSSH_SCP, [...mode, ...flags, '-p', join(dir, 'a.bin'), `127.0.0.1:${join(dir, `up-${tag}-theirs.bin`)}`], '', { ARGS_LOG: theirLog });
    assert.equal(r.code, 0, r.stderr);
    const ourArgs = readFileSync(ourLog, 'utf8').split('\n');
    const theirArgs = readFileSync(theirLog, 'utf8').split('\n');
    // The same list but for the target's name, which differs by one word.
    assert.deepEqual(ourArgs.slice(0, -2), theirArgs.slice(0, -2), tag);
    r = await nacreScp([...mode, ...flags, `127.0.0.1:${join(dir, 'a.bin')}`, join(dir, `down-${tag}.bin`)], { ARGS_LOG: ourLog });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(join(dir, `down-${tag}.bin`)), sha(join(dir, 'a.bin')));
  }
  const missing = await nacreScp([...flags, `127.0.0.1:${join(dir, 'nope')}`, dir], { ARGS_LOG: join(work, 'x.args') });
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `scp: ${join(dir, 'nope')}: No such file or directory\n`);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('nope')), []);
});

test('library: openSftp() over a child sftp-server\'s stdin and stdout', { skip, timeout: 60000 }, async () => {
  const dir = fresh('open-sftp');
  const child = spawn(SFTP_SERVER, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const sftp = await openSftp(Duplex.from({ readable: child.stdout, writable: child.stdin }));
  assert.equal(sftp.version, 3);
  assert.ok(sftp.extensions.has('posix-rename@openssh.com'));
  const data = randomBytes(1024 * 1024 + 1);
  writeFileSync(join(dir, 'src.bin'), data);
  await sftp.put(join(dir, 'src.bin'), join(dir, 'remote.bin'));
  await sftp.get(join(dir, 'remote.bin'), join(dir, 'back.bin'));
  assert.equal(sha(join(dir, 'back.bin')), sha(join(dir, 'src.bin')));
  assert.equal((await sftp.stat(join(dir, 'remote.bin'))).size, data.length);
  await assert.rejects(sftp.stat(join(dir, 'missing')), (err: unknown) => err instanceof SftpError && err.code === 2);
  await sftp.end();
  assert.equal(await exited, 0);
  // A stream that ends before the server's VERSION: the open fails, nothing hangs.
  const silent = spawn('true', [], { stdio: ['pipe', 'pipe', 'inherit'] });
  await assert.rejects(openSftp(Duplex.from({ readable: silent.stdout, writable: silent.stdin })));
  const controller = new AbortController();
  const sleeper = spawn('sleep', ['30'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const opening = openSftp(Duplex.from({ readable: sleeper.stdout, writable: sleeper.stdin }), { signal: controller.signal });
  controller.abort();
  await assert.rejects(opening, /aborted/);
  sleeper.kill();
});
