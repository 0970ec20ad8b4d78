// Messages and listings of nacre-sftp and nacre-scp for names that are not
// UTF-8, compared with OpenSSH's sftp and scp doing the same operations over
// OpenSSH's sftp-server (a stand-in ssh given with -S for sftp, -D for scp:
// no sshd needed): remote ls (short and long), mkdir, rename, rm, rmdir,
// chmod, symlink, get and put of such names, and the failures of each, then
// scp's failures for such sources and targets. Output and files must match.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, lstatSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, tempDir } from './openssh.js';
import { runRaw, SFTP_SERVER, standInSsh, type RawRun } from './byte-names-peer.js';

const here = dirname(fileURLToPath(import.meta.url));
const SFTP = join(here, '../../src/cli/nacre-sftp.js');
const SCP = join(here, '../../src/cli/nacre-scp.js');
const o = findOpenSsh();
const skip =
  process.platform !== 'linux' ? 'raw arguments come from /proc/self/cmdline (Linux)' : !o || !existsSync(SFTP_SERVER) || !existsSync('/usr/bin/sftp') || !existsSync('/usr/bin/scp') ? 'OpenSSH sftp, scp or sftp-server missing' : false;

let work: string;
let fakeSsh: string;

before(() => {
  if (skip) return;
  work = tempDir('byte-messages');
  fakeSsh = standInSsh(work);
});

after(() => {
  if (skip) return;
  rmSync(work, { recursive: true, force: true });
});

const b = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

/** Everything under `dir` (names as latin1 text, one character a byte): `/` after directories, `-> target` for links, a file's mode and contents. */
function tree(dir: Buffer, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir, { encoding: 'buffer' }) as Buffer[]) {
    const p = Buffer.concat([dir, Buffer.from('/'), name]);
    const shown = prefix + name.toString('latin1');
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out.push(`${shown} -> link`);
    else if (st.isDirectory()) out.push(shown + '/', ...tree(p, shown + '/'));
    else out.push(`${shown} ${(st.mode & 0o777).toString(8)} ${readFileSync(p).toString('latin1')}`);
  }
  return out.sort();
}

/** A fresh tree for one tool, its times fixed so `ls -l` shows the same ones. */
function layout(name: string): string {
  const root = join(work, name);
  mkdirSync(join(root, 'local'), { recursive: true });
  mkdirSync(join(root, 'remote'));
  const files: [Buffer, string][] = [
    [b(root, '/remote/a', [0xff]), 'a\n'],
    [b(root, '/remote/caf', [0xe9]), 'latin-1\n'],
    [b(root, '/remote/plain'), 'plain\n'],
    [b(root, '/local/up', [0xfe]), 'up\n'],
  ];
  for (const [path, text] of files) {
    writeFileSync(path, text);
    utimesSync(path, 1700000000, 1700000000);
  }
  mkdirSync(b(root, '/remote/dir', [0xfd]));
  // Last, so `ls -la` shows the same time for `..` whenever the tool runs.
  for (const d of [b(root, '/remote/dir', [0xfd]), b(root, '/remote')]) utimesSync(d, 1700000000, 1700000000);
  return root;
}

/** Runs a batch (raw bytes) through `program` with the stand-in ssh, in the tool's `local` directory, with sftp-server in its `remote` one. */
async function runBatch(program: readonly string[], root: string, lines: Buffer[]): Promise<RawRun> {
  const file = join(root, 'batch');
  writeFileSync(file, Buffer.concat(lines.map((l) => Buffer.concat([l, Buffer.from('\n')]))));
  // The stand-in's sftp-server starts where the tool does: the remote side is reached by `cd ../remote`.
  const r = await runRaw(join(root, 'local'), [...program, '-b', file, '-S', fakeSsh, 'h'], { HOME: root, LC_ALL: 'C.UTF-8', SHELL: '/bin/sh', TZ: 'UTC' });
  return { code: r.code, stdout: r.stdout.split(root).join('ROOT'), stderr: r.stderr.split(root).join('ROOT') };
}

