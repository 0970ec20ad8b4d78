// nacre-scp's planning of copies, over a fake SFTP session: which library
// call each source becomes (and with which destination path), the target
// directory rules, remote wildcards, `~` paths, -3 through this host, -R's
// command, local-to-local through cp, and scp's messages and statuses for
// every failure, with the other sources still copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { parseScpArgs } from '../../src/cli/scp/args.js';
import { ScpRun, type Endpoint } from '../../src/cli/scp/copy.js';
import { describeDownloadFailure, describeUploadFailure } from '../../src/cli/scp/remote.js';
import { MeteredStream, RateLimit } from '../../src/cli/scp/crossload.js';
import { originArgs, scpMain } from '../../src/cli/scp/main.js';
import { runMain } from '../../src/cli/common/io.js';
import { fakeIo } from './cli-helpers.js';
import type { RemoteAttrs, RemoteFs, RemoteTransferOptions } from '../../src/cli/scp/remote.js';
import { CliExit } from '../../src/cli/common/exit.js';
import type { ProgressReporter } from '../../src/cli/common/progress.js';
import { SftpError } from '../../src/sftp/errors.js';

const HOME = '/home/u';

interface Node {
  mode: number;
  data?: Buffer;
  atime?: number;
  mtime?: number;
}

/** A remote file tree in memory: just enough SFTP for the planner, recording get/put/setstat. */
class FakeRemote implements RemoteFs {
  readonly files = new Map<string, Node>();
  readonly calls: string[] = [];
  extensions: ReadonlyMap<string, string> = new Map([['expand-path@openssh.com', '1']]);

  constructor(tree: Record<string, string | null> = {}) {
    this.files.set('/', { mode: 0o40755 });
    this.files.set('/home', { mode: 0o40755 });
    this.files.set(HOME, { mode: 0o40755 });
    for (const [p, content] of Object.entries(tree)) {
      if (content === null) this.files.set(p, { mode: 0o40755 });
      else this.files.set(p, { mode: 0o100644, data: Buffer.from(content), atime: 1000, mtime: 2000 });
    }
  }

  abs(p: string): string {
    const full = p.startsWith('/') ? p : `${HOME}/${p}`;
    const out: string[] = [];
    for (const part of full.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') out.pop();
      else out.push(part);
    }
    return '/' + out.join('/');
  }

  private node(p: string, op: string): Node {
    const n = this.files.get(this.abs(p));
    if (!n) throw new SftpError(2, 'No such file', op, p);
    return n;
  }

