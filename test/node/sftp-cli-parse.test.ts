// nacre-sftp's parsers: its command line (sftp's flags, the ssh command
// line they become, destinations as sftp splits them) and one line of the
// command language (quoting, glob escapes, prefixes, each command's flags
// and sftp's error messages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSftpArgs, parseSftpDestination, parseSftpUri, remoteColon, scanScaled } from '../../src/cli/sftp/args.js';
import { parseCommandLine, splitWords, undoGlobEscape, escapeGlob, CommandLineError, errorPrefix } from '../../src/cli/sftp/command-line.js';
import { parseNacreArgs } from '../../src/cli/ssh/args.js';
import { CliExit } from '../../src/cli/common/exit.js';

function exitOf(f: () => unknown): CliExit {
  try {
    f();
  } catch (err) {
    if (err instanceof CliExit) return err;
    throw err;
  }
  assert.fail('expected a CliExit');
}

test('destinations: host, user@host, host:path, [v6]:path, sftp:// URIs', () => {
  assert.deepEqual(parseSftpDestination('host'), { host: 'host' });
  assert.deepEqual(parseSftpDestination('me@host'), { user: 'me', host: 'host' });
  assert.deepEqual(parseSftpDestination('a@b@host'), { user: 'a@b', host: 'host' });
  assert.deepEqual(parseSftpDestination('me@host:/tmp/x'), { user: 'me', host: 'host', path: '/tmp/x' });
  assert.deepEqual(parseSftpDestination('host:'), { host: 'host', path: '.' });
  assert.deepEqual(parseSftpDestination('[::1]:dir'), { host: '::1', path: 'dir' });
  assert.deepEqual(parseSftpDestination('me@[::1]:dir'), { user: 'me', host: '::1', path: 'dir' });
  assert.deepEqual(parseSftpDestination('[::1]'), { host: '::1' });
  // a slash before any colon: not host:path
  assert.equal(remoteColon('./a:b'), -1);
  assert.equal(remoteColon(':x'), -1);
  assert.deepEqual(parseSftpUri('sftp://me@host:2222/some/dir'), { user: 'me', host: 'host', port: 2222, path: 'some/dir' });
  assert.deepEqual(parseSftpUri('sftp://host'), { host: 'host' });
  assert.deepEqual(parseSftpUri('sftp://a%40b;fingerprint=x@host/'), { user: 'a@b', host: 'host' });
  assert.deepEqual(parseSftpUri('sftp://[::1]:22/x%20y'), { host: '::1', port: 22, path: 'x y' });
  assert.equal(parseSftpUri('ssh://host'), null);
  for (const bad of ['sftp://host:0', 'sftp://host:99999', 'sftp://@host', 'sftp://', 'sftp://ho st', 'sftp://[::1', 'sftp://me%zz@host']) {
    assert.equal(exitOf(() => parseSftpUri(bad)).code, 1, bad);
  }
});

test('flags become the ssh command line sftp builds, which nacre reads as ssh_config lines', () => {
  const a = parseSftpArgs(['-P', '2222', '-i', 'key', '-o', 'Compression=yes', '-4', '-C', '-J', 'jump', '-c', 'aes128-ctr', '-F', 'cfg', '-v', 'me@host:dir']);
  assert.deepEqual(a.destination, { user: 'me', host: 'host', path: 'dir' });
  assert.deepEqual(a.sshArgs.slice(-4), ['-s', '--', 'host', 'sftp']);
  const n = parseNacreArgs(a.sshArgs);
  assert.equal(n.host, 'host');
  assert.equal(n.subsystem, true);
  assert.deepEqual(n.command, ['sftp']);
  assert.equal(n.configFile, 'cfg');
  for (const line of ['Port 2222', 'User me', 'IdentityFile key', 'Compression=yes', 'AddressFamily inet', 'Compression yes', 'ProxyJump jump', 'Ciphers aes128-ctr', 'ForwardX11 no', 'ClearAllForwardings yes', 'ControlMaster no', 'ForwardAgent no', 'PermitLocalCommand no', 'LogLevel DEBUG1']) {
    assert.ok(n.configLines.includes(line), `${line} in ${JSON.stringify(n.configLines)}`);
  }
  // -o given by the user comes before sftp's ForwardAgent no (the first value wins).
  assert.ok(n.configLines.indexOf('ForwardAgent no') > n.configLines.indexOf('Compression=yes'));
});