test('nacre-sftp: remote operations on names that are not UTF-8 print what OpenSSH sftp prints, and leave the same files', { skip, timeout: 60000 }, async () => {
  const lines = [
    b('cd ../remote'),
    b('pwd'),
    b('ls'),
    b('ls -1'),
    b('ls -l'),
    b('ls -la dir', [0xfd]),
    b('ls -1 a*'),
    b('-ls gone', [0xfc]),
    b('mkdir new', [0xfb]),
    b('-mkdir new', [0xfb]),
    b('rename a', [0xff], ' b', [0xfa]),
    b('-rename gone', [0xfc], ' x'),
    b('chmod 600 b', [0xfa]),
    b('-chmod 600 gone', [0xfc]),
    b('symlink caf', [0xe9], ' l', [0xf9]),
    b('-rm gone', [0xfc]),
    b('-rmdir gone', [0xfc]),
    b('-rmdir caf', [0xe9]),
    b('rmdir new', [0xfb]),
    b('-cd caf', [0xe9]),
    b('-cd gone', [0xfc]),
    b('get caf', [0xe9], ' ../local/got', [0xf8]),
    b('-get gone', [0xfc]),
    b('-get gone', [0xfc], ' ../local/x'),
    b('put ../local/up', [0xfe]),
    b('-put ../local/gone', [0xfb]),
    b('cd dir', [0xfd]),
    b('pwd'),
    // -p: the listing after it shows the file's fixed time, not the minute it ran.
    b('put -p ../local/up', [0xfe], ' in', [0xf7]),
    b('ls -l'),
    b('cd ..'),
    b('rm b', [0xfa]),
    b('ls -1'),
  ];
  const ours = await runBatch([process.execPath, SFTP], layout('sftp-nacre'), lines);
  const theirs = await runBatch(['/usr/bin/sftp'], layout('sftp-openssh'), lines);
  assert.equal(ours.code, theirs.code, `${ours.stderr} / ${theirs.stderr}`);
  assert.equal(ours.stdout, theirs.stdout);
  // OpenSSH's error lines end in \r\n (a known difference, docs/CLI.md).
  assert.equal(ours.stderr, theirs.stderr.replace(/\r\n/g, '\n'));
  assert.match(ours.stdout, /caf\\351/);
  assert.deepEqual(tree(Buffer.from(join(work, 'sftp-nacre'))).filter((l) => !l.startsWith('batch')), tree(Buffer.from(join(work, 'sftp-openssh'))).filter((l) => !l.startsWith('batch')));
});

test('nacre-scp: failures with names that are not UTF-8 (sources, targets, directories) print what OpenSSH scp prints, with its statuses', { skip, timeout: 60000 }, async () => {
  const cases: (string | Buffer)[][] = [
    // A remote source that is not there; one that is a directory without -r; a wildcard matching nothing.
    [b('h:ROOT/remote/gone', [0xfc]), '.'],
    [b('h:ROOT/remote/dir', [0xfd]), '.'],
    [b('h:ROOT/remote/no', [0xfc], '*'), '.'],
    // A local source that is a directory without -r; one that is not there (fatal).
    [b('ROOT/remote/dir', [0xfd]), 'h:ROOT/local/'],
    [b('ROOT/local/gone', [0xfb]), 'h:ROOT/remote/'],
    // Targets: into a remote directory that is not there; a local one that is not there; several sources to a file.
    [b('ROOT/local/up', [0xfe]), b('h:ROOT/remote/nodir', [0xfc], '/x')],
    [b('h:ROOT/remote/caf', [0xe9]), b('ROOT/local/nodir', [0xfc], '/x')],
    [b('ROOT/local/up', [0xfe]), b('ROOT/local/up', [0xfe]), b('h:ROOT/remote/caf', [0xe9])],
    // Copies that work, for the files they make.
    ['-r', b('h:ROOT/remote/dir', [0xfd]), b('ROOT/local/copy', [0xf6])],
    [b('h:ROOT/remote/caf', [0xe9]), b('h:ROOT/remote/a', [0xff]), 'ROOT/local/'],
  ];
  const results: { runs: RawRun[]; tree: string[] }[] = [];
  for (const [tool, program] of [
    ['nacre', [process.execPath, SCP]],
    ['openssh', ['/usr/bin/scp']],
  ] as const) {
    const root = layout(`scp-${tool}`);
    const runs: RawRun[] = [];
    for (const c of cases) {
      const args = c.map((a) => (typeof a === 'string' ? a.split('ROOT').join(root) : Buffer.from(a.toString('latin1').split('ROOT').join(root), 'latin1')));
      const r = await runRaw(join(root, 'local'), [...program, '-q', '-D', SFTP_SERVER, ...args], { HOME: root, LC_ALL: 'C.UTF-8' });
      runs.push({ code: r.code, stdout: r.stdout, stderr: r.stderr.split(root).join('ROOT') });
    }
    results.push({ runs, tree: tree(Buffer.from(root)) });
  }
  const [mine, theirs] = results as [(typeof results)[0], (typeof results)[0]];
  for (let i = 0; i < cases.length; i++) {
    const why = `case ${i}: ${JSON.stringify(mine.runs[i])} / ${JSON.stringify(theirs.runs[i])}`;
    assert.equal(mine.runs[i]!.code, theirs.runs[i]!.code, why);
    // OpenSSH's log lines end in \r\n and name the program's path (`/usr/bin/scp: ...` for fatal ones).
    assert.equal(mine.runs[i]!.stderr, theirs.runs[i]!.stderr.replace(/\r\n/g, '\n').replace(/^\/usr\/bin\/scp: /gm, 'scp: '), why);
  }
  assert.deepEqual(mine.tree, theirs.tree);
});