  async stat(p: string): Promise<RemoteAttrs> {
    const n = this.node(p, 'stat');
    return { mode: n.mode, size: n.data?.length ?? 0, ...(n.atime !== undefined ? { atime: n.atime, mtime: n.mtime! } : {}) };
  }
  async setstat(p: string, attrs: RemoteAttrs): Promise<void> {
    this.calls.push(`setstat ${this.abs(p)} ${JSON.stringify(attrs)}`);
  }
  async list(p: string) {
    const dir = this.abs(p);
    this.node(p, 'opendir');
    const prefix = dir === '/' ? '/' : dir + '/';
    return [...this.files.keys()]
      .filter((k) => k.startsWith(prefix) && k !== dir && !k.slice(prefix.length).includes('/'))
      .map((k) => ({ filename: k.slice(prefix.length), attrs: {} }));
  }
  async mkdir(p: string, attrs?: RemoteAttrs): Promise<void> {
    if (this.files.has(this.abs(p))) throw new SftpError(4, 'Failure', 'mkdir', p);
    this.calls.push(`mkdir ${this.abs(p)} ${(attrs?.mode ?? 0).toString(8)}`);
    this.files.set(this.abs(p), { mode: 0o40000 | (attrs?.mode ?? 0o755) });
  }
  async expandPath(p: string): Promise<string> {
    return p.replace(/^~bob/, '/home/bob');
  }
  createReadStream(p: string): Readable {
    const n = this.node(p, 'open');
    return Readable.from([n.data ?? Buffer.alloc(0)]);
  }
  createWriteStream(p: string, options?: { mode?: number }): Writable {
    const chunks: Buffer[] = [];
    const parent = this.abs(p).replace(/\/[^/]*$/, '') || '/';
    if (!this.files.has(parent)) {
      return new Writable({
        write(_c, _e, cb) {
          cb(new SftpError(2, 'No such file', 'open', p));
        },
      });
    }
    return new Writable({
      write: (c: Buffer, _e, cb) => {
        chunks.push(c);
        cb();
      },
      final: (cb) => {
        this.files.set(this.abs(p), { mode: 0o100000 | (options?.mode ?? 0o644), data: Buffer.concat(chunks) });
        cb();
      },
    });
  }
  async get(remote: string, local: string, o?: RemoteTransferOptions): Promise<void> {
    this.calls.push(`get ${remote} -> ${local}${o?.recursive ? ' -r' : ''}${o?.preserve ? ' -p' : ''}`);
    const n = this.node(remote, 'open');
    if (!o?.recursive) {
      o?.onFile?.(remote, n.data?.length ?? 0);
      writeFileSync(local, n.data ?? '');
      o?.onProgress?.({ transferred: n.data?.length ?? 0 });
    }
  }
  async put(local: string, remote: string, o?: RemoteTransferOptions): Promise<void> {
    this.calls.push(`put ${local} -> ${remote}${o?.recursive ? ' -r' : ''}${o?.preserve ? ' -p' : ''}`);
    if (remote.includes('/denied/')) throw new SftpError(3, 'Permission denied', 'open', remote);
  }
  async end(): Promise<void> {}
}

function recordingProgress(): ProgressReporter & { events: string[] } {
  const events: string[] = [];
  let active = false;
  return {
    events,
    get active() {
      return active;
    },
    start(name, size) {
      active = true;
      events.push(`start ${name} ${size}`);
    },
    update(pos) {
      events.push(`update ${pos}`);
    },
    stop() {
      if (active) events.push('stop');
      active = false;
    },
  };
}

interface Harness {
  status: number | CliExit;
  stderr: string;
  remotes: Map<string, FakeRemote>;
  connects: Endpoint[];
  cp: string[][];
  commands: [Endpoint, string][];
  progress: ReturnType<typeof recordingProgress>;
  debug: string[];
}

async function scp(argv: string[], remotes: Record<string, FakeRemote> = {}, options: { failConnect?: string } = {}): Promise<Harness> {
  const map = new Map(Object.entries(remotes));
  const h: Harness = { status: 0, stderr: '', remotes: map, connects: [], cp: [], commands: [], progress: recordingProgress(), debug: [] };
  const run = new ScpRun(parseScpArgs(argv), {
    connect: async (e) => {
      h.connects.push(e);
      if (options.failConnect === e.host) throw new CliExit(255, `nacre: connect to host ${e.host} port 22: Connection refused\nscp: Connection closed`);
      const r = map.get(e.host);
      if (!r) throw new Error(`no fake host ${e.host}`);
      return r;
    },
    localCopy: async (args) => {
      h.cp.push([...args]);
      return args.includes('/missing') ? 1 : 0;
    },
    remoteCommand: async (e, command) => {
      h.commands.push([e, command]);
      return 0;
    },
    spawn: async () => {
      throw new Error('no legacy scp in these tests');
    },
    error: (line) => void (h.stderr += line + '\n'),
    stderr: (text) => void (h.stderr += text),
    debug: (level, message) => void h.debug.push(`debug${level}: ${message}`),
    progress: h.progress,
  });
  try {
    h.status = await run.run();
  } catch (err) {
    if (!(err instanceof CliExit)) throw err;
    h.status = err;
  }
  return h;
}

