// The real `nacre-sftp` command against OpenSSH's sshd, served both ways
// sshd can (the sftp-server program and internal-sftp): every interactive
// command run from a batch file, with sftp's echo, messages and results on
// both file systems; batch mode's exit statuses (the first failure ends it
// with 1, a `-` prefix ignores it, `@` hides the echo, `-b -` reads
// standard input); piped commands that go on after a failure; and
// `host:file` fetched before exiting.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, keygen, startSshd, tempDir, type Sshd } from './openssh.js';

const NACRE_SFTP = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/nacre-sftp.js');
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const o = findOpenSsh();
const skip = !o ? 'OpenSSH is not installed (see scripts/install-test-peers.sh)' : false;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

let keys = '';
const servers: { name: string; sshd?: Sshd; config?: string }[] = [{ name: 'sftp-server' }, { name: 'internal-sftp' }];

before(async () => {
  if (skip) return;
  keys = tempDir('nsftp-keys');
  const k = keygen(o!, keys, 'ed25519', 'id');
  for (const s of servers) {
    // sshd keeps the first top-level Subsystem line (startSshd's internal-sftp); a Match block overrides it.
    const extra = s.name === 'sftp-server' ? ['Match all', `Subsystem sftp ${SFTP_SERVER}`] : [];
    s.sshd = await startSshd(o!, extra, { hostKeyTypes: ['ed25519'], authorizedKeys: k.publicLine + '\n' });
    s.config = join(keys, `config-${s.name}`);
    writeFileSync(
      s.config,
      [
        'Host peer',
        '  HostName 127.0.0.1',
        `  Port ${s.sshd.port}`,
        '  User root',
        `  IdentityFile ${k.privatePath}`,
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile /dev/null',
        '  StrictHostKeyChecking no',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
  }
});

after(async () => {
  for (const s of servers) await s.sshd?.stop();
  if (keys) rmSync(keys, { recursive: true, force: true });
});

/** Runs nacre-sftp in `cwd` with `args`, standard input `input`; killed after 60 s. */
function runSftp(args: readonly string[], cwd: string, input = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [NACRE_SFTP, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: keys, SHELL: '/bin/sh' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A program that exits before reading its input (ssh -O, a usage error) fails this write with EPIPE: not the test's concern.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

for (const server of servers) {
  describe(`nacre-sftp against sshd with ${server.name}`, { skip }, () => {
    let remote = '';
    let local = '';
    before(() => {
      const base = tempDir(`nsftp-${server.name}`);
      remote = join(base, 'remote');
      local = join(base, 'local');
      mkdirSync(remote);
      mkdirSync(local);
    });
    after(() => rmSync(dirname(remote), { recursive: true, force: true }));

    const batch = async (lines: readonly string[], extra: readonly string[] = []): Promise<Run> => {
      const file = join(local, `batch-${randomBytes(4).toString('hex')}`);
      writeFileSync(file, lines.join('\n') + '\n');
      try {
        return await runSftp(['-F', server.config!, ...extra, '-b', file, 'peer'], local);
      } finally {
        rmSync(file, { force: true });
      }
    };

    test('every command in batch mode, with sftp\'s echo, messages and effects', async () => {
      const big = randomBytes(1024 * 1024 + 1);
      writeFileSync(join(local, 'up.bin'), big);
      writeFileSync(join(remote, 'down.txt'), 'remote text\n');
      writeFileSync(join(remote, 'other.txt'), 'x');
      mkdirSync(join(local, 'tree', 'inner'), { recursive: true });
      writeFileSync(join(local, 'tree', 'inner', 'leaf'), 'leaf');
      const r = await batch([
        `cd ${remote}`,
        'pwd',
        `lcd ${local}`,
        'lpwd',
        'put up.bin',
        'put -p up.bin copy.bin',
        'put -f up.bin synced.bin',
        'get -f down.txt synced.txt',
        'rm synced.bin',
        'get down.txt',
        'get down.txt renamed.txt',
        'ls',
        'ls -1',
        'ls -l *.txt',
        'ls -ln down.txt',
        'ls -1S',
        'ls -1rt',
        'ls -la',
        'ls -lh up.bin',
        'ls -1f',
        'mkdir made',
        'rename other.txt made/moved.txt',
        'ln -s down.txt soft',
        'symlink down.txt soft2',
        'ln down.txt hard',
        'cp down.txt copied.txt',
        'chmod 600 down.txt',
        'chown 0 down.txt',
        'chgrp 0 down.txt',
        'chown -h 0 soft',
        'mget d*.txt',
        'put -r tree',
        'get -r tree fetched',
        'rm tree/inner/leaf',
        'rmdir tree/inner',
        'rmdir tree',
        'lmkdir newlocal',
        'df',
        'df -h',
        'df -i',
        'version',
        'progress',
        'lumask 022',
        '!echo from-shell',
        '!',
        'lls -d newlocal',
        '@pwd',
        'help',
        'put up.bin gone.bin',
        'rm g*.bin',
        'bye',
        'pwd',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout;
      assert.match(out, new RegExp(`^sftp> cd ${remote}\nsftp> pwd\nRemote working directory: ${remote}\n`));
      assert.match(out, new RegExp(`Local working directory: ${local}\n`));
      // batch mode is quiet: no "Fetching" lines
      assert.doesNotMatch(out, /Fetching|Uploading/);
      assert.equal(sha256(readFileSync(join(remote, 'up.bin'))), sha256(big));
      assert.equal(sha256(readFileSync(join(remote, 'copy.bin'))), sha256(big));
      // -p keeps the modification time (to the second)
      assert.equal(Math.floor(statSync(join(remote, 'copy.bin')).mtimeMs / 1000), Math.floor(statSync(join(local, 'up.bin')).mtimeMs / 1000));
      assert.equal(readFileSync(join(local, 'down.txt'), 'utf8'), 'remote text\n');
      assert.equal(readFileSync(join(local, 'renamed.txt'), 'utf8'), 'remote text\n');
      assert.equal(readFileSync(join(local, 'synced.txt'), 'utf8'), 'remote text\n');
      assert.match(out, /sftp> ls\ncopy\.bin +down\.txt +other\.txt +up\.bin +\n/);
      assert.match(out, /sftp> ls -1\ncopy\.bin\ndown\.txt\nother\.txt\nup\.bin\n/);
      assert.match(out, /sftp> ls -l \*\.txt\n-rw-r--r-- +\? root +root +12 [A-Z][a-z]{2} [ \d]\d [\d:]{5} down\.txt\n-rw-r--r-- +\? root +root +1 .* other\.txt\n/);
      assert.match(out, /sftp> ls -ln down\.txt\n-rw-r--r-- +\? 0 +0 +12 .* down\.txt\n/);
      assert.match(out, /sftp> ls -1S\ncopy\.bin\nup\.bin\ndown\.txt\nother\.txt\n/);
      assert.match(out, /sftp> ls -la\n(.*\n)*drwx.* \.\n(.*\n)*drwx.* \.\.\n/);
      assert.match(out, /sftp> ls -lh up\.bin\n-rw-r--r-- +\? root +root +1\.0M .* up\.bin\n/);
      assert.match(out, /sftp> ls -1f\n(\S+\n){4}sftp> /);
      assert.match(out, /sftp> mget d\*\.txt\nsftp> /);
      assert.equal(readFileSync(join(remote, 'made', 'moved.txt'), 'utf8'), 'x');
      assert.equal(readlinkSync(join(remote, 'soft')), 'down.txt');
      assert.equal(readlinkSync(join(remote, 'soft2')), 'down.txt');
      assert.equal(statSync(join(remote, 'hard')).ino, statSync(join(remote, 'down.txt')).ino);
      assert.equal(readFileSync(join(remote, 'copied.txt'), 'utf8'), 'remote text\n');
      assert.equal(statSync(join(remote, 'down.txt')).mode & 0o777, 0o600);
      assert.equal(readFileSync(join(local, 'fetched', 'inner', 'leaf'), 'utf8'), 'leaf');
      // each directory of a recursive transfer is named, as sftp names it (even in batch mode)
      assert.match(out, /sftp> put -r tree\nEntering tree\/\nEntering tree\/inner\n/);
      assert.match(out, new RegExp(`sftp> get -r tree fetched\nRetrieving ${remote}/tree\nRetrieving ${remote}/tree/inner\n`));
      assert.ok(!existsSync(join(remote, 'tree')));
      assert.ok(statSync(join(local, 'newlocal')).isDirectory());
      assert.match(out, /sftp> df\n {8}Size {9}Used {8}Avail {7}\(root\) {4}%Capacity\n +\d+ +\d+ +\d+ +\d+ +\d+%\n/);
      assert.match(out, /sftp> df -h\n {4}Size {5}Used/);
      assert.match(out, /sftp> df -i\n {5}Inodes/);
      assert.match(out, /sftp> version\nSFTP protocol version 3\n/);
      assert.match(out, /sftp> progress\nProgress meter enabled\n/);
      assert.match(out, /sftp> lumask 022\nLocal umask: 022\n/);
      assert.match(out, /sftp> !echo from-shell\nfrom-shell\n/);
      assert.match(out, /sftp> lls -d newlocal\nnewlocal\n/);
      // @ hides the echo, not the output
      assert.match(out, new RegExp(`sftp> lls -d newlocal\nnewlocal\nRemote working directory: ${remote}\nsftp> help\nAvailable commands:\n`));
      assert.ok(!existsSync(join(remote, 'gone.bin')));
      // bye ends the batch: the pwd after it never runs
      assert.match(out, /sftp> bye\n$/);
    });

    test('batch mode stops at the first failure with status 1; `-` ignores one', async () => {
      writeFileSync(join(remote, 'down.txt'), 'x');
      writeFileSync(join(local, 'up.bin'), 'y');
      mkdirSync(join(local, 'tree'), { recursive: true });
      const failed = await batch([`cd ${remote}`, 'get /nope/nothing', 'pwd']);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /File "\/nope\/nothing" not found\./);
      assert.doesNotMatch(failed.stdout, /Remote working directory/);
      const ignored = await batch([`cd ${remote}`, '-get /nope/nothing', '-rm /nope/nothing', '-mkdir /nope/a/b', 'pwd']);
      assert.equal(ignored.code, 0, ignored.stderr);
      assert.match(ignored.stderr, /remote delete \/nope\/nothing: No such file or directory/);
      assert.match(ignored.stderr, /remote mkdir "\/nope\/a\/b": (No such file or directory|Failure)/);
      assert.match(ignored.stdout, /Remote working directory/);
      // Each of these fails: with `-` the batch goes on and every message shows.
      const cases: [string, RegExp][] = [
        ['bogus', /Invalid command\./],
        ['ls -z', /ls: Invalid flag -z/],
        ['cd /nope', /(stat remote|realpath \/nope): No such file or directory/],
        ['rmdir /nope', /remote rmdir "\/nope": No such file or directory/],
        ['rename /nope /nope2', /remote rename "\/nope" to "\/nope2": No such file or directory/],
        ['ls /nope', /Can't ls: "\/nope" not found/],
        ['put /nope/file', /stat \/nope\/file: No such file or directory/],
        ['lcd /nope', /Couldn't change local directory to "\/nope": No such file or directory/],
        ['chmod 644 /nope', /remote setstat "\/nope": No such file or directory/],
        [`get ${remote}/down.txt /nonexistent/x`, /open local "\/nonexistent\/x": No such file or directory/],
        [`put ${local}/up.bin /nonexistent/x`, /dest open "\/nonexistent\/x": No such file or directory/],
        [`put -r ${local}/tree /nonexistent/t`, /realpath \/nonexistent\/t: .*\nupload "\/nonexistent\/t": path canonicalization failed/],
        ['get /etc', /download \/etc\/: not a regular file/],
      ];
      const all = await batch([...cases.map(([line]) => `-${line}`), 'pwd']);
      assert.equal(all.code, 0, all.stderr);
      for (const [line, message] of cases) assert.match(all.stderr, message, line);
      assert.match(all.stdout, /Remote working directory/);
      for (const line of ['bogus', 'ls /nope']) {
        const r = await batch([line, 'pwd']);
        assert.equal(r.code, 1, line);
        assert.doesNotMatch(r.stdout, /Remote working directory/, line);
      }
    });

    test('-b - reads standard input; piped commands without -b are echoed and go on after a failure', async () => {
      const viaStdin = await runSftp(['-F', server.config!, '-b', '-', 'peer'], local, `cd ${remote}\npwd\nquit\npwd\n`);
      assert.equal(viaStdin.code, 0, viaStdin.stderr);
      assert.equal(viaStdin.stdout, `sftp> cd ${remote}\nsftp> pwd\nRemote working directory: ${remote}\nsftp> quit\n`);
      assert.doesNotMatch(viaStdin.stderr, /Connected to/);
      const piped = await runSftp(['-F', server.config!, 'peer'], local, `cd ${remote}\nget /nope\npwd\n`);
      assert.equal(piped.code, 0, piped.stderr);
      assert.match(piped.stderr, /^Connected to peer\.\n/);
      assert.match(piped.stdout, new RegExp(`sftp> get /nope\nsftp> pwd\nRemote working directory: ${remote}\n`));
    });

    test('host:file fetches it and exits; host:dir starts there; a missing file is status 1', async () => {
      writeFileSync(join(remote, 'fetch-me'), 'fetched\n');
      const r = await runSftp(['-F', server.config!, `peer:${remote}/fetch-me`], local);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Fetching ${remote}/fetch-me to fetch-me\n`));
      assert.equal(readFileSync(join(local, 'fetch-me'), 'utf8'), 'fetched\n');
      const to = await runSftp(['-F', server.config!, '-q', `peer:${remote}/fetch-me`, join(local, 'elsewhere')], local);
      assert.equal(to.code, 0, to.stderr);
      assert.equal(to.stdout, '');
      assert.equal(readFileSync(join(local, 'elsewhere'), 'utf8'), 'fetched\n');
      const missing = await runSftp(['-F', server.config!, `peer:${remote}/nope`], local);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /File ".*\/nope" not found\./);
      const odd = join(remote, 'we"ird\\dir');
      mkdirSync(odd);
      const dir = await runSftp(['-F', server.config!, `peer:${remote}`], local, 'pwd\n');
      const oddRun = await runSftp(['-F', server.config!, '-q', `peer:${odd}`], local, 'pwd\n');
      assert.equal(oddRun.code, 0, oddRun.stderr);
      assert.equal(oddRun.stdout, `sftp> pwd\nRemote working directory: ${odd}\n`);
      assert.equal(dir.code, 0, dir.stderr);
      assert.match(dir.stdout, new RegExp(`^Changing to: ${remote}\nsftp> pwd\nRemote working directory: ${remote}\n`));
    });

    test('reget and reput complete partial files; refused when the other side is complete', async () => {
      const data = randomBytes(300_000);
      writeFileSync(join(remote, 'resume.bin'), data);
      writeFileSync(join(local, 'resume.bin'), data.subarray(0, 100_000));
      writeFileSync(join(local, 'upres.bin'), data);
      writeFileSync(join(remote, 'upres.bin'), data.subarray(0, 123_457));
      const r = await batch([`cd ${remote}`, 'reget resume.bin', 'reput upres.bin']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(readFileSync(join(local, 'resume.bin'))), sha256(data));
      assert.equal(sha256(readFileSync(join(remote, 'upres.bin'))), sha256(data));
      const again = await batch([`cd ${remote}`, 'reput upres.bin']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /resume "upres.bin": destination file same size or larger/);
    });

    test('connection failures: status 255 and nacre\'s message', async () => {
      const r = await runSftp(['-F', server.config!, '-P', '1', 'peer'], local);
      assert.equal(r.code, 255);
      assert.match(r.stderr, /connect to host 127\.0\.0\.1 port 1: Connection refused/);
      const noBatch = await runSftp(['-F', server.config!, '-b', join(local, 'no-such-batch'), 'peer'], local);
      assert.equal(noBatch.code, 255);
      assert.match(noBatch.stderr, /No such file or directory \(.*no-such-batch\)\./);
    });
  });
}
