// nacre-sftp's commands over a fake SFTP client and fake local side: what
// each prints and asks of the server, batch mode's outcomes (an error stops
// the batch unless the line starts with `-`, `@` hides the echo, a line that
// does not parse is reported before its echo), and the get/put naming
// rules (destination directory or name, several matches, messages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SftpShell, type ShellDeps, type ShellOptions } from '../../src/cli/sftp/commands.js';
import type { RemoteAttrs, RemoteEntry, RemoteFs, RemoteHandle, RemoteTransferOptions } from '../../src/cli/sftp/remote.js';
import type { LocalOps } from '../../src/cli/sftp/local.js';
import { QUIET_PROGRESS } from '../../src/cli/common/progress.js';

class FakeSftpError extends Error {
  override readonly name = 'SftpError';
  constructor(readonly code: number) {
    super(`status ${code}`);
  }
}

const DIR = 0o040755;
const FILE = 0o100644;

/** An in-memory remote tree: path → attributes. */
function fakeRemote(files: Record<string, RemoteAttrs>, extensions: string[] = []): RemoteFs & { calls: string[]; files: Record<string, RemoteAttrs> } {
  const calls: string[] = [];
  const norm = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  const need = (p: string) => {
    const a = files[norm(p)];
    if (!a) throw new FakeSftpError(2);
    return a;
  };
  const r = {
    calls,
    files,
    version: 3,
    extensions: new Map(extensions.map((e) => [e, '1'])),
    async opendir(path: string): Promise<RemoteHandle> {
      if ((need(path).mode! & 0o170000) !== 0o040000) throw new FakeSftpError(4);
      return { handle: new Uint8Array(1), path: norm(path) };
    },
    async readdir(h: RemoteHandle & { done?: boolean }): Promise<RemoteEntry[] | null> {
      if (h.done) return null;
      h.done = true;
      const prefix = h.path === '/' ? '/' : h.path + '/';
      const names = Object.keys(files).filter((p) => p.startsWith(prefix) && p !== h.path && !p.slice(prefix.length).includes('/'));
      return [
        { filename: '.', longname: 'drwxr-xr-x . ', attrs: { mode: DIR } },
        ...names.map((p) => ({ filename: p.slice(prefix.length), longname: `LONG ${p.slice(prefix.length)}`, attrs: files[p]! })),
      ];
    },
    async close(h: RemoteHandle) {
      calls.push(`close ${h.path}`);
    },
    async fsync(h: RemoteHandle) {
      calls.push(`fsync ${h.path}`);
    },
    async open(path: string, flags: 'r' | 'r+' | 'w', attrs?: RemoteAttrs): Promise<RemoteHandle> {
      if (flags !== 'w') need(path);
      else files[norm(path)] = { mode: FILE | (attrs?.mode ?? 0o644) };
      calls.push(`open ${path} ${flags}${attrs?.mode !== undefined ? ' ' + attrs.mode.toString(8) : ''}`);
      return { handle: new Uint8Array(1), path };
    },
    async copyData(from: RemoteHandle, _o: number, length: number, to: RemoteHandle) {
      calls.push(`copy-data ${from.path} ${length} ${to.path}`);
    },
    async stat(path: string) {
      return need(path);
    },
    async lstat(path: string) {
      return need(path);
    },
    async setstat(path: string, attrs: RemoteAttrs) {
      calls.push(`setstat ${path} ${JSON.stringify(attrs)}`);
      Object.assign(need(path), attrs);
    },
    async lsetstat(path: string, attrs: RemoteAttrs) {
      calls.push(`lsetstat ${path} ${JSON.stringify(attrs)}`);
    },
    async mkdir(path: string) {
      if (files[norm(path)]) throw new FakeSftpError(4);
      files[norm(path)] = { mode: DIR };
    },
    async rmdir(path: string) {
      need(path);
      delete files[norm(path)];
    },
    async unlink(path: string) {
      need(path);
      calls.push(`unlink ${path}`);
      delete files[norm(path)];
    },
    async rename(a: string, b: string) {
      files[b] = need(a);
      delete files[a];
    },
    async symlink(target: string, link: string) {
      calls.push(`symlink ${target} ${link}`);
    },
    async hardlink(a: string, b: string) {
      calls.push(`hardlink ${a} ${b}`);
    },
    async realpath(path: string) {
      return norm(path.replace(/\/\.$/, '')) || '/';
    },
    async statvfs() {
      return { bsize: 4096, frsize: 4096, blocks: 100, bfree: 50, bavail: 40, files: 10, ffree: 5, favail: 5 };
    },
    async namesById(uids: readonly number[], gids: readonly number[]) {
      return { users: uids.map((u) => (u === 0 ? 'root' : '')), groups: gids.map((g) => (g === 0 ? 'wheel' : '')) };
    },
    async get(remote: string, local: string, o: RemoteTransferOptions = {}) {
      need(remote);
      calls.push(`get ${remote} ${local}${o.recursive ? ' -r' : ''}${o.resume ? ' -a' : ''}${o.preserve ? ' -p' : ''}`);
    },
    async put(local: string, remote: string, o: RemoteTransferOptions = {}) {
      calls.push(`put ${local} ${remote}${o.recursive ? ' -r' : ''}${o.resume ? ' -a' : ''}${o.preserve ? ' -p' : ''}`);
    },
  };
  return r;
}

