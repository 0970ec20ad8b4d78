// nacre-scp and nacre-sftp given names that are not UTF-8 on the command
// line (read back from /proc/self/cmdline, src/cli/common/raw-argv.ts), and
// nacre-scp's -D with -P, each run side by side with OpenSSH's scp or sftp
// over OpenSSH's sftp-server: `-D sftp-server` for scp, `-S` a stand-in ssh
// that runs sftp-server for sftp (no sshd needed; the server side is
// OpenSSH's own). The odd bytes are made by the shell (Node's spawn takes
// strings only).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, tempDir } from './openssh.js';
import { runRaw, script, SFTP_SERVER, standInSsh, type RawRun } from './byte-names-peer.js';

const here = dirname(fileURLToPath(import.meta.url));
const SCP = join(here, '../../src/cli/nacre-scp.js');
const SFTP = join(here, '../../src/cli/nacre-sftp.js');
const o = findOpenSsh();
const skip = process.platform !== 'linux' ? 'raw arguments come from /proc/self/cmdline (Linux)' : !o || !existsSync(SFTP_SERVER) || !existsSync('/usr/bin/scp') ? 'OpenSSH scp, sftp or sftp-server missing' : false;

let work: string;
/** Records its arguments (one a line) in `args` beside it, then is OpenSSH's sftp-server. */
let recorder: string;
/** Stands in for ssh: ignores its arguments and is OpenSSH's sftp-server. */
let fakeSsh: string;

before(() => {
  if (skip) return;
  work = tempDir('byte-args');
  recorder = script(work, 'record-server', `printf '%s\\n' "$@" > "$(dirname "$0")/args"\nexec ${SFTP_SERVER}`);
  fakeSsh = standInSsh(work);
});

after(() => {
  if (skip) return;
  rmSync(work, { recursive: true, force: true });
});

/** Runs `argv` (bytes allowed) in `cwd`. */
const run = (cwd: string, argv: readonly (string | Uint8Array)[]): Promise<RawRun> => runRaw(cwd, argv, { HOME: work });

const bytes = (...b: number[]): Buffer => Buffer.from(b);
/** The names in `dir`, each as its bytes in hex (so odd bytes compare exactly). */
const namesOf = (dir: string): string[] => (readdirSync(dir, { encoding: 'buffer' }) as Buffer[]).map((n) => n.toString('hex')).sort();

for (const [tool, program] of [
  ['nacre-scp', [process.execPath, SCP]],
  ['OpenSSH scp', ['/usr/bin/scp']],
] as const) {
  test(`${tool} -D sftp-server: a file named by bytes that are not UTF-8 copied up and back under its exact name`, { skip }, async () => {
    const dir = join(work, tool.replace(/\W/g, '-'));
    mkdirSync(join(dir, 'up'), { recursive: true });
    const ff = bytes(0xff);
    const cafe = Buffer.concat([Buffer.from('caf'), bytes(0xe9)]);
    writeFileSync(Buffer.concat([Buffer.from(dir + '/'), ff]), 'ff bytes\n');
    // Upload: the local name as raw bytes, into up/ on the "remote" side (same machine, server in `dir`).
    const up = await run(dir, [...program, '-q', '-D', SFTP_SERVER, ff, 'h:up/']);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(namesOf(join(dir, 'up')), ['ff']);
    // Download: the remote name as raw bytes, to a local name that is not UTF-8 either.
    const down = await run(dir, [...program, '-q', '-D', SFTP_SERVER, Buffer.concat([Buffer.from('h:up/'), ff]), cafe]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(Buffer.concat([Buffer.from(dir + '/'), cafe])).toString(), 'ff bytes\n');
    // A missing one: scp's message shows the byte as \ooo, status 1 (OpenSSH's log line names its path and ends in \r\n).
    const missing = await run(dir, [...program, '-q', '-D', SFTP_SERVER, Buffer.concat([Buffer.from('h:nope'), bytes(0xfe)]), '.']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.replace(/^\S*scp: /, 'scp: ').replace(/\r\n/g, '\n'), 'scp: nope\\376: No such file or directory\n');
  });
}