function withLocal<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-scp-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('upload: into a directory target, to a new name, relative to home, user and port from the operand', () =>
  withLocal(async (dir) => {
    writeFileSync(join(dir, 'a.txt'), 'A');
    const r = new FakeRemote({ [`${HOME}/d`]: null });
    const h = await scp(['-p', join(dir, 'a.txt'), 'bob@h:d'], { h: r });
    assert.equal(h.status, 0, h.stderr);
    assert.deepEqual(r.calls, [`put ${join(dir, 'a.txt')} -> d/a.txt -p`]);
    assert.deepEqual(h.connects, [{ host: 'h', user: 'bob' }]);
    const h2 = await scp([join(dir, 'a.txt'), 'scp://h:2200/new.txt'], { h: r });
    assert.equal(h2.status, 0);
    assert.equal(r.calls.at(-1), `put ${join(dir, 'a.txt')} -> new.txt`);
    assert.deepEqual(h2.connects, [{ host: 'h', port: 2200 }]);
    // An empty path and ~ are the home directory; ~/x is x; ~bob/ through expand-path.
    await scp([join(dir, 'a.txt'), 'h:'], { h: r });
    assert.equal(r.calls.at(-1), `put ${join(dir, 'a.txt')} -> ./a.txt`);
    await scp([join(dir, 'a.txt'), 'h:~/d'], { h: r });
    assert.equal(r.calls.at(-1), `put ${join(dir, 'a.txt')} -> d/a.txt`);
    await scp([join(dir, 'a.txt'), 'h:~bob/x'], { h: r });
    assert.equal(r.calls.at(-1), `put ${join(dir, 'a.txt')} -> /home/bob/x`);
    r.extensions = new Map();
    const h3 = await scp([join(dir, 'a.txt'), 'h:~bob/x'], { h: r });
    assert.ok(h3.status instanceof CliExit && h3.status.code === 255);
    assert.match(h3.stderr, /server expand-path extension is required for ~user paths in SFTP mode/);
  }));

test('upload: several sources make the target directory (mode from the source, writable); trees need -r', () =>
  withLocal(async (dir) => {
    writeFileSync(join(dir, 'a'), 'A');
    writeFileSync(join(dir, 'b'), 'B');
    mkdirSync(join(dir, 'tree'));
    const r = new FakeRemote();
    const h = await scp([join(dir, 'a'), join(dir, 'tree'), join(dir, 'b'), 'h:/out'], { h: r });
    assert.equal(h.status, 1);
    assert.equal(r.calls[0], `mkdir /out ${(statSync(join(dir, 'a')).mode | 0o700).toString(8).slice(-4).replace(/^0/, '')}`);
    assert.deepEqual(r.calls.slice(1), [`put ${join(dir, 'a')} -> /out/a`, `put ${join(dir, 'b')} -> /out/b`]);
    assert.equal(h.stderr, `scp: local "${join(dir, 'tree')}" is not a regular file\nscp: failed to upload file ${join(dir, 'tree')} to /out\n`);
    const r2 = await scp(['-r', join(dir, 'tree'), 'h:/out'], { h: r });
    assert.equal(r2.status, 0);
    assert.equal(r.calls.at(-1), `put ${join(dir, 'tree')} -> /out/tree -r`);
    // A tree to a name that does not exist yet: the tree becomes that name.
    await scp(['-r', join(dir, 'tree'), 'h:/fresh'], { h: r });
    assert.equal(r.calls.at(-1), `put ${join(dir, 'tree')} -> /fresh -r`);
    // `..` goes into the target directory itself.
    await scp(['-r', `${dir}/tree/..`, 'h:/out'], { h: r });
    assert.equal(r.calls.at(-1), `put ${dir}/tree/.. -> /out/. -r`);
  }));

