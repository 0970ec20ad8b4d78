// nacre-scp -O (the legacy scp protocol) with names that are not UTF-8,
// against OpenSSH's sshd (whose `scp -t` / `scp -f` run the protocol's far
// end), side by side with OpenSSH's own scp -O: the remote command carries
// the name's bytes (an exec request given as bytes), the C and D lines carry
// them both ways (-3 too), and the same files are made and the same
// messages printed.
// The odd bytes are made by the shell (Node's spawn takes strings only).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, keygen, startSshd, tempDir, type Sshd } from './openssh.js';
import { runRaw, script, type RawRun } from './byte-names-peer.js';

const here = dirname(fileURLToPath(import.meta.url));
const SCP = join(here, '../../src/cli/nacre-scp.js');
const o = findOpenSsh();
const skip = process.platform !== 'linux' ? 'raw arguments come from /proc/self/cmdline (Linux)' : !o || !existsSync('/usr/bin/scp') ? 'OpenSSH or its scp missing' : false;

let work: string;
let key: string;
let knownHosts: string;
let sshd: Sshd;

before(async () => {
  if (skip) return;
  work = tempDir('scp-o-bytes');
  const k = keygen(o!, work, 'ed25519', 'client');
  key = k.privatePath;
  sshd = await startSshd(o!, [], { hostKeyTypes: ['ed25519'], authorizedKeys: k.publicLine + '\n', logLevel: 'ERROR' });
  knownHosts = join(work, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKeys.ed25519!}\n`);
});

after(async () => {
  if (skip) return;
  await sshd?.stop();
  rmSync(work, { recursive: true, force: true });
});

const TOOLS = [
  ['nacre-scp', [process.execPath, SCP]],
  ['OpenSSH scp', ['/usr/bin/scp']],
] as const;

const b = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

/** A tool's -O run against the sshd in `cwd` (bytes allowed in `args`). */
function scpO(program: readonly string[], cwd: string, ...args: (string | Buffer)[]): Promise<RawRun> {
  const common = ['-O', '-q', '-F', 'none', '-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes', '-P', String(sshd.port)];
  return runRaw(cwd, [...program, ...common, ...args], { HOME: work });
}

/** Everything under `dir`: each path (bytes, as hex-free latin1 text) with a `/` after directories and a file's contents. */
function tree(dir: Buffer, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { encoding: 'buffer', withFileTypes: true }) as unknown as { name: Buffer; isDirectory(): boolean }[]) {
    const path = Buffer.concat([dir, Buffer.from('/'), e.name]);
    const shown = prefix + e.name.toString('latin1');
    if (e.isDirectory()) out.push(shown + '/', ...tree(path, shown + '/'));
    else out.push(`${shown} = ${readFileSync(path).toString('latin1')}`);
  }
  return out.sort();
}

test('scp -O: files and a tree named by bytes that are not UTF-8, up and back down, as OpenSSH scp -O does', { skip, timeout: 60000 }, async () => {
  const results: { tree: string[]; down: string[] }[] = [];
  for (const [tool, program] of TOOLS) {
    const dir = join(work, tool.replace(/\W/g, '-'));
    const local = join(dir, 'local');
    const remote = join(dir, 'remote');
    const back = join(dir, 'back');
    for (const d of [local, remote, back]) mkdirSync(d, { recursive: true });
    writeFileSync(b(local, '/', [0xff]), 'ff\n');
    writeFileSync(b(local, '/caf', [0xe9]), 'latin-1\n');
    mkdirSync(b(local, '/d', [0xfe]));
    writeFileSync(b(local, '/d', [0xfe], '/x', [0x80], 'y'), 'inside\n');
    // Up: two files and a tree named by the bytes typed, into a remote directory.
    const up = await scpO(program, local, '-r', b([0xff]), b('caf', [0xe9]), b('d', [0xfe]), `127.0.0.1:${remote}/`);
    assert.equal(up.code, 0, `${tool}: ${up.stderr}`);
    // Down: a remote file named by bytes to a local name that is not UTF-8 either, and the tree back.
    const one = await scpO(program, back, b(`127.0.0.1:${remote}/caf`, [0xe9]), b('n', [0xe9]));
    assert.equal(one.code, 0, `${tool}: ${one.stderr}`);
    const dirDown = await scpO(program, back, '-r', b(`127.0.0.1:${remote}/d`, [0xfe]), '.');
    assert.equal(dirDown.code, 0, `${tool}: ${dirDown.stderr}`);
    // A remote wildcard (the remote shell's) matching a name that is not UTF-8: the name the far end sends is checked against it.
    const glob = await scpO(program, back, `127.0.0.1:${remote}/c*`, 'globbed');
    assert.equal(glob.code, 0, `${tool}: ${glob.stderr}`);
    // -3: the origin's `scp -f` relayed to the destination's `scp -t` through this host, both named by bytes.
    const three = await scpO(program, back, '-3', b(`127.0.0.1:${remote}/caf`, [0xe9]), b(`127.0.0.1:${remote}/three`, [0xf5]));
    assert.equal(three.code, 0, `${tool}: ${three.stderr}`);
    results.push({ tree: tree(Buffer.from(remote)), down: tree(Buffer.from(back)) });
  }
  assert.deepEqual(results[0]!.tree, ['caf\xe9 = latin-1\n', 'd\xfe/', 'd\xfe/x\x80y = inside\n', 'three\xf5 = latin-1\n', '\xff = ff\n']);
  assert.deepEqual(results[0]!.down, ['d\xfe/', 'd\xfe/x\x80y = inside\n', 'globbed = latin-1\n', 'n\xe9 = latin-1\n']);
  assert.deepEqual(results[0], results[1]);
});

test('scp -O: missing files named by bytes that are not UTF-8, both ways: the same messages and statuses as OpenSSH scp -O', { skip, timeout: 60000 }, async () => {
  const runs: RawRun[][] = [];
  const target = join(work, 'missing-target');
  mkdirSync(target, { recursive: true });
  mkdirSync(b(work, '/dir', [0xfb]), { recursive: true });
  for (const [, program] of TOOLS) {
    runs.push([
      // A remote source that is not there: the far end's message, its bytes shown as \ooo.
      await scpO(program, work, b(`127.0.0.1:${work}/nope`, [0xfe]), target),
      // A local source that is not there (not fatal with -O), then one that is.
      await scpO(program, work, b('gone', [0xfd]), `127.0.0.1:${target}/`),
      // A remote target directory that is not there.
      await scpO(program, work, join(work, 'known_hosts'), b(`127.0.0.1:${work}/no`, [0xfc], '/')),
      // A remote wildcard that matches nothing (the remote shell leaves it as it is).
      await scpO(program, work, b(`127.0.0.1:${work}/no`, [0xfc], '*'), target),
      // A local directory without -r.
      await scpO(program, work, b('dir', [0xfb]), `127.0.0.1:${target}/`),
    ]);
  }
  const [mine, theirs] = runs as [RawRun[], RawRun[]];
  for (let i = 0; i < mine.length; i++) {
    assert.equal(mine[i]!.code, theirs[i]!.code, `run ${i}: ${mine[i]!.stderr} / ${theirs[i]!.stderr}`);
    // OpenSSH's log lines end in \r\n (docs/CLI.md, differences).
    assert.equal(mine[i]!.stderr, theirs[i]!.stderr.replace(/\r\n/g, '\n'), `run ${i}`);
  }
  assert.match(mine[0]!.stderr, /nope\\376: No such file or directory/);
  assert.match(mine[1]!.stderr, /gone\\375: No such file or directory/);
  assert.match(mine[4]!.stderr, /dir\\373: not a regular file/);
});

test('scp -O -S program: the remote command reaches the program with its bytes, as with OpenSSH scp -O -S', { skip, timeout: 60000 }, async () => {
  // Stands in for ssh: records its last argument (the remote command) as bytes, then runs it here.
  const fake = script(work, 'fake-ssh-run', `for a; do last="$a"; done\nprintf '%s' "$last" > "$(dirname "$0")/command-$$"\nexec /bin/sh -c "$last"`);
  const recorded: string[] = [];
  for (const [tool, program] of TOOLS) {
    const dir = join(work, `S-${tool.replace(/\W/g, '-')}`);
    mkdirSync(join(dir, 'to'), { recursive: true });
    writeFileSync(b(dir, '/', [0xff], 'src'), 'via -S\n');
    const before = new Set(readdirSync(work).filter((n) => n.startsWith('command-')));
    const r = await runRaw(dir, [...program, '-O', '-q', '-S', fake, b([0xff], 'src'), b(`h:${dir}/to/`, [0xfb])], { HOME: work });
    assert.equal(r.code, 0, `${tool}: ${r.stderr}`);
    assert.equal(readFileSync(b(dir, '/to/', [0xfb])).toString(), 'via -S\n');
    const made = readdirSync(work).filter((n) => n.startsWith('command-') && !before.has(n));
    assert.equal(made.length, 1);
    recorded.push(readFileSync(join(work, made[0]!)).toString('latin1').replace(dir, 'DIR'));
  }
  assert.equal(recorded[0], 'scp -t DIR/to/\xfb');
  assert.equal(recorded[0], recorded[1]);
});
