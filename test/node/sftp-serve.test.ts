// serveSftp on a stream: requests run concurrently up to the cap and no
// further while the client does not read its replies (bounded memory under a
// flood), every request is answered once the client reads, handles are
// closed when the channel goes; nacre-sftp-server's command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { join } from 'node:path';
import { FxpInit, SftpFramer, decodeResponse, encodeRequest, frame, FXF } from '../../src/sftp/index.js';
import { MemoryFileSystem } from '../../src/sftp/memory-fs.js';
import type { FileSystem } from '../../src/sftp/filesystem.js';
import { serveSftp } from '../../src/server/sftp/serve.js';
import { parseSftpServerArgs, internalSftpArguments, expandStartDirectory, SftpServerArgsError, sftpLogEnabled } from '../../src/server/sftp/args.js';
import { runSftpServerProcess } from '../../src/server/sftp/process.js';
import { ChrootError, checkChrootDirectory, expandChrootDirectory } from '../../src/server/sftp/internal.js';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

const repoRoot = join(new URL('.', import.meta.url).pathname, '../../..');

/** A client end and a server end joined by two pipes. */
function pair() {
  const toServer = new PassThrough();
  const toClient = new PassThrough({ highWaterMark: 16 * 1024 });
  const server = Duplex.from({ readable: toServer, writable: toClient });
  return { server, toServer, toClient };
}

/** A file system that counts the operations running at once and the handles closed. */
function counting(fs: FileSystem) {
  const stats = { running: 0, most: 0, closed: 0 };
  const wrap = <T>(p: () => Promise<T>): Promise<T> => {
    stats.running++;
    stats.most = Math.max(stats.most, stats.running);
    return p().finally(() => stats.running--);
  };
  const counted: FileSystem = new Proxy(fs, {
    get(target, name) {
      const v = Reflect.get(target, name) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) =>
        wrap(async () => {
          const r = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if ((name === 'open' || name === 'opendir') && r && typeof r === 'object') {
            const h = r as { close(): Promise<void> };
            const close = h.close.bind(h);
            h.close = () => {
              stats.closed++;
              return close();
            };
          }
          return r;
        });
    },
  });
  return { fs: counted, stats };
}

