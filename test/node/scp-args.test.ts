// nacre-scp's pure parts: the command line as scp(1) reads it (the ssh
// arguments it passes on, its own flags, its refusals and exit statuses),
// the operands (host:path, user@host:path, [v6]:path, scp:// URIs, local
// names with colons), the path helpers, and remote wildcard expansion over a
// fake directory tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScpArgs, connectionArgs, SCP_USAGE } from '../../src/cli/scp/args.js';
import {
  hostColon,
  parseOperand,
  parseScpUri,
  parseUserHostPath,
  isRemoteText,
  badUserName,
  prepareRemotePath,
  baseName,
  pathAppend,
  nameUnderDirectory,
  OperandError,
} from '../../src/cli/scp/paths.js';
import { matchComponent, expandRemoteGlob, hasMagic, unescapePattern, type GlobLister } from '../../src/cli/common/glob.js';
import { CliExit } from '../../src/cli/common/exit.js';
import { parseNacreArgs } from '../../src/cli/ssh/args.js';

function exitOf(fn: () => unknown): CliExit {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliExit) return err;
    throw err;
  }
  assert.fail('expected a CliExit');
}

test('scp args: its own flags, and the ssh arguments every connection gets, as scp builds them', () => {
  const a = parseScpArgs(['-rpq', '-P', '2222', '-i', 'key', '-o', 'Compression=yes', '-C', '-4', '-l', '800', 'a', 'h:b']);
  assert.equal(a.recursive, true);
  assert.equal(a.preserve, true);
  assert.equal(a.quiet, true);
  assert.equal(a.port, 2222);
  assert.equal(a.limitKbps, 800);
  assert.deepEqual(a.operands, ['a', 'h:b']);
  assert.equal(a.targetShouldBeDirectory, false);
  assert.equal(a.throughLocal, true, '-3 is the default');
  assert.deepEqual(a.sshArgs, [
    '-oPermitLocalCommand=no',
    '-oClearAllForwardings=yes',
    '-oRemoteCommand=none',
    '-oRequestTTY=no',
    '-oControlMaster=no',
    '-q',
    '-i',
    'key',
    '-o',
    'Compression=yes',
    '-C',
    '-4',
    '-oForwardAgent=no',
  ]);
  assert.deepEqual(a.remoteRemoteArgs, ['-q', '-i', 'key', '-o', 'Compression=yes', '-C', '-4']);
  // A connection: the operand's port wins over -P; then -l user, -s -- host sftp.
  assert.deepEqual(connectionArgs(a, 'example.org', 'alice', 2200).slice(-9), ['-oForwardAgent=no', '-p', '2200', '-l', 'alice', '-s', '--', 'example.org', 'sftp']);
  assert.deepEqual(connectionArgs(a, 'h', undefined, undefined).slice(-6), ['-p', '2222', '-s', '--', 'h', 'sftp']);
  // nacre's parser reads them as ssh would: the subsystem, the host, the flags' config lines.
  const n = parseNacreArgs(connectionArgs(a, 'example.org', 'alice', undefined));
  assert.equal(n.host, 'example.org');
  assert.equal(n.subsystem, true);
  assert.deepEqual(n.command, ['sftp']);
  for (const line of ['User alice', 'Port 2222', 'IdentityFile key', 'Compression=yes', 'LogLevel QUIET', 'RequestTTY=no', 'ClearAllForwardings=yes', 'AddressFamily inet']) {
    assert.ok(n.configLines.includes(line), `${line} in ${n.configLines.join(' | ')}`);
  }
});