test('upload: a missing local source is fatal (255); a failed put is reported and the next source goes on', () =>
  withLocal(async (dir) => {
    writeFileSync(join(dir, 'a'), 'A');
    const r = new FakeRemote({ '/denied': null });
    const missing = await scp([join(dir, 'nope'), 'h:/x'], { h: r });
    assert.ok(missing.status instanceof CliExit);
    assert.equal(missing.status.code, 255);
    assert.equal(missing.status.message, `scp: stat local "${join(dir, 'nope')}": No such file or directory`);
    assert.deepEqual(missing.connects, [], 'no connection before the sources are checked');
    const h = await scp([join(dir, 'a'), join(dir, 'a'), 'h:/denied'], { h: r });
    assert.equal(h.status, 1);
    assert.equal(
      h.stderr,
      `scp: dest open "/denied/a": Permission denied\nscp: failed to upload file ${join(dir, 'a')} to /denied\n`.repeat(2),
    );
  }));

test('upload: a refused connection is fatal with ssh\'s message', async () => {
  const h = await scp(['/etc/hostname', 'h:x'], {}, { failConnect: 'h' });
  assert.ok(h.status instanceof CliExit);
  assert.equal(h.status.code, 255);
  assert.match(h.status.message, /Connection refused\nscp: Connection closed$/);
});

test('download: to a file, into a directory, wildcards, several sources; the progress bar per file', () =>
  withLocal(async (dir) => {
    const r = new FakeRemote({ '/f/a.txt': 'AA', '/f/b.txt': 'BBB', '/f/c.log': 'C', '/f': null });
    const h = await scp([`h:/f/a.txt`, join(dir, 'one')], { h: r });
    assert.equal(h.status, 0, h.stderr);
    assert.deepEqual(r.calls, [`get /f/a.txt -> ${join(dir, 'one')}`]);
    assert.deepEqual(h.progress.events, ['start a.txt 2', 'update 2', 'stop']);
    assert.deepEqual(h.debug, [`debug1: Fetching /f/a.txt to ${join(dir, 'one')}`]);
    r.calls.length = 0;
    // A wildcard matching several files makes the missing local directory.
    const g = await scp([`h:/f/*.txt`, join(dir, 'many')], { h: r });
    assert.equal(g.status, 0, g.stderr);
    assert.ok(statSync(join(dir, 'many')).isDirectory());
    assert.deepEqual(r.calls, [`get /f/a.txt -> ${join(dir, 'many', 'a.txt')}`, `get /f/b.txt -> ${join(dir, 'many', 'b.txt')}`]);
    // ... but not over an existing file.
    const clash = await scp([`h:/f/*.txt`, join(dir, 'one')], { h: r });
    assert.equal(clash.status, 1);
    assert.equal(clash.stderr, `scp: Multiple files match pattern, but destination "${join(dir, 'one')}" is not a directory\n`);
  }));

test('download: a missing source is reported as scp does and the others are still copied (status 1)', () =>
  withLocal(async (dir) => {
    const r = new FakeRemote({ '/f': null, '/f/a': 'A', '/f/sub': null });
    const h = await scp(['h:/nope', 'h:/f/a', 'h:/f/*.none', 'h:/f/sub', dir], { h: r });
    assert.equal(h.status, 1);
    assert.equal(h.stderr, 'scp: /nope: No such file or directory\nscp: /f/*.none: No such file or directory\nscp: download /f/sub/: not a regular file\n');
    assert.ok(existsSync(join(dir, 'a')));
    // A target that must be a directory and is not: scp stops before connecting (status 1).
    const notDir = await scp(['h:/f/a', 'h:/f/a', join(dir, 'a')], { h: r });
    assert.ok(notDir.status instanceof CliExit);
    assert.equal(notDir.status.code, 1);
    assert.equal(notDir.status.message, `${join(dir, 'a')}: Not a directory`);
    assert.deepEqual(notDir.connects, []);
    const gone = await scp(['h:/f/a', 'h:/f/a', join(dir, 'gone')], { h: r });
    assert.ok(gone.status instanceof CliExit);
    assert.equal(gone.status.message, `${join(dir, 'gone')}: No such file or directory`);
  }));

