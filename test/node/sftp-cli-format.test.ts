// nacre-sftp's pure helpers: ls's and df's formats (strmode, fmt_scaled,
// ls_file's long line, columns, sort orders), glob(3) over a fake
// directory tree, and tab completion over fake listings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strmode, fmtScaled, lsDate, lsLongLine, columnLayout, sortEntries, formatDf } from '../../src/cli/sftp/ls-format.js';
import { glob, matchComponent, hasMagic, expandBraces, GlobLimitError, type GlobFs } from '../../src/cli/common/glob.js';
import { completeLine, escapeInsertion, commandCandidates, argumentKind } from '../../src/cli/sftp/complete.js';
import { pathStrip, makeAbsolute, baseName, pathAppend, fxText } from '../../src/cli/sftp/remote.js';
import type { LsAttrs } from '../../src/cli/sftp/ls-format.js';

test('strmode: types, permissions, setuid/setgid/sticky', () => {
  assert.equal(strmode(0o100644), '-rw-r--r-- ');
  assert.equal(strmode(0o040755), 'drwxr-xr-x ');
  assert.equal(strmode(0o120777), 'lrwxrwxrwx ');
  assert.equal(strmode(0o104755), '-rwsr-xr-x ');
  assert.equal(strmode(0o102644), '-rw-r-Sr-- ');
  assert.equal(strmode(0o041777), 'drwxrwxrwt ');
  assert.equal(strmode(0o041776), 'drwxrwxrwT ');
  assert.equal(strmode(0o010600), 'prw------- ');
  assert.equal(strmode(0o140700), 'srwx------ ');
  assert.equal(strmode(0o020620), 'crw--w---- ');
  assert.equal(strmode(0o060660), 'brw-rw---- ');
  assert.equal(strmode(0o000644), '?rw-r--r-- ');
});

test('fmt_scaled as OpenBSD formats sizes', () => {
  const cases: [number, string][] = [
    [0, '0B'],
    [3, '3B'],
    [1023, '1023B'],
    [1024, '1.0K'],
    [1536, '1.5K'],
    [100000, '97.7K'],
    [102400, '100K'],
    [1048576, '1.0M'],
    [24_264_000_000, '22.6G'],
    [270_553_174_016, '252G'],
  ];
  for (const [n, s] of cases) assert.equal(fmtScaled(n), s, String(n));
});

test('ls -l lines: recent and old dates, names or numbers, human sizes', () => {
  const now = Date.UTC(2026, 11, 3, 12, 0, 0) / 1000;
  const recent = now - 3600;
  const old = now - 400 * 86400;
  const a: LsAttrs = { mode: 0o100644, size: 100000, uid: 0, gid: 0, mtime: recent };
  const d = new Date(recent * 1000);
  const hhmm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  assert.equal(lsLongLine('big.bin', a, now, { si: false, user: 'root', group: 'root' }), `-rw-r--r--    ? root     root       100000 Dec  ${d.getDate()} ${hhmm} big.bin`);
  assert.equal(lsLongLine('big.bin', a, now, { si: true }), `-rw-r--r--    ? 0        0           97.7K Dec  ${d.getDate()} ${hhmm} big.bin`);
  assert.match(lsDate(old, now), /^[A-Z][a-z]{2} [ \d]\d  2025$/);
  // a future time is shown with its year, as ls does
  assert.match(lsDate(now + 86400 * 30, now), / {2}2027$/);
  assert.equal(lsLongLine('n', { mode: 0o100600, size: 1, uid: 1234567890, gid: 5, mtime: recent }, now, { si: false }).split(/ +/)[2], '1234567890');
});

test('short listings fill columns the way sftp does', () => {
  assert.equal(columnLayout(['a.txt', 'b', 'big.bin'], 80), 'a.txt     b         big.bin   \n');
  // eight columns of 10 in 80: a new line after each eighth name
  const names = Array.from({ length: 9 }, (_, i) => `file${i}`.padEnd(8, "x"));
  const out = columnLayout(names, 80);
  assert.equal(out.split('\n').length, 3);
  assert.equal(columnLayout([], 80), '');
  // a name longer than the width: one per line
  assert.equal(columnLayout(['x'.repeat(100), 'y'], 80), 'x'.repeat(100) + '\n' + 'y'.padEnd(80) + '\n');
  // sftp counts a listed path's prefix too
  assert.equal(columnLayout(['a.txt'], 80, 17), 'a.txt'.padEnd(26) + '\n');
});