test('scp args: -3/-R, -O/-s, -v, -B, -D, -S, -X, -d, several sources', () => {
  assert.equal(parseScpArgs(['-R', 'a:x', 'b:y']).throughLocal, false);
  assert.equal(parseScpArgs(['-R', '-3', 'a:x', 'b:y']).throughLocal, true);
  assert.equal(parseScpArgs(['-O', 'a', 'b:']).legacy, true);
  assert.equal(parseScpArgs(['-O', '-s', 'a', 'b:']).legacy, false);
  const v = parseScpArgs(['-vv', '-B', 'a', 'b:']);
  assert.equal(v.verbose, 2);
  assert.ok(v.sshArgs.includes('-oBatchmode=yes'));
  assert.equal(v.sshArgs.filter((x) => x === '-v').length, 2);
  assert.equal(parseScpArgs(['-D', '/usr/lib/openssh/sftp-server', 'a', 'b:']).sftpDirect, '/usr/lib/openssh/sftp-server');
  assert.equal(parseScpArgs(['-S', '/usr/bin/ssh', 'a', 'b:']).sshProgram, '/usr/bin/ssh');
  const x = parseScpArgs(['-X', 'buffer=64k', '-X', 'nrequests=8', 'a', 'b:']);
  assert.equal(x.chunkSize, 65536);
  assert.equal(x.requests, 8);
  // Without -X the SFTP client sizes its requests from the server's limits.
  assert.equal(parseScpArgs(['a', 'b:']).chunkSize, undefined);
  assert.equal(parseScpArgs(['a', 'b:']).requests, undefined);
  assert.equal(parseScpArgs(['-d', 'a', 'b:']).targetShouldBeDirectory, true);
  assert.equal(parseScpArgs(['a', 'b', 'c:']).targetShouldBeDirectory, true);
  assert.equal(parseScpArgs(['-T', '-2', 'a', 'b']).operands.length, 2);
});

test('scp args: refusals with scp\'s messages and statuses', () => {
  const usage = exitOf(() => parseScpArgs(['onlyone']));
  assert.equal(usage.code, 1);
  assert.equal(usage.message, SCP_USAGE);
  assert.equal(exitOf(() => parseScpArgs([])).code, 1);
  const unknown = exitOf(() => parseScpArgs(['-z', 'a', 'b']));
  assert.equal(unknown.code, 1);
  assert.match(unknown.message, /unknown option -- z\nusage: nacre-scp /);
  assert.equal(exitOf(() => parseScpArgs(['-M', 'x', 'a', 'b'])).code, 1);
  assert.equal(exitOf(() => parseScpArgs(['-P'])).code, 1);
  assert.deepEqual([exitOf(() => parseScpArgs(['-P', '0', 'a', 'b'])).code, exitOf(() => parseScpArgs(['-P', 'x', 'a', 'b'])).message], [255, 'bad port "x"\n']);
  for (const l of ['0', 'x', '104857601', '-1']) assert.equal(exitOf(() => parseScpArgs(['-l', l, 'a', 'b'])).code, 1, l);
  assert.equal(exitOf(() => parseScpArgs(['-1', 'a', 'b'])).message, 'SSH protocol v.1 is no longer supported');
  assert.equal(exitOf(() => parseScpArgs(['-X', 'buffer=0', 'a', 'b'])).code, 255);
  assert.equal(exitOf(() => parseScpArgs(['-X', 'buffer=300k', 'a', 'b'])).code, 255);
  assert.match(exitOf(() => parseScpArgs(['-X', 'nrequests=0', 'a', 'b'])).message, /^Invalid number of requests "0"/);
  assert.equal(exitOf(() => parseScpArgs(['-X', 'what', 'a', 'b'])).message, 'Invalid -X option');
  assert.match(exitOf(() => parseScpArgs(['-t', 'a', 'b'])).message, /not supported/);
  assert.match(exitOf(() => parseScpArgs(['-f', 'a', 'b'])).message, /not supported/);
});

test('operands: host:path, user@host:path, [v6]:path; colons after a slash or first are local', () => {
  assert.deepEqual(parseOperand('host:dir/f'), { kind: 'remote', host: 'host', path: 'dir/f' });
  assert.deepEqual(parseOperand('host:'), { kind: 'remote', host: 'host', path: '.' });
  assert.deepEqual(parseOperand('bob@host:/abs'), { kind: 'remote', host: 'host', user: 'bob', path: '/abs' });
  // The user is everything before the last @.
  assert.deepEqual(parseOperand('a@b@host:x'), { kind: 'remote', host: 'host', user: 'a@b', path: 'x' });
  assert.deepEqual(parseOperand('@host:x'), { kind: 'remote', host: 'host', path: 'x' });
  assert.deepEqual(parseOperand('[::1]:/tmp/x'), { kind: 'remote', host: '::1', path: '/tmp/x' });
  assert.deepEqual(parseOperand('u@[fe80::1]:y'), { kind: 'remote', host: 'fe80::1', user: 'u', path: 'y' });
  assert.deepEqual(parseOperand('h:a:b'), { kind: 'remote', host: 'h', path: 'a:b' });
  for (const local of ['./a:b', '/x/y:z', ':leading', 'plain', 'dir/file', '[::1]', '']) {
    assert.deepEqual(parseOperand(local), { kind: 'local', path: local }, local);
    assert.equal(isRemoteText(local), false, local);
  }
  assert.equal(hostColon('a:b'), 1);
  assert.equal(hostColon('[::1]:b'), 5);
  assert.equal(hostColon('[::1]'), -1);
  assert.equal(parseUserHostPath('a/b:c'), null);
  assert.equal(isRemoteText('scp://h/x'), true);
});