test('download: -r trees; a connection that cannot be made is fatal (255)', () =>
  withLocal(async (dir) => {
    const r = new FakeRemote({ '/t': null, '/t/x': 'X' });
    const h = await scp(['-r', 'h:/t', 'down:/t', dir], { h: r }, { failConnect: 'down' });
    assert.ok(h.status instanceof CliExit);
    assert.equal(h.status.code, 255);
    assert.match(h.status.message, /^nacre: connect to host down port 22: Connection refused\nscp: Connection closed$/);
    assert.deepEqual(r.calls, [`get /t -> ${join(dir, 't')} -r`]);
  }));

test('local to local runs cp with -r/-p; bad URIs and user names are reported per operand', () =>
  withLocal(async (dir) => {
    const h = await scp(['-rp', '/missing', '/etc/hostname', dir], {});
    assert.equal(h.status, 1);
    assert.deepEqual(h.cp, [
      ['-r', '-p', '--', '/missing', dir],
      ['-r', '-p', '--', '/etc/hostname', dir],
    ]);
    const bad = await scp(['scp://@h/x', "it's@h:x", '/etc/hostname', dir], {});
    assert.equal(bad.stderr, "scp://@h/x: invalid uri\nit's: invalid user name\n");
    assert.equal(bad.status, 1);
    const badTarget = await scp(['/etc/hostname', 'scp://h:0/x'], {});
    assert.equal(badTarget.stderr, 'scp://h:0/x: invalid uri\n');
    assert.equal(badTarget.status, 1);
  }));

test('-3: copies between two hosts through this one, files and trees, with -p; errors per source', async () => {
  const a = new FakeRemote({ '/src': null, '/src/f': 'hello', '/src/d': null, '/src/d/g': 'deep', '/src/d/e': null });
  const b = new FakeRemote({ '/dst': null });
  const h = await scp(['-p', 'a:/src/f', 'b:/dst/copy'], { a, b });
  assert.equal(h.status, 0, h.stderr);
  assert.equal(b.files.get('/dst/copy')?.data?.toString(), 'hello');
  assert.deepEqual(b.calls, ['setstat /dst/copy {"mode":420,"atime":1000,"mtime":2000}']);
  assert.deepEqual(h.progress.events.slice(0, 1), ['start f 5']);
  assert.equal(h.progress.events.at(-1), 'stop');
  const tree = await scp(['-r', 'a:/src/d', 'b:/dst'], { a, b });
  assert.equal(tree.status, 0, tree.stderr);
  assert.equal(b.files.get('/dst/d/g')?.data?.toString(), 'deep');
  assert.ok(b.files.get('/dst/d/e'));
  const errs = await scp(['a:/nope', 'a:/src/f', 'b:/dst/nodir'], { a, b });
  assert.equal(errs.status, 1);
  assert.equal(errs.stderr, 'scp: /dst/nodir: destination is not a directory\n'.repeat(2));
  const missing = await scp(['a:/nope', 'a:/src/d', 'b:/dst'], { a, b });
  assert.equal(missing.stderr, 'scp: /nope: No such file or directory\nscp: download "/src/d": not a regular file\n');
  const parentless = await scp(['a:/src/f', 'b:/no/where'], { a, b });
  assert.equal(parentless.status, 1);
  assert.equal(parentless.stderr, 'scp: open "/no/where": No such file or directory\n');
});

test('-R: scp runs on the origin host with the target as given; a target port is refused', async () => {
  const h = await scp(['-R', '-rp', '-i', 'k', 'u@a:/src', 'v@b:/dst'], {});
  assert.equal(h.status, 0);
  assert.deepEqual(h.commands, [[{ host: 'a', user: 'u' }, 'scp -r -p /src v@b:/dst']]);
  const args = parseScpArgs(['-R', '-i', 'k', '-v', 'a:x', 'b:y']);
  assert.deepEqual(originArgs(args, { host: 'a', user: 'u', port: 2222 }, 'scp -v x b:y'), ['-oClearAllForwardings=yes', '-n', '-i', 'k', '-v', '-p', '2222', '-l', 'u', '--', 'a', 'scp -v x b:y']);
  const port = await scp(['-R', 'a:x', 'scp://b:2222/y'], {});
  assert.ok(port.status instanceof CliExit);
  assert.equal(port.status.message, 'target port not supported with two remote hosts and the -R option');
});