function fakeLocal(files: Record<string, RemoteAttrs>): LocalOps & { cwdPath: string; made: string[]; shellRuns: (string | null)[]; synced: string[] } {
  const l = {
    cwdPath: '/local',
    made: [] as string[],
    shellRuns: [] as (string | null)[],
    cwd: () => l.cwdPath,
    chdir: (p: string) => {
      if (!files[p]) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      l.cwdPath = p;
    },
    home: () => '/home/me',
    mkdir: async (p: string) => void l.made.push(p),
    stat: async (p: string) => files[p.startsWith('/') ? p : `/local/${p}`] ?? null,
    umask: () => undefined,
    synced: [] as string[],
    fsync: async (p: string) => void l.synced.push(p),
    globFs: {
      readdir: async (dir: string) => {
        const base = dir === '.' ? '/local' : dir;
        return Object.keys(files)
          .filter((p) => p.startsWith(base + '/') && !p.slice(base.length + 1).includes('/'))
          .map((p) => ({ name: p.slice(base.length + 1), attrs: files[p]! }));
      },
      lstat: async (p: string) => files[p.startsWith('/') ? p : `/local/${p}`] ?? null,
      stat: async (p: string) => files[p.startsWith('/') ? p : `/local/${p}`] ?? null,
    },
    shell: async (c: string | null) => {
      l.shellRuns.push(c);
      return c === 'false' ? 1 : 0;
    },
  };
  return l;
}

function shell(remote: RemoteFs, local: LocalOps, options: Partial<ShellOptions> = {}) {
  let out = '';
  let err = '';
  const deps: ShellDeps = {
    remote,
    local,
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    progressMeter: () => QUIET_PROGRESS,
    nowSeconds: () => 2_000_000_000,
    columns: () => 40,
  };
  const s = new SftpShell(deps, '/home', { quiet: false, progress: false, resume: false, preserve: false, recursive: false, fsync: false, ...options });
  return {
    s,
    output: () => out,
    errors: () => err,
    clear: () => {
      out = '';
      err = '';
    },
  };
}

const TREE = (): Record<string, RemoteAttrs> => ({
  '/': { mode: DIR },
  '/home': { mode: DIR },
  '/home/a.txt': { mode: FILE, size: 5, uid: 0, gid: 0, mtime: 1_999_999_000 },
  '/home/b.txt': { mode: FILE, size: 50, uid: 7, gid: 7, mtime: 1_999_990_000 },
  '/home/.dot': { mode: FILE, size: 1 },
  '/home/sub': { mode: DIR, uid: 0, gid: 0 },
  '/home/sub/x': { mode: FILE, size: 1 },
});

test('batch outcomes: failures stop unless `-`, `@` hides the echo, parse errors come before the echo, quit', async () => {
  const { s, output, errors, clear } = shell(fakeRemote(TREE()), fakeLocal({}));
  const batch = { errAbort: true, echo: true };
  assert.equal(await s.runLine('get /nope', batch), 'error');
  assert.equal(output(), 'sftp> get /nope\n');
  assert.equal(errors(), 'File "/nope" not found.\n');
  clear();
  assert.equal(await s.runLine('-get /nope', batch), 'ok');
  assert.equal(await s.runLine('@pwd', batch), 'ok');
  assert.equal(output(), 'sftp> -get /nope\nRemote working directory: /home\n');
  clear();
  assert.equal(await s.runLine('bogus', batch), 'error');
  assert.equal(await s.runLine('-ls -z', batch), 'ok');
  assert.equal(errors(), 'Invalid command.\nls: Invalid flag -z\n');
  assert.equal(output(), 'sftp> bogus\nsftp> -ls -z\n');
  // interactive: nothing echoed, errors never end the session
  clear();
  assert.equal(await s.runLine('get /nope', { errAbort: false, echo: false }), 'ok');
  assert.equal(output(), '');
  assert.equal(await s.runLine('  # comment', batch), 'ok');
  assert.equal(await s.runLine('exit', batch), 'quit');
  assert.equal(await s.runLine('quit', { errAbort: false, echo: false }), 'quit');
});