test('sort orders: name (bytes), time and size (largest first), reversed, none', () => {
  const e = [
    { name: 'b', attrs: { mtime: 1, size: 30 } },
    { name: 'a', attrs: { mtime: 3, size: 10 } },
    { name: 'C', attrs: { mtime: 2, size: 20 } },
  ];
  assert.deepEqual(sortEntries([...e], 'name', false).map((x) => x.name), ['C', 'a', 'b']);
  assert.deepEqual(sortEntries([...e], 'name', true).map((x) => x.name), ['b', 'a', 'C']);
  assert.deepEqual(sortEntries([...e], 'time', false).map((x) => x.name), ['a', 'C', 'b']);
  assert.deepEqual(sortEntries([...e], 'size', false).map((x) => x.name), ['b', 'C', 'a']);
  assert.deepEqual(sortEntries([...e], 'size', true).map((x) => x.name), ['a', 'C', 'b']);
  assert.deepEqual(sortEntries([...e], 'none', false).map((x) => x.name), ['b', 'a', 'C']);
});

test('df tables as sftp prints them (1K blocks, -h, -i), ERR for an empty filesystem', () => {
  const st = { bsize: 4096, frsize: 4096, blocks: 66053021, bfree: 60126706, bavail: 20671431, files: 16777216, ffree: 16304714, favail: 16304714 };
  assert.equal(formatDf(st, 'blocks'), '        Size         Used        Avail       (root)    %Capacity\n   264212084     23705260     82685724    240506824           8%\n');
  assert.equal(formatDf(st, 'inodes'), '     Inodes        Used       Avail      (root)    %Capacity\n   16777216      472502    16304714    16304714           2%\n');
  assert.match(formatDf(st, 'human'), /^ {4}Size {5}Used {4}Avail {3}\(root\) {4}%Capacity\n {3}252GB {3}22\.6GB {3}78\.9GB {4}229GB {11}8%\n$/);
  assert.match(formatDf({ ...st, blocks: 0, files: 0 }, 'inodes'), /ERR\n$/);
});

test('paths: make_absolute, path_append, path_strip, basename, fx2txt', () => {
  assert.equal(makeAbsolute('x', '/home/me'), '/home/me/x');
  assert.equal(makeAbsolute('/x', '/home/me'), '/x');
  assert.equal(makeAbsolute('x', '/'), '/x');
  assert.equal(pathAppend('/a/', 'b'), '/a/b');
  assert.equal(pathStrip('/home/me/sub/x', '/home/me'), 'sub/x');
  assert.equal(pathStrip('/home/meat', '/home/me'), 'at');
  assert.equal(pathStrip('/other', '/home/me'), '/other');
  assert.equal(pathStrip('/x', undefined), '/x');
  assert.equal(baseName('/a/sub/'), 'sub');
  assert.equal(baseName('/'), '/');
  assert.equal(baseName('f'), 'f');
  assert.equal(fxText(2), 'No such file or directory');
  assert.equal(fxText(99), 'Unknown status');
});

/** A directory tree for the glob: path → mode (links point nowhere; `dirlink` points at /d). */
function fakeTree(paths: Record<string, number>): GlobFs & { readdirs: number } {
  const fs = {
    readdirs: 0,
    async readdir(dir: string) {
      fs.readdirs++;
      const prefix = dir === '/' ? '/' : dir + '/';
      if (paths[dir] === undefined || (paths[dir]! & 0o170000) !== 0o040000) return null;
      return Object.keys(paths)
        .filter((p) => p.startsWith(prefix) && p !== dir && !p.slice(prefix.length).includes('/'))
        .map((p) => ({ name: p.slice(prefix.length), attrs: { mode: paths[p]! } }));
    },
    async lstat(path: string) {
      const p = path.length > 1 ? path.replace(/\/$/, '') : path;
      return paths[p] === undefined ? null : { mode: paths[p]! };
    },
    async stat(path: string) {
      if (path.replace(/\/$/, '') === '/dirlink') return { mode: 0o040755 };
      return fs.lstat(path);
    },
  };
  return fs;
}