test('sftp flags of its own: -b (quiet, no progress, BatchMode), -q, -N, -a -p -r -f, -B -R -l -X', () => {
  const b = parseSftpArgs(['-b', 'cmds', 'host']);
  assert.equal(b.batchFile, 'cmds');
  assert.equal(b.quiet, true);
  assert.equal(b.progress, false);
  assert.ok(parseNacreArgs(b.sshArgs).configLines.includes('batchmode yes'));
  assert.equal(parseSftpArgs(['-b', '-', '-N', 'host']).quiet, false);
  const q = parseSftpArgs(['-q', 'host']);
  assert.equal(q.quiet, true);
  assert.equal(q.progress, false);
  assert.ok(parseNacreArgs(q.sshArgs).configLines.includes('LogLevel QUIET'));
  const g = parseSftpArgs(['-a', '-p', '-r', '-f', '-B', '65536', '-R', '16', '-l', '800', 'host', 'local']);
  assert.deepEqual([g.resume, g.preserve, g.recursive, g.fsync, g.bufferSize, g.requests, g.limitBitsPerSecond, g.localTarget], [true, true, true, true, 65536, 16, 800 * 1024, 'local']);
  const x = parseSftpArgs(['-X', 'buffer=32K', '-X', 'nrequests=8', 'host']);
  assert.deepEqual([x.bufferSize, x.requests], [32768, 8]);
  assert.equal(scanScaled('1M'), 1024 * 1024);
  assert.equal(scanScaled('x'), null);
});

test('bad command lines: sftp usage (1) or fatal (255)', () => {
  assert.equal(exitOf(() => parseSftpArgs([])).code, 1);
  assert.equal(exitOf(() => parseSftpArgs(['a', 'b', 'c'])).code, 1);
  assert.match(exitOf(() => parseSftpArgs(['-Z', 'host'])).message, /unknown option -- Z\nusage: nacre-sftp/);
  assert.equal(exitOf(() => parseSftpArgs(['-l', '0', 'host'])).code, 1);
  assert.equal(exitOf(() => parseSftpArgs(['-P', 'x', 'host'])).code, 255);
  assert.match(exitOf(() => parseSftpArgs(['-B', '0', 'host'])).message, /Invalid buffer size "0"/);
  assert.match(exitOf(() => parseSftpArgs(['-R', 'x', 'host'])).message, /Invalid number of requests "x"/);
  assert.match(exitOf(() => parseSftpArgs(['-X', 'buffer=300K', 'host'])).message, /Invalid buffer size/);
  assert.match(exitOf(() => parseSftpArgs(['-X', 'what', 'host'])).message, /Invalid -X option/);
  assert.match(exitOf(() => parseSftpArgs(['-b', 'x', '-b', 'y', 'host'])).message, /Batch file already specified/);
  assert.match(exitOf(() => parseSftpArgs(['-1', 'host'])).message, /no longer supported/);
});