test('ls: columns, -1, -a, sorts, -l from longname or names by id, globs, a directory match, not found', async () => {
  const plain = shell(fakeRemote(TREE()), fakeLocal({}));
  const io = { errAbort: true, echo: false };
  await plain.s.runLine('ls', io);
  // 40 columns: names of 5 (+2) give five columns of 8
  assert.equal(plain.output(), 'a.txt   b.txt   sub     \n');
  plain.clear();
  await plain.s.runLine('ls -1a', io);
  assert.equal(plain.output(), '.\n.dot\na.txt\nb.txt\nsub\n');
  plain.clear();
  await plain.s.runLine('ls -1S', io);
  assert.equal(plain.output(), 'b.txt\na.txt\nsub\n');
  plain.clear();
  await plain.s.runLine('ls -1tr', io);
  assert.equal(plain.output(), 'sub\nb.txt\na.txt\n');
  plain.clear();
  // without users-groups-by-id: the server's longname
  await plain.s.runLine('ls -l', io);
  assert.equal(plain.output(), 'LONG a.txt\nLONG b.txt\nLONG sub\n');
  plain.clear();
  await plain.s.runLine('ls -1 *.txt', io);
  assert.equal(plain.output(), 'a.txt\nb.txt\n');
  plain.clear();
  await plain.s.runLine('ls -1 {b,a}.txt', io);
  assert.equal(plain.output(), 'a.txt\nb.txt\n');
  plain.clear();
  await plain.s.runLine('ls -1 sub', io);
  assert.equal(plain.output(), 'sub/x\n');
  plain.clear();
  await plain.s.runLine('ls -1 /home/sub', io);
  assert.equal(plain.output(), '/home/sub/x\n');
  plain.clear();
  assert.equal(await plain.s.runLine('ls nope*', io), 'error');
  assert.equal(plain.errors(), 'Can\'t ls: "/home/nope*" not found\n');

  const named = shell(fakeRemote(TREE(), ['users-groups-by-id@openssh.com']), fakeLocal({}));
  await named.s.runLine('ls -l', io);
  const lines = named.output().split('\n');
  assert.match(lines[0]!, /^-rw-r--r-- {4}\? root {5}wheel {11}5 \w{3} [ \d]\d [\d:]{5} a\.txt$/);
  assert.match(lines[1]!, /^-rw-r--r-- {4}\? 7 {8}7 {14}50 .* b\.txt$/);
  named.clear();
  await named.s.runLine('ls -n a.txt', io);
  assert.match(named.output(), /^-rw-r--r-- {4}\? 0 {8}0 {15}5 .* a\.txt\n$/);
});