const TREE = {
  '/': 0o040755,
  '/d': 0o040755,
  '/d/a.txt': 0o100644,
  '/d/b.txt': 0o100644,
  '/d/.hidden': 0o100644,
  '/d/sub': 0o040755,
  '/d/sub/x': 0o100644,
  '/d/star*': 0o100644,
  '/d/[1]': 0o100644,
  '/dirlink': 0o120777,
};

test('glob: wildcards, classes, escapes, hidden names, marks, nocheck, limits', async () => {
  const fs = fakeTree(TREE);
  const paths = async (p: string, o = {}) => (await glob(p, fs, o)).matches.map((m) => m.path);
  assert.deepEqual(await paths('/d/*.txt'), ['/d/a.txt', '/d/b.txt']);
  assert.deepEqual(await paths('/d/*'), ['/d/[1]', '/d/a.txt', '/d/b.txt', '/d/star*', '/d/sub']);
  assert.deepEqual(await paths('/d/.*'), ['/d/.hidden']);
  assert.deepEqual(await paths('/d/*', { mark: true }), ['/d/[1]', '/d/a.txt', '/d/b.txt', '/d/star*', '/d/sub/']);
  assert.deepEqual(await paths('/d/[ab].txt'), ['/d/a.txt', '/d/b.txt']);
  assert.deepEqual(await paths('/d/[!a].txt'), ['/d/b.txt']);
  assert.deepEqual(await paths('/d/[a-b]?txt'), ['/d/a.txt', '/d/b.txt']);
  assert.deepEqual(await paths('/d/star\\*'), ['/d/star*']);
  assert.deepEqual(await paths('/d/\\[1\\]'), ['/d/[1]']);
  assert.deepEqual(await paths('/*/sub/*'), ['/d/sub/x']);
  assert.deepEqual(await paths('/d/a.txt'), ['/d/a.txt']);
  assert.deepEqual(await paths('/d/nope'), []);
  assert.deepEqual(await paths('/d/sub/', { mark: true }), ['/d/sub/']);
  assert.deepEqual(await paths('/dirlink', { mark: true }), ['/dirlink/']);
  const none = await glob('/d/no\\*pe*', fs, { nocheck: true });
  assert.deepEqual([none.matched, none.matches[0]!.path], [0, '/d/no*pe*']);
  await assert.rejects(glob('/d/*', fs, { limit: 2 }), GlobLimitError);
  assert.equal(hasMagic('a\\*'), false);
  assert.equal(hasMagic('a[x'), true);
  assert.equal(matchComponent('a[', 'a['), true);
  assert.equal(matchComponent('*', '.x'), false);
  assert.equal(matchComponent('[]]', ']'), true);
  assert.equal(matchComponent('[\\]]', ']'), true);
  assert.equal(matchComponent('*a*b*c', 'xxaxxbxxc'), true);
  assert.equal(matchComponent('*a*b*c', 'xxaxxbxx'), false);
});