test('words: quotes, backslashes, comments; quoted or escaped glob characters stay escaped', () => {
  assert.deepEqual(splitWords('get  a\\ b "c d" \'e f\'').words, ['get', 'a b', 'c d', 'e f']);
  assert.deepEqual(splitWords('ls "*.txt"').words, ['ls', '\\*.txt']);
  assert.deepEqual(splitWords('ls \\*.txt').words, ['ls', '\\*.txt']);
  assert.deepEqual(splitWords('ls *.txt').words, ['ls', '*.txt']);
  assert.deepEqual(splitWords('ls "a\\*"').words, ['ls', 'a\\\\\\*']);
  assert.deepEqual(splitWords('ls a"b c"d').words, ['ls', 'ab cd']);
  assert.deepEqual(splitWords('ls "say \\"hi\\""').words, ['ls', 'say "hi"']);
  assert.deepEqual(splitWords('ls x # comment').words, ['ls', 'x']);
  assert.deepEqual(splitWords('ls "#x"').words, ['ls', '#x']);
  assert.throws(() => splitWords('ls "open'), (e: unknown) => e instanceof CommandLineError && e.message === 'Unterminated quoted argument');
  assert.throws(() => splitWords('x'.repeat(9000)), /string too long/);
  assert.throws(() => splitWords('a '.repeat(200)), /Too many arguments/);
  const sloppy = splitWords('get "my fi', true);
  assert.deepEqual([sloppy.words, sloppy.lastQuote, sloppy.terminated, sloppy.lastStart], [['get', 'my fi'], '"', false, 4]);
  assert.equal(splitWords('get ', true).lastStart, 4);
  assert.equal(undoGlobEscape('a\\*b\\?c\\[d\\\\e\\x'), 'a*b?c[d\\e\\x');
  assert.equal(escapeGlob('/a[1]*?\\'), '/a\\[1\\]\\*\\?\\\\');
});

test('command lines: prefixes, flags, paths, numbers and sftp\'s messages', () => {
  const p = parseCommandLine('  -@get -pR "remote *" local\\*');
  assert.equal(p.ignoreErrors, true);
  assert.equal(p.noEcho, true);
  assert.equal(p.command?.command, 'get');
  assert.equal(p.command?.path1, 'remote \\*');
  assert.equal(p.command?.path2, 'local*');
  assert.equal(p.command?.flags.p, true);
  assert.equal(p.command?.flags.r, true);
  assert.equal(parseCommandLine('').command, null);
  assert.equal(parseCommandLine('# note').command, null);
  assert.equal(parseCommandLine('BYE').command?.command, 'quit');
  assert.equal(parseCommandLine('mget x').command?.command, 'get');
  assert.equal(parseCommandLine('ln -s a b').command?.flags.s, true);
  assert.equal(parseCommandLine('chmod 755 f').command?.number, 0o755);
  assert.equal(parseCommandLine('chown 1000 f').command?.number, 1000);
  assert.equal(parseCommandLine('chgrp -h 5 f').command?.flags.h, true);
  assert.equal(parseCommandLine('lumask 022').command?.number, 0o22);
  assert.equal(parseCommandLine('df -hi').command?.flags.i, true);
  assert.equal(parseCommandLine('!ls -l').command?.rest, 'ls -l');
  assert.equal(parseCommandLine('!').command?.rest, '');
  assert.equal(parseCommandLine('lls -la /tmp').command?.rest, '-la /tmp');
  assert.equal(parseCommandLine('rm a\\*').command?.path1, 'a\\*');
  assert.equal(parseCommandLine('mkdir a\\*').command?.path1, 'a*');
  assert.equal(parseCommandLine('cd').command?.path1, undefined);
  const ls = parseCommandLine('ls -lrt dir').command!;
  assert.deepEqual(ls.ls, { view: 'long', numeric: false, si: false, sort: 'time', reverse: true, all: false });
  assert.equal(ls.path1, 'dir');
  assert.deepEqual(parseCommandLine('ls -l -1 -S -a').command!.ls, { view: 'short', numeric: false, si: false, sort: 'size', reverse: false, all: true });
  assert.deepEqual(parseCommandLine('ls -nhf').command!.ls, { view: 'long', numeric: true, si: true, sort: 'none', reverse: false, all: false });
  const errors: [string, string][] = [
    ['bogus', 'Invalid command.'],
    ['ls -z', 'ls: Invalid flag -z'],
    ['get -x a', 'get: Invalid flag -x'],
    ['get', 'You must specify at least one path after a get command.'],
    ['rename a', 'You must specify two paths after a rename command.'],
    ['rm', 'You must specify a path after a rm command.'],
    ['chmod x f', 'You must supply a numeric argument to the chmod command.'],
    ['chmod 9 f', 'You must supply a numeric argument to the chmod command.'],
    ['chown 4294967296 f', 'You must supply a numeric argument to the chown command.'],
    ['chmod 644', 'You must specify a path after a chmod command.'],
    ['pwd -x', 'pwd: Invalid flag -x'],
    ['get "x', 'Unterminated quoted argument'],
  ];
  for (const [line, message] of errors) {
    assert.throws(() => parseCommandLine(line), (e: unknown) => e instanceof CommandLineError && e.message === message, line);
  }
  try {
    parseCommandLine('-@bogus');
  } catch (err) {
    assert.deepEqual(errorPrefix(err), { ignoreErrors: true, noEcho: true });
  }
});