test('remote commands: cd, pwd, mkdir, rmdir, rm with globs, rename, ln, symlink, chmod, chown, chgrp, df, version, progress', async () => {
  const remote = fakeRemote(TREE(), ['hardlink@openssh.com', 'statvfs@openssh.com', 'lsetstat@openssh.com']);
  const { s, output, errors, clear } = shell(remote, fakeLocal({}));
  const io = { errAbort: true, echo: false };
  assert.equal(await s.runLine('cd sub', io), 'ok');
  assert.equal(s.pwd, '/home/sub');
  assert.equal(await s.runLine('cd', io), 'ok');
  assert.equal(s.pwd, '/home');
  assert.equal(await s.runLine('cd a.txt', io), 'error');
  assert.equal(errors(), 'Can\'t change directory: "/home/a.txt" is not a directory\n');
  clear();
  assert.equal(await s.runLine('mkdir new', io), 'ok');
  assert.ok(remote.files['/home/new']);
  assert.equal(await s.runLine('mkdir new', io), 'error');
  assert.equal(errors(), 'remote mkdir "/home/new": Failure\n');
  assert.equal(await s.runLine('rmdir new', io), 'ok');
  clear();
  assert.equal(await s.runLine('rm *.txt', io), 'ok');
  assert.equal(output(), 'Removing /home/a.txt\nRemoving /home/b.txt\n');
  assert.equal(await s.runLine('rm nothing', io), 'error');
  assert.equal(errors(), 'remote delete /home/nothing: No such file or directory\n');
  remote.files['/home/a.txt'] = { mode: FILE, uid: 5, gid: 6 };
  clear();
  assert.equal(await s.runLine('rename a.txt b.txt', io), 'ok');
  assert.ok(remote.files['/home/b.txt'] && !remote.files['/home/a.txt']);
  assert.equal(await s.runLine('rename -l b.txt c.txt', io), 'error');
  assert.equal(errors(), 'rename: -l (the legacy RENAME request) is not supported\n');
  await s.runLine('ln -s target link', io);
  await s.runLine('symlink target link2', io);
  await s.runLine('ln b.txt hard', io);
  assert.deepEqual(remote.calls.filter((c) => /^(sym|hard)link/.test(c)), ['symlink target /home/link', 'symlink target /home/link2', 'hardlink /home/b.txt /home/hard']);
  clear();
  await s.runLine('chmod 640 b.txt', io);
  await s.runLine('chown 42 b.txt', io);
  await s.runLine('chgrp -h 43 b.txt', io);
  assert.equal(output(), 'Changing mode on /home/b.txt\nChanging owner on /home/b.txt\nChanging group on /home/b.txt\n');
  assert.deepEqual(remote.calls.filter((c) => /setstat/.test(c)), ['setstat /home/b.txt {"mode":416}', 'setstat /home/b.txt {"uid":42,"gid":6}', 'lsetstat /home/b.txt {"uid":42,"gid":43}']);
  clear();
  await s.runLine('df', io);
  assert.equal(output(), '        Size         Used        Avail       (root)    %Capacity\n         400          200          160          200          50%\n');
  clear();
  await s.runLine('version', io);
  await s.runLine('progress', io);
  await s.runLine('progress', io);
  assert.equal(output(), 'SFTP protocol version 3\nProgress meter enabled\nProgress meter disabled\n');
  clear();
  // copy: a server-side copy with copy-data
  const copier = fakeRemote(TREE(), ['copy-data']);
  const cp = shell(copier, fakeLocal({}));
  assert.equal(await cp.s.runLine('cp b.txt c.txt', io), 'ok');
  assert.deepEqual(copier.calls, ['open /home/b.txt r', 'open /home/c.txt w 644', 'copy-data /home/b.txt 0 /home/c.txt', 'close /home/c.txt', 'close /home/b.txt']);
  assert.equal(await cp.s.runLine('copy sub x', io), 'error');
  assert.equal(await cp.s.runLine('-copy nope x', io), 'ok');
  assert.equal(cp.errors(), 'Cannot copy non-regular file: /home/sub\nstat remote: No such file or directory\n');
  const bare = shell(fakeRemote(TREE()), fakeLocal({}));
  assert.equal(await bare.s.runLine('copy a.txt b', io), 'error');
  assert.equal(bare.errors(), 'Server does not support copy-data extension\n');
  bare.clear();
  assert.equal(await bare.s.runLine('ln a.txt h', io), 'error');
  assert.equal(await bare.s.runLine('-df', io), 'ok');
  assert.equal(bare.errors(), 'Server does not support hardlink@openssh.com extension\nServer does not support statvfs@openssh.com extension\n');
});

