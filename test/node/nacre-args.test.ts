// nacre's command line: ssh's getopt string, the config lines the flags
// become, destinations, and ssh's usage error (exit 255) for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityFileCheck, parseNacreArgs, parseDestination, forwardConfigLine, NacreUsageError, NACRE_USAGE } from '../../src/cli/ssh/args.js';
import { CliExit } from '../../src/cli/common/exit.js';
import { parseEscapeChar } from '../../src/cli/ssh/escape.js';
import { settingsFromValues } from '../../src/cli/ssh/settings.js';
import { resolveSshConfig, type SshConfigIO } from '../../src/index.js';

const IO: SshConfigIO = { readFile: () => null, glob: () => [], exec: () => false, localUser: 'me', localHost: 'here', home: '/home/me', uid: 1000, env: {} };

/** What the config resolver makes of the flags' lines (no file read). */
function settingsFromLines(lines: readonly string[]) {
  return settingsFromValues(resolveSshConfig({ host: 'h', commandLine: lines, configFile: 'none' }, IO).values);
}
import { nacreMain } from '../../src/cli/ssh/main.js';
import { sessionEnv } from '../../src/cli/ssh/main.js';
import { runMain, type CliIo } from '../../src/cli/common/io.js';
import { PassThrough } from 'node:stream';

function fakeIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    stdin: () => new PassThrough(),
    readLine: () => null,
    readPassphrase: async () => '',
    now: () => new Date(0),
  };
  return io;
}

async function runNacre(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = fakeIo();
  const code = await runMain(
    (a, i) => nacreMain(a, i, { env: {}, localUser: 'me', session: { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), stdinIsTty: false } }),
    args,
    io,
  );
  return { code, stdout: io.stdout, stderr: io.stderr };
}

test('flags become the config lines ssh makes of them', () => {
  const a = parseNacreArgs(['-p', '2222', '-l', 'bob', '-i', 'k1', '-i', 'k2', '-o', 'BatchMode=yes', '-A', '-C', '-4', '-T', '-N', '-n', '-c', 'aes128-ctr', '-m', 'hmac-sha2-256', '-J', 'jump', '-e', 'none', '-b', '127.0.0.2', 'host']);
  const s = settingsFromLines(a.configLines);
  assert.equal(s.get('Port'), '2222');
  assert.equal(s.get('User'), 'bob');
  assert.deepEqual(s.all('IdentityFile'), ['k1', 'k2']);
  assert.equal(s.get('BatchMode'), 'yes');
  assert.equal(s.get('ForwardAgent'), 'yes');
  assert.equal(s.get('Compression'), 'yes');
  assert.equal(s.get('AddressFamily'), 'inet');
  assert.equal(s.get('RequestTTY'), 'no');
  assert.equal(s.get('SessionType'), 'none');
  assert.equal(s.get('StdinNull'), 'yes');
  assert.equal(s.get('Ciphers'), 'aes128-ctr');
  assert.equal(s.get('MACs'), 'hmac-sha2-256');
  assert.equal(s.get('ProxyJump'), 'jump');
  assert.equal(s.get('EscapeChar'), 'none');
  assert.equal(s.get('BindAddress'), '127.0.0.2');
  assert.equal(a.host, 'host');
  assert.deepEqual(a.command, []);
});

test('-X -Y -B -x -k and sftp\'s -oForwardX11 no draw no warning; -X -Y -B -K are noted under -v', () => {
  const a = parseNacreArgs(['-X', '-Y', '-B', 'lo', '-x', '-k', '-K', '-o', 'ForwardX11 no', '-o', 'GSSAPIAuthentication=no', 'h']);
  assert.deepEqual(resolveSshConfig({ host: 'h', commandLine: a.configLines, configFile: 'none' }, IO).warnings, []);
  assert.deepEqual(a.ignored, ['-X', '-Y', '-B', '-K']);
  // Asking for what Nacre does not do is still said.
  const b = parseNacreArgs(['-o', 'ForwardX11 yes', 'h']);
  assert.equal(resolveSshConfig({ host: 'h', commandLine: b.configLines, configFile: 'none' }, IO).warnings.length, 1);
});