test('completion: commands, remote and local paths by argument, escaping, quotes, a space after one match', async () => {
  const fs = fakeTree({ ...TREE, '/d/my file': 0o100644, '/d/sub2': 0o040755 });
  const sources = {
    pwd: () => '/d',
    remoteGlob: async (p: string) => (await glob(p, fs, { mark: true })).matches.map((m) => m.path),
    localGlob: async (p: string) => (p.startsWith('loc') ? ['local-one', 'local-two/'] : []),
  };
  assert.deepEqual(await completeLine('', sources), [commandCandidates(''), '']);
  assert.deepEqual(await completeLine('ren', sources), [['rename '], 'ren']);
  assert.deepEqual(await completeLine('l', sources), [['lcd', 'lchdir', 'lls', 'lmkdir', 'ln', 'lpwd', 'ls', 'lumask'], 'l']);
  assert.deepEqual(await completeLine('get a', sources), [['get a'.slice(4) + '.txt '], 'a']);
  assert.deepEqual(await completeLine('get s', sources), [['star\\*', 'sub/', 'sub2/'], 's']);
  assert.deepEqual(await completeLine('get su', sources), [['sub/', 'sub2/'], 'su']);
  assert.deepEqual(await completeLine('get sub/', sources), [['sub/x '], 'sub/']);
  assert.deepEqual(await completeLine('get my', sources), [['my\\ file '], 'my']);
  assert.deepEqual(await completeLine('get "my', sources), [['"my file" '], '"my']);
  assert.deepEqual(await completeLine('get /d/b', sources), [['/d/b.txt '], '/d/b']);
  // get's second argument is local, flags are not counted
  assert.deepEqual(await completeLine('get -p a.txt loc', sources), [['local-one', 'local-two/'], 'loc']);
  assert.deepEqual(await completeLine('put loc', sources), [['local-one', 'local-two/'], 'loc']);
  assert.deepEqual(await completeLine('get nothing', sources), [[], 'nothing']);
  assert.deepEqual(await completeLine('pwd x', sources), [[], 'x']);
  assert.equal(argumentKind('put', 2), 'remote');
  assert.equal(argumentKind('nope', 1), 'none');
  assert.equal(escapeInsertion("a b#'c", ''), "a\\ b\\#\\'c");
  assert.equal(escapeInsertion("a b'c", '"'), "a b'c");
  assert.equal(escapeInsertion('a"b', '"'), 'a\\"b');
});

test('random patterns and names: matching never throws, literal names match themselves once escaped', async () => {
  const chars = ['a', 'b', '.', '*', '?', '[', ']', '!', '^', '-', '\\', ' ', 'é'];
  let seed = 99;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const word = (max: number) => Array.from({ length: rand(max) }, () => chars[rand(chars.length)]!).join('');
  for (let i = 0; i < 3000; i++) {
    const pattern = word(10);
    const name = word(10);
    assert.equal(typeof matchComponent(pattern, name), 'boolean');
    if (name !== '' && !name.startsWith('.')) {
      const escaped = name.replace(/[[\]?*\\]/g, (c) => '\\' + c);
      assert.equal(matchComponent(escaped, name), true, `${JSON.stringify(escaped)} ~ ${JSON.stringify(name)}`);
    }
  }
  const fs = fakeTree(TREE);
  for (let i = 0; i < 300; i++) {
    const r = await glob('/' + word(6) + '/' + word(6), fs, { mark: true, nocheck: true });
    assert.ok(r.matches.length >= 1);
  }
});

test('brace expansion (ls): alternatives, nesting, escapes, {} and unclosed braces literal', async () => {
  assert.deepEqual(expandBraces('a{b,c}d'), ['abd', 'acd']);
  assert.deepEqual(expandBraces('{x,y{1,2}}z'), ['xz', 'y1z', 'y2z']);
  assert.deepEqual(expandBraces('{a,b}{1,2}'), ['a1', 'a2', 'b1', 'b2']);
  assert.deepEqual(expandBraces('a{}b'), ['a{}b']);
  assert.deepEqual(expandBraces('a{b'), ['a{b']);
  assert.deepEqual(expandBraces('a\\{b,c}'), ['a\\{b,c}']);
  assert.deepEqual(expandBraces('{a\\,b,c}'), ['a\\,b', 'c']);
  assert.equal(expandBraces('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}', 100).length, 100);
  const fs = fakeTree(TREE);
  assert.deepEqual((await glob('/d/{a,b}.txt', fs, { brace: true })).matches.map((m) => m.path), ['/d/a.txt', '/d/b.txt']);
  assert.deepEqual((await glob('/d/{sub,nope}', fs, { brace: true, mark: true, nocheck: true })).matches.map((m) => m.path), ['/d/sub/']);
  const none = await glob('/d/{x,y}', fs, { brace: true, nocheck: true });
  assert.deepEqual([none.matched, none.matches[0]!.path], [0, '/d/{x,y}']);
});