function replies(stream: NodeJS.ReadableStream) {
  const framer = new SftpFramer(1 << 21);
  const got: Uint8Array[] = [];
  stream.on('data', (d: Buffer) => {
    framer.push(d);
    for (let p = framer.next(); p; p = framer.next()) got.push(p);
  });
  return got;
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

test('a client that floods requests and reads no replies: input stops at the cap; all are answered once it reads', async () => {
  const mem = new MemoryFileSystem();
  const { fs, stats } = counting(mem);
  const { server, toServer, toClient } = pair();
  const serving = serveSftp(server, { fileSystem: fs, maxOutstanding: 16 });
  toServer.write(frame(FxpInit.encode({ version: 3, extensions: [] })));
  // one chunk per request, as channel data comes in packets
  for (let i = 0; i < 20_000; i++) toServer.write(frame(encodeRequest({ type: 'stat', id: i, path: '/' })));
  await tick(200);
  assert.ok(stats.most <= 16, `at most 16 operations at once, saw ${stats.most}`);
  // Nothing reads toClient: the server has stopped well short of 20 000 replies.
  assert.ok(toClient.readableLength < 2 * 1024 * 1024, `output held: ${toClient.readableLength}`);
  assert.ok(toServer.readableLength > 0, 'input is left unread in the pipe');
  const got = replies(toClient);
  for (let i = 0; i < 200 && got.length < 20_001; i++) await tick();
  assert.equal(got.length, 20_001, 'VERSION and every reply');
  assert.equal(decodeResponse(got[20_000]!).type, 'attrs');
  toServer.end();
  await serving.done;
});

test('handles still open when the channel closes are closed; done settles', async () => {
  const mem = new MemoryFileSystem();
  mem.writeFile('/a', 'A');
  const { fs, stats } = counting(mem);
  const { server, toServer, toClient } = pair();
  const got = replies(toClient);
  const logs: string[] = [];
  const serving = serveSftp(server, { fileSystem: fs, username: 'alice', remoteAddress: '10.0.0.1', log: (_l, m) => logs.push(m) });
  toServer.write(frame(FxpInit.encode({ version: 3, extensions: [] })));
  toServer.write(frame(encodeRequest({ type: 'open', id: 1, path: '/a', pflags: FXF.READ, attrs: {} })));
  toServer.write(frame(encodeRequest({ type: 'opendir', id: 2, path: '/' })));
  for (let i = 0; i < 100 && got.length < 3; i++) await tick(5);
  assert.equal(got.length, 3);
  server.destroy();
  await serving.done;
  await tick();
  assert.equal(stats.closed, 2);
  assert.deepEqual(logs.filter((l) => /session|forced/.test(l)), [
    'session opened for local user alice from [10.0.0.1]',
    'forced close "/a" bytes read 0 written 0',
    'forced closedir "/"',
    'session closed for local user alice from [10.0.0.1]',
  ]);
});

test('sftp-server\'s command line: flags, bundled flags, errors; internal-sftp\'s words; -d tokens; -l levels', () => {
  const a = parseSftpServerArgs(['-Re', '-u', '027', '-d%d/files', '-l', 'VERBOSE', '-P', 'remove,rmdir', '-p', 'open,read', '-f', 'AUTH']);
  assert.equal(a.readOnly, true);
  assert.equal(a.logToStderr, true);
  assert.equal(a.umask, 0o27);
  assert.equal(a.startDirectory, '%d/files');
  assert.equal(a.logLevel, 'verbose');
  assert.deepEqual(a.denyRequests, ['remove', 'rmdir']);
  assert.deepEqual(a.allowRequests, ['open', 'read']);
  for (const bad of [['-u', '8'], ['-u', '1000'], ['-l', 'LOUD'], ['-P', 'frob'], ['-x'], ['-d'], ['extra'], ['-f', 'NOPE']]) {
    assert.throws(() => parseSftpServerArgs(bad), SftpServerArgsError, bad.join(' '));
  }
  assert.deepEqual(internalSftpArguments('internal-sftp -d "/srv/my files" -R'), ['-d', '/srv/my files', '-R']);
  assert.deepEqual(internalSftpArguments('internal-sftp'), []);
  assert.equal(internalSftpArguments('/usr/lib/openssh/sftp-server -R'), null);
  assert.equal(internalSftpArguments('internal-sftpx'), null);
  assert.equal(expandStartDirectory('/srv/%u/%%/%d', { name: 'al', home: '/home/al' }), '/srv/al/%//home/al');
  assert.throws(() => expandStartDirectory('%x', { name: 'a', home: '/' }), SftpServerArgsError);
  assert.equal(sftpLogEnabled('error', 'info'), false);
  assert.equal(sftpLogEnabled('info', 'info'), true);
  assert.equal(sftpLogEnabled('info', 'verbose'), false);
  assert.equal(sftpLogEnabled('debug3', 'debug'), true);
  assert.equal(sftpLogEnabled('quiet', 'error'), false);
});

test('nacre-sftp-server: -Q requests lists what sftp-server lists; a bad flag is the usage and status 1', async () => {
  const bin = join(repoRoot, 'dist/src/cli/nacre-sftp-server.js');
  const q = spawnSync(process.execPath, [bin, '-Q', 'requests'], { encoding: 'utf8' });
  assert.equal(q.status, 0);
  const ours = q.stdout.trim().split('\n');
  const openssh = spawnSync('/usr/lib/openssh/sftp-server', ['-Q', 'requests'], { encoding: 'utf8' });
  if (openssh.status === 0) assert.deepEqual(ours, openssh.stdout.trim().split('\n'));
  else assert.equal(ours.length, 29);
  const bad = spawnSync(process.execPath, [bin, '-u', 'xyz'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /Invalid umask "xyz"/);
  assert.match(bad.stderr, /usage: sftp-server/);
  // in process, on streams: an immediately closed input ends the session with status 0
  const input = new PassThrough();
  input.end();
  const code = await runSftpServerProcess(['-d', '/tmp'], { stdin: input, stdout: new PassThrough(), stderr: () => undefined });
  assert.equal(code, 0);
});

test('a READ reply is its 13-byte header, then the very buffer the file system returned (no copy)', async () => {
  const mem = new MemoryFileSystem();
  mem.writeFile('/big', new Uint8Array(100_000).fill(7));
  const returned: Uint8Array[] = [];
  const fs = new Proxy(mem, {
    get(target, name) {
      const v = Reflect.get(target, name) as unknown;
      if (name !== 'open') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      return async (...args: Parameters<MemoryFileSystem['open']>) => {
        const h = await target.open(...args);
        const read = h.read.bind(h);
        h.read = async (offset, length) => {
          const data = await read(offset, length);
          returned.push(data);
          return data;
        };
        return h;
      };
    },
  });
  const written: Uint8Array[] = [];
  const input = new PassThrough();
  const channel = new Duplex({
    read() {},
    write(chunk: Uint8Array, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  input.on('data', (d: Buffer) => channel.push(d));
  const serving = serveSftp(channel, { fileSystem: fs });
  input.write(frame(FxpInit.encode({ version: 3, extensions: [] })));
  input.write(frame(encodeRequest({ type: 'open', id: 1, path: '/big', pflags: FXF.READ, attrs: {} })));
  for (let i = 0; i < 100 && written.length < 2; i++) await tick(5);
  const handle = (decodeResponse(written[1]!.subarray(4)) as { handle: Uint8Array }).handle;
  input.write(frame(encodeRequest({ type: 'read', id: 2, handle, offset: 0, length: 65536 })));
  for (let i = 0; i < 100 && written.length < 4; i++) await tick(5);
  assert.equal(returned.length, 1);
  assert.equal(written[2]!.length, 13, 'the DATA header alone');
  assert.equal(written[3]!.buffer, returned[0]!.buffer, 'the body is the file system\'s own buffer');
  assert.equal(written[3]!.byteOffset, returned[0]!.byteOffset);
  channel.push(null);
  await serving.done;
});

test('ChrootDirectory: tokens expanded; a path with a component others may write, or that is missing, is refused as sshd refuses it', async () => {
  const acct = { name: 'al', uid: 1234, gid: 1234, home: '/home/al', shell: '/bin/sh' };
  assert.equal(expandChrootDirectory('/srv/%u/%U/%%/%h', acct), '/srv/al/1234/%//home/al');
  assert.throws(() => expandChrootDirectory('/srv/%x', acct), ChrootError);
  await assert.rejects(checkChrootDirectory('relative/dir'), /does not begin at root/);
  await assert.rejects(checkChrootDirectory('/no/such/dir/here'), /Unable to chdir to chroot path/);
  const writable = mkdtempSync(join(tmpdir(), 'nacre-chroot-'));
  try {
    // under /tmp (mode 1777), or a directory not owned by root: refused
    await assert.rejects(checkChrootDirectory(writable), /bad ownership or modes for chroot directory/);
  } finally {
    rmSync(writable, { recursive: true, force: true });
  }
  if (process.geteuid?.() === 0 && (statSync('/').mode & 0o022) === 0 && (statSync('/usr').mode & 0o022) === 0) assert.equal(await checkChrootDirectory('/usr'), '/usr');
});