test('get and put: destinations, several matches, directories, resume checks, messages', async () => {
  const remote = fakeRemote(TREE());
  const local = fakeLocal({ '/local': { mode: DIR }, '/local/dir': { mode: DIR }, '/local/up.bin': { mode: FILE, size: 10 }, '/local/two.bin': { mode: FILE, size: 3 }, '/local/tree': { mode: DIR }, '/local/a.txt': { mode: FILE, size: 5 } });
  const { s, output, errors, clear } = shell(remote, local);
  const io = { errAbort: true, echo: false };
  await s.runLine('get a.txt', io);
  await s.runLine('get a.txt dir', io);
  await s.runLine('get a.txt other', io);
  await s.runLine('get -p *.txt dir', io);
  assert.equal(
    output(),
    'Fetching /home/a.txt to a.txt\nFetching /home/a.txt to dir/a.txt\nFetching /home/a.txt to other\nFetching /home/a.txt to dir/a.txt\nFetching /home/b.txt to dir/b.txt\n',
  );
  assert.equal(await s.runLine('get *.txt nodir', io), 'error');
  assert.equal(errors(), 'Multiple source paths, but destination "nodir" is not a directory\n');
  clear();
  assert.equal(await s.runLine('get sub', io), 'error');
  assert.equal(errors(), 'download /home/sub/: not a regular file\n');
  clear();
  await s.runLine('get -r sub', io);
  assert.equal(output(), 'Fetching /home/sub/ to sub\nRetrieving /home/sub\n');
  // a complete local copy is not fetched again; a longer one is refused
  assert.equal(await s.runLine('reget a.txt', io), 'ok');
  assert.equal(errors(), 'File "a.txt" was not modified\n');
  await s.runLine('put up.bin', io);
  await s.runLine('put up.bin sub', io);
  await s.runLine('put up.bin renamed.bin', io);
  await s.runLine('put *.bin', io);
  await s.runLine('put -r tree', io);
  clear();
  assert.equal(await s.runLine('put tree', io), 'error');
  assert.equal(errors(), 'local "tree" is not a regular file\n');
  clear();
  assert.equal(await s.runLine('put nothing.bin', io), 'error');
  assert.equal(errors(), 'stat nothing.bin: No such file or directory\n');
  clear();
  assert.equal(await s.runLine('reput a.txt', io), 'error');
  assert.equal(errors(), 'resume "a.txt": destination file same size or larger\n');
  assert.deepEqual(remote.calls.filter((c) => /^(get|put)/.test(c)), [
    'get /home/a.txt a.txt',
    'get /home/a.txt dir/a.txt',
    'get /home/a.txt other',
    'get /home/a.txt dir/a.txt -p',
    'get /home/b.txt dir/b.txt -p',
    'get /home/sub sub -r',
    'put up.bin /home/up.bin',
    'put up.bin /home/sub/up.bin',
    'put up.bin /home/renamed.bin',
    'put two.bin /home/two.bin',
    'put up.bin /home/up.bin',
    'put tree /home/tree -r',
  ]);
  // -f: the local file synced after a get; fsync@openssh.com after a put when offered
  const syncing = fakeRemote(TREE(), ['fsync@openssh.com']);
  syncing.files['/home/up.bin'] = { mode: FILE, size: 1 };
  const f1 = shell(syncing, local);
  assert.equal(await f1.s.runLine('get -f a.txt', io), 'ok');
  assert.deepEqual(local.synced, ['a.txt']);
  assert.equal(await f1.s.runLine('put -f up.bin', io), 'ok');
  assert.deepEqual(syncing.calls.slice(-3), ['open /home/up.bin r+', 'fsync /home/up.bin', 'close /home/up.bin']);
  // quiet (batch mode): no Fetching lines
  const quiet = shell(fakeRemote(TREE()), local, { quiet: true });
  await quiet.s.runLine('get a.txt', io);
  assert.equal(quiet.output(), '');
  // a transfer's failure in sftp's words
  const failing = fakeRemote(TREE());
  failing.get = async () => {
    throw Object.assign(new FakeSftpError(3), { operation: 'open', path: '/home/a.txt' });
  };
  const f = shell(failing, local);
  assert.equal(await f.s.runLine('get a.txt', io), 'error');
  assert.equal(f.errors(), 'remote open("/home/a.txt"): Permission denied\n');
  // the connection gone: the session ends whatever the prefix
  const gone = fakeRemote(TREE());
  gone.unlink = async () => {
    throw new FakeSftpError(7);
  };
  const g = shell(gone, local);
  assert.equal(await g.s.runLine('-rm a.txt', { errAbort: false, echo: false }), 'lost');
  assert.equal(g.errors(), 'remote delete /home/a.txt: Connection lost\n');
});

test('local commands: lcd, lpwd, lmkdir, lumask, lls, !, help', async () => {
  const local = fakeLocal({ '/tmp': { mode: DIR }, '/home/me': { mode: DIR } });
  const { s, output, errors, clear } = shell(fakeRemote(TREE()), local);
  const io = { errAbort: true, echo: false };
  await s.runLine('lcd /tmp', io);
  await s.runLine('lpwd', io);
  await s.runLine('lcd', io);
  await s.runLine('lpwd', io);
  assert.equal(output(), 'Local working directory: /tmp\nLocal working directory: /home/me\n');
  assert.equal(await s.runLine('lcd /nope', io), 'error');
  assert.equal(errors(), 'Couldn\'t change local directory to "/nope": No such file or directory\n');
  clear();
  await s.runLine('lmkdir made', io);
  assert.deepEqual(local.made, ['made']);
  await s.runLine('lumask 27', io);
  assert.equal(output(), 'Local umask: 027\n');
  await s.runLine('lls -la /x', io);
  await s.runLine('lls', io);
  await s.runLine('!echo hi', io);
  await s.runLine('!', io);
  assert.equal(await s.runLine('!false', io), 'ok');
  assert.deepEqual(local.shellRuns, ['ls -la /x', 'ls', 'echo hi', null, 'false']);
  assert.equal(errors(), 'Shell exited with status 1\n');
  clear();
  await s.runLine('?', io);
  assert.match(output(), /^Available commands:\nbye +Quit sftp\n/);
});