test('random command lines parse or fail with a CommandLineError only', () => {
  const alphabet = ['a', ' ', '"', "'", '\\', '*', '?', '[', ']', '#', '-', '@', '!', 'get', 'ls', 'chmod', '7', '\t', 'é'];
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    let line = '';
    const len = rand(30);
    for (let k = 0; k < len; k++) line += alphabet[rand(alphabet.length)];
    try {
      parseCommandLine(line);
      splitWords(line, true);
    } catch (err) {
      assert.ok(err instanceof CommandLineError, `${JSON.stringify(line)}: ${String(err)}`);
    }
  }
});

test('sftpMain refuses before connecting: another subsystem, a missing batch file, usage; -D and -S programs that cannot run', async () => {
  const { sftpMain } = await import('../../src/cli/sftp/main.js');
  const { runMain } = await import('../../src/cli/common/io.js');
  const { fakeIo } = await import('./cli-helpers.js');
  const deps = { env: {}, localUser: 'me' };
  const cases: [string[], number, RegExp][] = [
    [['-D', '/nonexistent/sftp-server'], 255, /^exec: \/nonexistent\/sftp-server: No such file or directory\nCouldn't initialise connection to server\n$/],
    [['-D', ''], 255, /^No sftp server specified via -D\n$/],
    [['-S', '/nonexistent/ssh', 'host'], 255, /Couldn't initialise connection to server\n$/],
    [['-s', 'other', 'host'], 255, /only the sftp subsystem/],
    [['-b', '/nonexistent/batch', 'host'], 255, /^No such file or directory \(\/nonexistent\/batch\)\.\n$/],
    [['-h'], 1, /^usage: nacre-sftp /],
  ];
  for (const [args, code, message] of cases) {
    const io = fakeIo();
    assert.equal(await runMain((a, i) => sftpMain(a, i, deps), args, io), code, args.join(' '));
    assert.match(io.stderr(), message, args.join(' '));
  }
});

test('splitCommandLine: -D\'s command split as sftp\'s argv_split splits it', async () => {
  const { splitCommandLine } = await import('../../src/cli/common/program-transport.js');
  assert.deepEqual(splitCommandLine('/usr/lib/openssh/sftp-server -e -l DEBUG3'), ['/usr/lib/openssh/sftp-server', '-e', '-l', 'DEBUG3']);
  assert.deepEqual(splitCommandLine(`  a  'b c'  "d \\"e\\" f" g\\ h ''  `), ['a', 'b c', 'd "e" f', 'g h', '']);
  assert.deepEqual(splitCommandLine(''), []);
  assert.equal(splitCommandLine('a "b'), null);
  assert.equal(splitCommandLine("a 'b"), null);
  // As argv_split: an unknown escape keeps its backslash, \' ends no single-quoted word, a newline is no separator.
  assert.deepEqual(splitCommandLine('a\\x'), ['a\\x']);
  assert.deepEqual(splitCommandLine("'it\\'s' b"), ["it's", 'b']);
  assert.deepEqual(splitCommandLine('a\nb c'), ['a\nb', 'c']);
});