test("-i names a file ssh cannot reach: its warning, and the file left out (the defaults then apply)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-args-i-'));
  try {
    writeFileSync(join(dir, 'present'), '');
    const check = identityFileCheck(dir);
    const a = parseNacreArgs(['-i', '/nonexistent/key', '-i', '~/present', '-i', '~/missing', 'h'], {}, check);
    assert.deepEqual(a.warnings, [
      'Warning: Identity file /nonexistent/key not accessible: No such file or directory.',
      `Warning: Identity file ${dir}/missing not accessible: No such file or directory.`,
    ]);
    assert.deepEqual(settingsFromLines(a.configLines).all('IdentityFile'), ['~/present']);
    // Without a check (the library's parse), every -i is kept.
    assert.deepEqual(parseNacreArgs(['-i', '/nonexistent/key', 'h']).warnings, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a later flag replaces an earlier one and wins over -o, as in ssh', () => {
  const a = parseNacreArgs(['-o', 'Port=1', '-p', '2', '-p', '3', 'h']);
  assert.equal(settingsFromLines(a.configLines).get('Port'), '3');
});

test('-t, -tt, -v counts, -q', () => {
  assert.equal(settingsFromLines(parseNacreArgs(['-t', 'h']).configLines).get('RequestTTY'), 'yes');
  assert.equal(settingsFromLines(parseNacreArgs(['-tt', 'h']).configLines).get('RequestTTY'), 'force');
  const v = parseNacreArgs(['-vvv', 'h']);
  assert.equal(v.verbose, 3);
  assert.equal(settingsFromLines(v.configLines).get('LogLevel'), 'DEBUG3');
  assert.equal(settingsFromLines(parseNacreArgs(['-q', 'h']).configLines).get('LogLevel'), 'QUIET');
});

test('options after the destination are read; the first word after that starts the command', () => {
  const a = parseNacreArgs(['host', '-p', '22', '-v', 'ls', '-l', '/tmp']);
  assert.equal(a.host, 'host');
  assert.equal(a.verbose, 1);
  assert.deepEqual(a.command, ['ls', '-l', '/tmp']);
  const b = parseNacreArgs(['host', '--', '-x']);
  assert.deepEqual(b.command, ['-x']);
});

test('-L/-R/-D as config lines, through the library\'s forwarding parser', () => {
  assert.equal(forwardConfigLine('8080:server:80', 'local'), 'LocalForward 8080 server:80');
  assert.equal(forwardConfigLine('127.0.0.1:8080:server:80', 'local'), 'LocalForward 127.0.0.1:8080 server:80');
  assert.equal(forwardConfigLine('[::1]:8080:[::2]:80', 'local'), 'LocalForward [::1]:8080 [::2]:80');
  assert.equal(forwardConfigLine('/tmp/local.sock:server:80', 'local'), 'LocalForward /tmp/local.sock server:80');
  assert.equal(forwardConfigLine('8080:/run/remote.sock', 'local'), 'LocalForward 8080 /run/remote.sock');
  assert.equal(forwardConfigLine('127.0.0.1:8080:/run/remote.sock', 'remote'), 'RemoteForward 127.0.0.1:8080 /run/remote.sock');
  assert.equal(forwardConfigLine('8080', 'remote'), 'RemoteForward 8080');
  assert.equal(forwardConfigLine('127.0.0.1:1080', 'dynamic'), 'DynamicForward 127.0.0.1:1080');
  // A socket path with a blank survives the config line (quoted).
  assert.equal(forwardConfigLine('/tmp/my sock:server:80', 'local'), 'LocalForward "/tmp/my sock" server:80');
  // ${VAR} is expanded as ssh does for -L.
  assert.equal(forwardConfigLine('${P}:server:80', 'local', { P: '5555' }), 'LocalForward 5555 server:80');
  const a = parseNacreArgs(['-L', '8080:server:80', '-R', '0:localhost:22', '-D', '1080', '-L', '/tmp/l.sock:/run/r.sock', 'h']);
  const v = resolveSshConfig({ host: 'h', commandLine: a.configLines, configFile: 'none' }, IO).values;
  assert.deepEqual(v.LocalForward, [
    { type: 'local', listen: { kind: 'tcp', port: 8080 }, connect: { kind: 'tcp', host: 'server', port: 80 } },
    { type: 'local', listen: { kind: 'unix', path: '/tmp/l.sock' }, connect: { kind: 'unix', path: '/run/r.sock' } },
  ]);
  assert.deepEqual(v.RemoteForward, [{ type: 'remote', listen: { kind: 'tcp', port: 0 }, connect: { kind: 'tcp', host: 'localhost', port: 22 } }]);
  assert.deepEqual(v.DynamicForward, [{ type: 'dynamic', listen: { kind: 'tcp', port: 1080 } }]);
});

test("malformed -L/-R/-D: ssh 10's message, no usage text, status 255", async () => {
  for (const [flag, spec, word] of [
    ['-L', 'x', 'local'],
    ['-L', '8080', 'local'],
    ['-L', '1:2:3:4:5', 'local'],
    ['-R', 'a:b:c:d:e', 'remote'],
    ['-R', '', 'remote'],
    ['-D', 'a:b:c', 'dynamic'],
    ['-L', '${NOPE}:h:1', 'local'],
  ] as const) {
    assert.throws(() => parseNacreArgs([flag, spec, 'h']), (e: unknown) => e instanceof CliExit && e.code === 255 && e.message === `Bad ${word} forwarding specification '${spec}'`);
    const r = await runNacre([flag, spec, 'h']);
    assert.equal(r.code, 255);
    assert.equal(r.stderr, `Bad ${word} forwarding specification '${spec}'\n`);
  }
});

test("-e: ssh's values (^] as the control character, none), and its message for a bad one", async () => {
  for (const [value, byte] of [['^]', 0x1d], ['~', 0x7e], ['%', 0x25], ['none', null]] as const) {
    const s = settingsFromLines(parseNacreArgs(['-e', value, 'h']).configLines);
    assert.equal(parseEscapeChar(s.get('EscapeChar') ?? '~'), byte, value);
  }
  for (const bad of ['xx', '^ab', '']) {
    const r = await runNacre(['-e', bad, 'h']);
    assert.equal(r.code, 255);
    assert.equal(r.stderr, `Bad escape character '${bad}'.\n`);
  }
});

test('destinations: user@host, host:port, ssh:// URIs, IPv6', () => {
  assert.deepEqual(parseDestination('alice@example.org'), { user: 'alice', host: 'example.org' });
  assert.deepEqual(parseDestination('example.org:2222'), { host: 'example.org', port: 2222 });
  assert.deepEqual(parseDestination('ssh://bob@example.org:2200'), { user: 'bob', host: 'example.org', port: 2200 });
  assert.deepEqual(parseDestination('ssh://[::1]:2200'), { host: '::1', port: 2200 });
  assert.deepEqual(parseDestination('::1'), { host: '::1' });
  assert.deepEqual(parseDestination('a@b@host'), { user: 'a@b', host: 'host' });
  for (const bad of ['', 'ssh://', 'host:99999', 'host:x', '@host', 'ssh://h/path', '[::1']) assert.throws(() => parseDestination(bad), NacreUsageError, bad);
  const a = parseNacreArgs(['-l', 'x', 'ssh://bob@h:2200', 'true']);
  const s = settingsFromLines(a.configLines);
  assert.equal(a.host, 'h');
  assert.equal(s.get('Port'), '2200');
});

test('unknown flags, missing arguments and no destination: ssh usage on stderr, exit 255', async () => {
  for (const args of [['-Z', 'h'], ['-p'], [], ['-v'], ['ssh://%zz@h']]) {
    const r = await runNacre(args);
    assert.equal(r.code, 255, args.join(' '));
    assert.ok(r.stderr.endsWith(NACRE_USAGE), r.stderr);
  }
  const v1 = await runNacre(['-1', 'h']);
  assert.equal(v1.code, 255);
  assert.equal(v1.stderr, 'SSH protocol v.1 is no longer supported\n');
  const r = await runNacre(['-Z', 'h']);
  assert.equal(r.stderr, 'unknown option -- Z\n' + NACRE_USAGE);
  const bad = await runNacre(['host:99999']);
  assert.equal(bad.code, 255);
  assert.match(bad.stderr, /Bad port '99999'/);
});

test('bad values: a clear message and exit 255', async () => {
  for (const [args, re] of [
    [['-o', 'StrictHostKeyChecking=maybe', 'h'], /StrictHostKeyChecking/],
    [['-o', 'RequestTTY=sometimes', 'h'], /RequestTTY/],
    [['-o', 'LogLevel=LOUD', 'h'], /LogLevel/],
    [['-p', '0', 'h'], /Port/],
  ] as const) {
    const r = await runNacre([...args]);
    assert.equal(r.code, 255, args.join(' '));
    assert.match(r.stderr, re);
  }
});

test('-Q lists algorithms from the library tables; -V prints the version', async () => {
  const kex = await runNacre(['-Q', 'kex']);
  assert.equal(kex.code, 0);
  assert.ok(kex.stdout.split('\n').includes('mlkem768x25519-sha256'), kex.stdout);
  assert.ok(kex.stdout.split('\n').includes('curve25519-sha256'));
  const cipher = await runNacre(['-Q', 'cipher']);
  assert.ok(cipher.stdout.split('\n').includes('chacha20-poly1305@openssh.com'));
  const key = await runNacre(['-Q', 'key']);
  assert.ok(key.stdout.split('\n').includes('ssh-ed25519-cert-v01@openssh.com'));
  const mac = await runNacre(['-Q', 'mac']);
  assert.ok(mac.stdout.split('\n').includes('hmac-sha2-256-etm@openssh.com'));
  const bad = await runNacre(['-Q', 'nonsense']);
  assert.equal(bad.code, 255);
  assert.match(bad.stderr, /Unsupported query "nonsense"/);
  const v = await runNacre(['-V']);
  assert.equal(v.code, 0);
  assert.match(v.stderr, /^Nacre_\d/);
});

test('SendEnv patterns pick local variables; SetEnv pairs are added and win', () => {
  const s = settingsFromLines(['SendEnv LANG LC_* -LC_SECRET', 'SetEnv FOO=bar "QUOTED=a b" LANG=C']);
  assert.deepEqual(sessionEnv(s, { LANG: 'en_US.UTF-8', LC_ALL: 'C', LC_SECRET: 'x', HOME: '/root' }), { LANG: 'C', LC_ALL: 'C', FOO: 'bar', QUOTED: 'a b' });
});

test('random command lines: only usage errors (or -1\'s fatal) come out of the parser', async () => {
  const { CliExit } = await import('../../src/cli/common/exit.js');
  const pieces = ['-', '--', '-p', '-L', '-o', 'ssh://', '@', ':', '[', ']', '%', 'host', '22', '-vvv', '-tt', '-W', 'a:b', '-1', '', '=', 'x@y:1', '-Q'];
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 5000; i++) {
    const args = Array.from({ length: rnd(6) }, () => Array.from({ length: 1 + rnd(3) }, () => pieces[rnd(pieces.length)]!).join(''));
    try {
      const a = parseNacreArgs(args);
      assert.ok(Array.isArray(a.configLines));
    } catch (err) {
      assert.ok(err instanceof NacreUsageError || err instanceof CliExit, `${JSON.stringify(args)}: ${String(err)}`);
    }
  }
});