test('MeteredStream: counts bytes and holds data back to the -l limit', async () => {
  let now = 0;
  const sleeps: number[] = [];
  const seen: number[] = [];
  const m = new MeteredStream(
    (n) => seen.push(n),
    8000, // 1000 bytes per second
    () => now,
    async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  );
  const out: Buffer[] = [];
  m.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => m.on('end', r));
  m.write(Buffer.alloc(500));
  m.write(Buffer.alloc(1500));
  m.end();
  await done;
  assert.deepEqual(seen, [500, 2000]);
  assert.deepEqual(sleeps, [500, 1500]);
  assert.equal(Buffer.concat(out).length, 2000);
  assert.equal(new MeteredStream(() => {}, undefined).delayFor(1e9), 0);
});

test('describeDownloadFailure: local failures name the destination given, SFTP ones the server\'s status', () => {
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/d/.x.tmp'"), { code: 'ENOENT', path: '/d/.x.tmp' });
  assert.equal(describeDownloadFailure(enoent, '/d/x'), 'open local "/d/x": No such file or directory');
  const enospc = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
  assert.equal(describeDownloadFailure(enospc, '/d/x'), 'write local "/d/x": No space left on device');
  assert.equal(describeDownloadFailure(new SftpError(3, 'denied', 'open', '/r/x'), '/d/x'), 'open "/r/x": Permission denied');
  assert.equal(describeDownloadFailure(new Error('odd'), '/d/x'), 'odd');
});

test('describeUploadFailure: dest open for a refused destination, write remote for other statuses', () => {
  assert.equal(describeUploadFailure(new SftpError(2, '', 'put', '/x'), '/r/x'), 'dest open "/r/x": No such file or directory');
  assert.equal(describeUploadFailure(new SftpError(4, 'disk full', 'write', '/x'), '/r/x'), 'write remote "/r/x": Failure');
  const local = Object.assign(new Error('EIO'), { code: 'EIO', path: '/l/x' });
  assert.equal(describeUploadFailure(local, '/r/x'), 'local "/l/x": EIO');
});

test('scpMain: -D and -S programs that cannot run end as scp does (255, Connection closed), bad usage exits 1', async () => {
  for (const flags of [['-D', '/nonexistent/sftp-server'], ['-S', '/nonexistent/ssh']]) {
    const io = fakeIo();
    const code = await runMain((a, i) => scpMain(a, i, { env: {}, localUser: 'u' }), [...flags, '/etc/hostname', 'h:/tmp/x'], io);
    assert.equal(code, 255);
    assert.equal(io.stderr(), `${flags[1]}: No such file or directory\nscp: Connection closed\n`);
  }
  const io = fakeIo();
  assert.equal(await runMain((a, i) => scpMain(a, i, { env: {}, localUser: 'u' }), ['onlyone'], io), 1);
  assert.match(io.stderr(), /^usage: nacre-scp /);
});

test('RateLimit: waits so the bytes so far have taken their time at the limit; none without one', async () => {
  let now = 1000;
  const waits: number[] = [];
  const limit = new RateLimit(80_000, () => now, async (ms) => void waits.push(ms)); // 10 KB/s
  await limit.pass(5000); // due at 500 ms, none elapsed
  now += 700;
  await limit.pass(5000); // already late enough
  await limit.pass(20_000); // due at 2000 ms, 700 elapsed
  assert.deepEqual(waits, [500, 1300]);
  const none = new RateLimit(undefined, () => 0, async () => assert.fail('no wait'));
  await none.pass(1e12);
});
