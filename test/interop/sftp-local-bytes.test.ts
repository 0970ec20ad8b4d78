// nacre-sftp's local side with names that are not UTF-8, side by side with
// OpenSSH's sftp over OpenSSH's sftp-server (run by a stand-in ssh given
// with -S, so no sshd is needed): lcd into such a directory, lpwd, get and
// put there, lls and `!` running in it, lmkdir, from a batch of raw bytes;
// and the same typed at the interactive prompt through tmux.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, tempDir } from './openssh.js';
import { runRaw, SFTP_SERVER, standInSsh, type RawRun } from './byte-names-peer.js';
import { findTmux, TmuxPane } from './nacre-tmux.js';

const here = dirname(fileURLToPath(import.meta.url));
const SFTP = join(here, '../../src/cli/nacre-sftp.js');
const sftpBin = '/usr/bin/sftp';
const o = findOpenSsh();
const skip = !o || !existsSync(SFTP_SERVER) || !existsSync(sftpBin) ? 'OpenSSH sftp or sftp-server missing' : false;

let work: string;
/** Stands in for ssh: ignores its arguments and is OpenSSH's sftp-server (in the directory it was started in). */
let fakeSsh: string;

before(() => {
  if (skip) return;
  work = tempDir('sftp-local-bytes');
  fakeSsh = standInSsh(work);
});

after(() => {
  if (skip) return;
  rmSync(work, { recursive: true, force: true });
});

const FF = Buffer.from([0xff]);
const FE = Buffer.from([0xfe]);
const bytes = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

/** Every file and directory under `dir`, by bytes (hex), with a file's content. */
function tree(dir: Buffer, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir, { encoding: 'buffer' }) as Buffer[]) {
    const p = bytes(dir, '/', name);
    const rel = prefix + name.toString('hex');
    if (statSync(p).isDirectory()) out.push(rel + '/', ...tree(p, rel + '/'));
    else out.push(`${rel} ${readFileSync(p).toString()}`);
  }
  return out.sort();
}

/** A fresh tree for one tool: a local directory named 0xff, a remote file named 0xfe, a local file to put. */
function layout(name: string): string {
  const root = join(work, name);
  mkdirSync(bytes(root, '/', FF), { recursive: true });
  writeFileSync(bytes(root, '/rem', FE), 'remote\n');
  writeFileSync(bytes(root, '/', FF, '/up', FE), 'up\n');
  return root;
}

async function runBatch(program: string[], root: string, batch: Buffer): Promise<RawRun> {
  const file = join(work, `batch-${program.length}`);
  writeFileSync(file, batch);
  const r = await runRaw(root, [...program, '-b', file, '-S', fakeSsh, 'h'], { HOME: root, LC_ALL: 'C.UTF-8', SHELL: '/bin/sh' });
  return { code: r.code, stdout: r.stdout.split(root).join('ROOT'), stderr: r.stderr.split(root).join('ROOT') };
}

test('lcd into a directory named by bytes that are not UTF-8: lpwd, get, put, lls, !, lmkdir as OpenSSH sftp does them', { skip }, async () => {
  const lines = [
    bytes('lcd ', FF),
    bytes('lpwd'),
    bytes('get rem', FE),
    bytes('put up', FE, ' put', FE),
    bytes('lls'),
    bytes('!pwd'),
    bytes('lmkdir sub', FE),
    bytes('lcd sub', FE),
    bytes('lpwd'),
    bytes('get rem', FE, ' again'),
    bytes('lcd ..'),
    bytes('lpwd'),
    bytes('-lcd missing', FE),
    bytes('lls sub', FE),
  ];
  const batch = Buffer.concat(lines.map((l) => bytes(l, '\n')));
  const ours = await runBatch([process.execPath, SFTP], layout('nacre'), batch);
  const theirs = await runBatch([sftpBin], layout('openssh'), batch);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.stdout, theirs.stdout);
  // OpenSSH's error lines end in \r\n (a known difference, docs/CLI.md).
  assert.equal(ours.stderr, theirs.stderr.replace(/\r\n/g, '\n'));
  assert.match(ours.stdout, /Local working directory: ROOT\/\\377\n/);
  assert.deepEqual(tree(Buffer.from(join(work, 'nacre'))), tree(Buffer.from(join(work, 'openssh'))));
  assert.ok(existsSync(bytes(work, '/nacre/', FF, '/sub', FE, '/again')));
});

test('nacre-sftp at the prompt: bytes that are not UTF-8 typed (or pasted) reach the command as those bytes', { skip: skip || (!findTmux() ? 'tmux is not installed' : false) }, async () => {
  const root = layout('prompt');
  const pane = new TmuxPane(findTmux()!, root, 110, 30);
  try {
    await pane.waitFor(/^pane\$$/m, 10000, 'the local prompt');
    pane.line(`cd ${root} && node ${SFTP} -S ${fakeSsh} h; echo "status=$?"`);
    await pane.waitFor(/Connected to h\.\nsftp>$/m, 20000, 'the sftp prompt');
    // OpenSSH's sftp (libedit) drops these bytes at its prompt; nacre-sftp keeps them, as in a batch.
    pane.type('lcd x');
    pane.bytes(FF);
    // Shown as \377 while the line is edited; Left then Backspace deletes the x, and the byte stays whole.
    await pane.waitFor(/sftp> lcd x\\377$/m, 10000, 'the typed byte shown as \\377');
    pane.keys('Left');
    pane.keys('BSpace');
    await pane.waitFor(/sftp> lcd \\377$/m, 10000, 'the x deleted before the byte');
    pane.keys('Enter');
    await pane.next('Local working directory: ', () => pane.line('lpwd'));
    await pane.waitFor(/^Local working directory: .*\/\\377$/m, 10000, 'lpwd in the 0xff directory');
    pane.type('get rem');
    pane.bytes(FE);
    pane.keys('Enter');
    await pane.waitFor(/Fetching .*\/rem\\376 to rem\\376[^]*\nsftp>$/m, 20000, 'the Fetching line and the next prompt');
    // A character arriving in two reads is still one character; a cut one is its bytes.
    // Tab completes a local name in the 0xff directory (the glob runs in the process's directory).
    pane.type('put u');
    pane.keys('Tab');
    await pane.waitFor(/sftp> put up\\376\s*$/m, 10000, 'the completed local name');
    await pane.next('\nsftp>', () => pane.keys('Enter'));
    await pane.next('\nsftp>', () => {
      pane.type('lmkdir caf');
      pane.bytes(Buffer.from([0xc3]));
      pane.bytes(Buffer.from([0xa9]));
      pane.keys('Enter');
    });
    pane.type('lmkdir x');
    pane.bytes(Buffer.from([0xe2, 0x82]));
    pane.type('y');
    pane.keys('Enter');
    await pane.next('sftp> ', () => pane.line('lpwd'));
    pane.line('bye');
    await pane.waitFor(/^status=0$/m, 20000, 'the exit status');
    assert.equal(readFileSync(bytes(root, '/', FF, '/rem', FE), 'utf8'), 'remote\n');
    assert.ok(statSync(bytes(root, '/', FF, '/café')).isDirectory());
    assert.equal(readFileSync(bytes(root, '/up', FE), 'utf8'), 'up\n');
    assert.ok(statSync(bytes(root, '/', FF, '/x', Buffer.from([0xe2, 0x82]), 'y')).isDirectory());
  } finally {
    pane.kill();
  }
});