test("the PTY decision: ssh's notice when one is wanted (-t, or no command) but stdin is not a terminal", async () => {
  const { wantsTty } = await import('../../src/cli/ssh/session.js');
  const { Logger } = await import('../../src/cli/common/log.js');
  const NOTICE = 'Pseudo-terminal will not be allocated because stdin is not a terminal.\n';
  const cases: [requestTty: 'auto' | 'yes' | 'no' | 'force', command: string, stdinIsTty: boolean, pty: boolean, said: string][] = [
    ['auto', '', true, true, ''],
    ['auto', '', false, false, NOTICE],
    ['auto', 'ls', false, false, ''],
    ['yes', 'ls', false, false, NOTICE],
    ['yes', 'ls', true, true, ''],
    ['no', '', false, false, ''],
    ['force', 'ls', false, true, ''],
  ];
  for (const [requestTty, command, stdinIsTty, pty, said] of cases) {
    let out = '';
    const log = new Logger((t) => (out += t));
    assert.equal(wantsTty({ type: 'default', requestTty, command }, stdinIsTty, log), pty, `${requestTty} ${command} ${stdinIsTty}`);
    assert.equal(out, said, `${requestTty} ${command} ${stdinIsTty}`);
  }
  // -N, -s, -W never reach the question.
  let out = '';
  assert.equal(wantsTty({ type: 'none', requestTty: 'auto', command: '' }, false, new Logger((t) => (out += t))), false);
  assert.equal(out, '');
});