test('scp:// URIs: user, port, the path after the first slash, %-escapes; malformed ones refused', () => {
  assert.deepEqual(parseScpUri('scp://h'), { kind: 'remote', host: 'h', path: '.' });
  assert.deepEqual(parseScpUri('scp://h/'), { kind: 'remote', host: 'h', path: '.' });
  assert.deepEqual(parseScpUri('scp://u@h:2222/dir/f'), { kind: 'remote', host: 'h', user: 'u', port: 2222, path: 'dir/f' });
  assert.deepEqual(parseScpUri('scp://h//abs/f'), { kind: 'remote', host: 'h', path: '/abs/f' });
  assert.deepEqual(parseScpUri('scp://a%40b;fp=x@h:22'), { kind: 'remote', host: 'h', user: 'a@b', port: 22, path: '.' });
  assert.deepEqual(parseScpUri('scp://h/a%20b'), { kind: 'remote', host: 'h', path: 'a b' });
  assert.deepEqual(parseScpUri('scp://[h1]:7/x'), { kind: 'remote', host: 'h1', port: 7, path: 'x' });
  assert.equal(parseScpUri('host:x'), null);
  assert.equal(parseScpUri('ssh://h/x'), null);
  for (const bad of ['scp://', 'scp://@h/x', 'scp://h:0/x', 'scp://h:99999', 'scp://h:x/y', 'scp://[::1]:22/x', 'scp://[h', 'scp://h/%zz', 'scp://-h/x', 'scp://h h/x']) {
    assert.throws(() => parseScpUri(bad), OperandError, bad);
  }
});

test('path helpers: user names scp refuses, ~ paths, basename, joining', () => {
  assert.equal(badUserName('alice'), null);
  assert.equal(badUserName('a-b.c_d'), null);
  for (const bad of ["a'b", 'a"b', 'a`b', 'a b', 'a#b', 'é']) assert.equal(badUserName(bad), `${bad}: invalid user name`);
  assert.deepEqual(prepareRemotePath(''), { path: '.' });
  assert.deepEqual(prepareRemotePath('~'), { path: '.' });
  assert.deepEqual(prepareRemotePath('~/'), { path: '.' });
  assert.deepEqual(prepareRemotePath('~//x/y'), { path: 'x/y' });
  assert.deepEqual(prepareRemotePath('~bob/x'), { expand: '~bob/x' });
  assert.deepEqual(prepareRemotePath('/a/~b'), { path: '/a/~b' });
  assert.equal(baseName('/a/b/'), 'b');
  assert.equal(baseName('b'), 'b');
  assert.equal(baseName('/'), '/');
  assert.equal(baseName(''), '.');
  assert.equal(nameUnderDirectory('../'), '.');
  assert.equal(nameUnderDirectory('x/..'), '.');
  assert.equal(pathAppend('d', 'f'), 'd/f');
  assert.equal(pathAppend('d/', 'f'), 'd/f');
  assert.equal(pathAppend('/', 'f'), '/f');
});

test('wildcards: *, ?, classes, ranges, negation, quoting; a leading dot only by a dot', () => {
  const m = (p: string, n: string) => matchComponent(p, n);
  assert.ok(m('*.txt', 'a.txt'));
  assert.ok(!m('*.txt', '.hidden.txt'));
  assert.ok(m('.*', '.hidden'));
  assert.ok(m('?', 'x'));
  assert.ok(!m('?', 'xy'));
  assert.ok(m('[a-c]1', 'b1'));
  assert.ok(!m('[!a-c]1', 'b1'));
  assert.ok(m('[^a-c]1', 'd1'));
  assert.ok(m('[]x]', ']'));
  assert.ok(m('[a-]', '-'));
  assert.ok(m('\\*', '*'));
  assert.ok(!m('\\*', 'a'));
  assert.ok(m('[x', '[x'));
  assert.ok(m('a(b)+$', 'a(b)+$'));
  assert.ok(m('*', 'new\nline'));
  // A backwards range matches nothing (and its negation anything); one character is one code point.
  assert.ok(!m('[z-a]', 'b'));
  assert.ok(m('[!z-a]', 'b'));
  assert.ok(m('[b-,x]', 'x'));
  assert.ok(m('?', '\u{1F600}'));
  assert.ok(m('[\\]]', ']'));
  assert.ok(hasMagic('a*'));
  assert.ok(!hasMagic('a\\*'));
  assert.equal(unescapePattern('a\\*b'), 'a*b');
});