test('nacre-scp copies a local file named by bytes that are not UTF-8 to another such name, and shows the cp it runs as OpenSSH scp does', { skip }, async () => {
  const dir = join(work, 'local-to-local');
  mkdirSync(dir);
  writeFileSync(Buffer.concat([Buffer.from(dir + '/a'), bytes(0xff)]), 'local\n');
  const lines: string[] = [];
  for (const [program, target] of [
    [[process.execPath, SCP], bytes(0xfe)],
    [['/usr/bin/scp'], bytes(0xfd)],
  ] as const) {
    const r = await run(dir, [...program, '-v', Buffer.concat([Buffer.from('a'), bytes(0xff)]), Buffer.concat([Buffer.from('b'), target])]);
    assert.equal(r.code, 0, r.stderr);
    lines.push(r.stderr.split('\n').find((l) => l.startsWith('Executing:'))!.replace(/\\37[56]'\r?$/, "'"));
    assert.equal(readFileSync(Buffer.concat([Buffer.from(dir + '/b'), target])).toString(), 'local\n');
  }
  assert.equal(lines[0], lines[1]);
  assert.equal(lines[0], "Executing: cp '--' 'a\\377' 'b'");
});

test('nacre-scp -D with -P gives the server program the arguments OpenSSH scp gives it (-p PORT -- host sftp)', { skip }, async () => {
  const dir = join(work, 'direct-port');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a'), 'a\n');
  const recorded = async (program: readonly string[], extra: string[]): Promise<string> => {
    rmSync(join(work, 'args'), { force: true });
    // The recorder's sftp-server ignores what it was given, so the copy itself works either way.
    const r = await run(dir, [...program, '-q', ...extra, '-D', recorder, 'a', 'someuser@example.org:b']);
    assert.equal(r.code, 0, r.stderr);
    return readFileSync(join(work, 'args'), 'utf8');
  };
  for (const extra of [['-P', '2222'], []]) {
    const theirs = await recorded(['/usr/bin/scp'], extra);
    const ours = await recorded([process.execPath, SCP], extra);
    assert.equal(ours, theirs, `with ${extra.join(' ') || 'no -P'}`);
  }
  assert.equal(await recorded([process.execPath, SCP], ['-P', '2222']), '-p\n2222\n--\nexample.org\nsftp\n');
});

for (const [tool, program] of [
  ['nacre-sftp', [process.execPath, SFTP]],
  ['OpenSSH sftp', ['sftp']],
] as const) {
  test(`${tool} host:path with bytes that are not UTF-8 fetches that file; -b reads a batch file named by such bytes`, { skip }, async () => {
    const dir = join(work, tool.replace(/\W/g, '-'));
    mkdirSync(join(dir, 'local'), { recursive: true });
    writeFileSync(Buffer.from(dir + '/x\xfe', 'latin1'), 'fe bytes\n');
    const r = await run(join(dir, 'local'), [...program, '-q', '-S', fakeSsh, Buffer.concat([Buffer.from('h:' + dir + '/x'), bytes(0xfe)])]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(namesOf(join(dir, 'local')), [Buffer.from('x\xfe', 'latin1').toString('hex')]);
    assert.equal(readFileSync(Buffer.from(dir + '/local/x\xfe', 'latin1')).toString(), 'fe bytes\n');
    // A batch file named by such bytes (-b).
    writeFileSync(Buffer.from(dir + '/batch\xfd', 'latin1'), 'lpwd\n');
    const b = await run(dir, [...program, '-q', '-b', Buffer.concat([Buffer.from('batch'), bytes(0xfd)]), '-S', fakeSsh, 'h']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, `sftp> lpwd\nLocal working directory: ${dir}\n`);
  });
}