test('expandRemoteGlob: lists only what the pattern needs, sorted; no match gives the pattern back', async () => {
  const tree: Record<string, string[]> = {
    '.': ['b.txt', 'a.txt', '.h.txt', 'dir', 'other'],
    dir: ['x.log', 'y.txt'],
    '/abs': ['d1', 'd2', 'f'],
    '/abs/d1': ['k'],
    '/abs/d2': ['k', 'j'],
  };
  const listed: string[] = [];
  const lister: GlobLister = {
    async list(path) {
      listed.push(path);
      const names = tree[path];
      if (!names) throw new Error('no such directory');
      return names.map((filename) => ({ filename }));
    },
    async isDirectory(path) {
      return path in tree;
    },
    async exists(path) {
      if (path in tree) return true;
      const slash = path.lastIndexOf('/');
      const dir = slash < 0 ? '.' : path.slice(0, slash) || '/';
      return (tree[dir] ?? []).includes(path.slice(slash + 1));
    },
  };
  assert.deepEqual(await expandRemoteGlob('*.txt', lister), { paths: ['a.txt', 'b.txt'], matched: 2 });
  assert.deepEqual(await expandRemoteGlob('dir/*.txt', lister), { paths: ['dir/y.txt'], matched: 1 });
  assert.deepEqual(await expandRemoteGlob('/abs/d*/k', lister), { paths: ['/abs/d1/k', '/abs/d2/k'], matched: 2 });
  // A literal last component is kept only where it exists.
  assert.deepEqual(await expandRemoteGlob('/abs/d*/j', lister), { paths: ['/abs/d2/j'], matched: 1 });
  assert.deepEqual(await expandRemoteGlob('/abs/d*/none', lister), { paths: ['/abs/d*/none'], matched: 0 });
  assert.deepEqual(await expandRemoteGlob('/abs/*/', lister), { paths: ['/abs/d1', '/abs/d2'], matched: 2 });
  assert.deepEqual(await expandRemoteGlob('*.none', lister), { paths: ['*.none'], matched: 0 });
  assert.deepEqual(await expandRemoteGlob('nodir/*', lister), { paths: ['nodir/*'], matched: 0 });
  listed.length = 0;
  assert.deepEqual(await expandRemoteGlob('plain\\*name', lister), { paths: ['plain*name'], matched: 0 });
  assert.deepEqual(listed, [], 'no listing without a wildcard');
});

test('operands and patterns fuzzed: only OperandError comes out, and parsed parts are consistent', async () => {
  let seed = 13;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const alphabet = 'scp:/@[]%;0123456789ab.-~*?\\{},! \n';
  const lister: GlobLister = {
    list: async () => [{ filename: 'a' }, { filename: '.b' }, { filename: 'c*' }],
    isDirectory: async () => rand() < 0.5,
    exists: async () => rand() < 0.5,
  };
  for (let i = 0; i < 3000; i++) {
    const prefix = rand() < 0.3 ? 'scp://' : '';
    const text = prefix + Array.from({ length: Math.floor(rand() * 24) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    let op;
    try {
      op = parseOperand(text);
    } catch (err) {
      assert.ok(err instanceof OperandError, `${JSON.stringify(text)}: ${String(err)}`);
      continue;
    }
    if (op.kind === 'local') assert.equal(op.path, text);
    else {
      assert.ok(op.host.length > 0 || !text.startsWith('scp://'), JSON.stringify(text));
      assert.ok(op.path.length > 0);
      if (op.port !== undefined) assert.ok(op.port >= 1 && op.port <= 65535);
    }
    // Any text as a pattern: it matches or not, and expansion ends with paths.
    assert.equal(typeof matchComponent(text, 'a'), 'boolean');
    if (i % 10 === 0) assert.ok((await expandRemoteGlob(text, lister)).paths.length > 0);
  }
});
