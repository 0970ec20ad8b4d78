// The `nacre` command as a real process against OpenSSH 10's sshd: exit
// statuses and stderr of remote commands, nacre's own failures (255 with
// ssh's messages), the known_hosts question answered yes, no and with the
// fingerprint on a pseudo-terminal, a changed key refused with the warning,
// BatchMode, the -v trace and WarnWeakCrypto. HOME is a temporary directory,
// so the user's own ~/.ssh is never read or written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { createServer, connect } from 'node:net';
import { findOpenSsh, startSshd, keygen, tempDir, freePort, type Sshd } from './openssh.js';
import { pty, ptySkipReason } from '../node/pty-loader.js';
import { NACRE, runNacre as runNacreIn, type NacreRun, type NacreRunOptions } from './nacre-run.js';
import { fingerprintSha256, parseOpenSshPublicKeyLine } from '../../src/index.js';

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH not installed';


let sshd: Sshd;
let home: string;
let key: string;
let hostLine: string;

before(async () => {
  if (!o) return;
  home = tempDir('nacre-home');
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const k = keygen(o, home, 'ed25519', 'id_test');
  key = k.privatePath;
  sshd = await startSshd(o, ['AcceptEnv NACRE_*'], { authorizedKeys: k.publicLine + '\n', hostKeyTypes: ['ed25519'] });
  hostLine = sshd.hostKeys.ed25519!;
});

after(async () => {
  await sshd?.stop();
});

/** Runs nacre to its end with this file's HOME (see nacre-run.ts). */
function runNacre(args: string[], options: Omit<NacreRunOptions, 'home'> = {}): Promise<NacreRun> {
  return runNacreIn(args, { home, ...options });
}

/** known_hosts with the server's real key. */
function knownHostsWithServer(): string {
  const path = join(tempDir('nacre-kh'), 'known_hosts');
  writeFileSync(path, `[127.0.0.1]:${sshd.port} ${hostLine}\n`);
  return path;
}

function baseArgs(knownHosts: string): string[] {
  return ['-F', 'none', '-i', key, '-p', String(sshd.port), '-o', `UserKnownHostsFile=${knownHosts}`];
}

test('exec: stdout, stderr and the remote exit status', { skip, timeout: 60000 }, async () => {
  const r = await runNacre([...baseArgs(knownHostsWithServer()), '127.0.0.1', 'echo out; echo err >&2; exit 7']);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
});

test('exec: the words of the command are joined as ssh joins them; stdin reaches the command', { skip, timeout: 60000 }, async () => {
  const r = await runNacre([...baseArgs(knownHostsWithServer()), '127.0.0.1', 'tr', 'a-z', 'A-Z'], { input: 'hello\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'HELLO\n');
  const n = await runNacre([...baseArgs(knownHostsWithServer()), '-n', '127.0.0.1', 'cat; echo done'], { input: 'ignored\n' });
  assert.equal(n.stdout, 'done\n');
});

test('a command killed by a signal gives 255, as ssh', { skip, timeout: 60000 }, async () => {
  const r = await runNacre([...baseArgs(knownHostsWithServer()), '127.0.0.1', 'kill -TERM $$']);
  assert.equal(r.code, 255, r.stderr);
});

test("nacre's own failures: refused port, bad flag, bad forwarding spec value: 255 with ssh's words", { skip, timeout: 60000 }, async () => {
  const port = await freePort();
  const r = await runNacre(['-F', 'none', '-p', String(port), '-o', 'BatchMode=yes', '127.0.0.1', 'true']);
  assert.equal(r.code, 255);
  assert.equal(r.stderr, `nacre: connect to host 127.0.0.1 port ${port}: Connection refused\n`);
  const u = await runNacre(['-Z', '127.0.0.1']);
  assert.equal(u.code, 255);
  assert.match(u.stderr, /^unknown option -- Z\nusage: nacre /);
});

test('BatchMode: an unknown host key is refused without a question, known_hosts untouched', { skip, timeout: 60000 }, async () => {
  const kh = join(tempDir('nacre-kh'), 'known_hosts');
  const r = await runNacre([...baseArgs(kh), '-o', 'BatchMode=yes', '127.0.0.1', 'true']);
  assert.equal(r.code, 255);
  assert.equal(r.stderr, 'Host key verification failed.\n');
  assert.equal(existsSync(kh), false);
});

test('no usable key under BatchMode: "Permission denied (...)" and 255', { skip, timeout: 60000 }, async () => {
  const r = await runNacre(['-F', 'none', '-p', String(sshd.port), '-o', `UserKnownHostsFile=${knownHostsWithServer()}`, '-o', 'BatchMode=yes', 'nobody@127.0.0.1', 'true']);
  assert.equal(r.code, 255);
  assert.match(r.stderr, /^nobody@127\.0\.0\.1: Permission denied \(publickey,password,keyboard-interactive\)\.\n$/);
});

test('accept-new adds the key with "Permanently added"; a changed key is then refused with the warning naming the line', { skip, timeout: 60000 }, async () => {
  const kh = join(tempDir('nacre-kh'), 'known_hosts');
  const first = await runNacre([...baseArgs(kh), '-o', 'StrictHostKeyChecking=accept-new', '127.0.0.1', 'true']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr, `Warning: Permanently added '[127.0.0.1]:${sshd.port}' (ED25519) to the list of known hosts.\n`);
  assert.match(readFileSync(kh, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `));
  // Another key for the same host name on line 2.
  const other = keygen(o!, tempDir('nacre-other'), 'ed25519', 'other').publicLine.split(' ').slice(0, 2).join(' ');
  writeFileSync(kh, `# first line\n[127.0.0.1]:${sshd.port} ${other}\n`);
  const r = await runNacre([...baseArgs(kh), '-o', 'StrictHostKeyChecking=accept-new', '127.0.0.1', 'true']);
  assert.equal(r.code, 255);
  assert.match(r.stderr, /@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @/);
  assert.ok(r.stderr.includes(`Offending ED25519 key in ${kh}:2\n`), r.stderr);
  assert.ok(r.stderr.includes(fingerprintSha256(parseOpenSshPublicKeyLine(hostLine).blob)), r.stderr);
  assert.ok(r.stderr.endsWith('Host key verification failed.\n'), r.stderr);
});

/** Runs nacre on a terminal, answering the host key question with `answer`. */
function onTerminal(args: string[], answer: string): Promise<{ screen: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const term = pty!.spawn(process.execPath, [NACRE, ...args], { name: 'xterm', cols: 200, rows: 50, cwd: process.cwd(), env: { PATH: process.env.PATH ?? '', HOME: home } });
    let screen = '';
    let answered = false;
    const timer = setTimeout(() => {
      term.kill();
      reject(new Error(`timed out; screen so far:\n${screen}`));
    }, 30000);
    term.onData((d) => {
      screen += d;
      if (!answered && screen.includes('(yes/no/[fingerprint])? ')) {
        answered = true;
        term.write(answer + '\r');
      }
    });
    term.onExit(({ exitCode }) => {
      clearTimeout(timer);
      resolve({ screen, exitCode });
    });
  });
}

const ptySkip = skip || ptySkipReason;

test('the known_hosts question on the terminal: yes records the key and runs the command', { skip: ptySkip, timeout: 60000 }, async () => {
  const kh = join(tempDir('nacre-kh'), 'known_hosts');
  const { screen, exitCode } = await onTerminal([...baseArgs(kh), '127.0.0.1', 'echo RAN'], 'yes');
  assert.equal(exitCode, 0, screen);
  const fp = fingerprintSha256(parseOpenSshPublicKeyLine(hostLine).blob);
  assert.ok(screen.includes(`The authenticity of host '[127.0.0.1]:${sshd.port} ([127.0.0.1]:${sshd.port})' can't be established.`), screen);
  assert.ok(screen.includes(`ED25519 key fingerprint is ${fp}.`), screen);
  assert.match(screen, /Permanently added/);
  assert.match(screen, /RAN/);
  assert.match(readFileSync(kh, 'utf8'), /ssh-ed25519/);
});

test('the known_hosts question: no refuses (255), nothing recorded', { skip: ptySkip, timeout: 60000 }, async () => {
  const kh = join(tempDir('nacre-kh'), 'known_hosts');
  const { screen, exitCode } = await onTerminal([...baseArgs(kh), '127.0.0.1', 'echo RAN'], 'no');
  assert.equal(exitCode, 255, screen);
  assert.match(screen, /Host key verification failed\./);
  assert.doesNotMatch(screen, /RAN/);
  assert.equal(existsSync(kh), false);
});

test('the known_hosts question answered with the fingerprint accepts the key', { skip: ptySkip, timeout: 60000 }, async () => {
  const kh = join(tempDir('nacre-kh'), 'known_hosts');
  const fp = fingerprintSha256(parseOpenSshPublicKeyLine(hostLine).blob);
  const { screen, exitCode } = await onTerminal([...baseArgs(kh), '127.0.0.1', 'echo RAN'], fp);
  assert.equal(exitCode, 0, screen);
  assert.match(screen, /RAN/);
  assert.match(readFileSync(kh, 'utf8'), /ssh-ed25519/);
});

test('-v prints the trace: versions, algorithms, host key, methods, channels', { skip, timeout: 60000 }, async () => {
  const r = await runNacre(['-v', ...baseArgs(knownHostsWithServer()), '127.0.0.1', 'true']);
  assert.equal(r.code, 0, r.stderr);
  for (const re of [
    /^debug1: Connecting to 127\.0\.0\.1 port \d+\.$/m,
    /^debug1: Local version string SSH-2\.0-Nacre_/m,
    /^debug1: Remote protocol version 2\.0, remote software version OpenSSH_/m,
    /^debug1: kex: algorithm: mlkem768x25519-sha256$/m,
    /^debug1: Server host key: ssh-ed25519 SHA256:/m,
    /^debug1: Host '\[127\.0\.0\.1\]:\d+' is known and matches the ED25519 host key\.$/m,
    /^debug1: Authentications that can continue: publickey,password,keyboard-interactive$/m,
    /^debug1: Next authentication method: publickey$/m,
    /^debug1: Offering public key: ssh-ed25519 SHA256:\S+$/m,
    /^debug1: Server accepts key: ssh-ed25519 SHA256:/m,
    /^debug1: Authentication succeeded \(publickey\)\.$/m,
    /^debug1: channel 0: new session$/m,
    /^Authenticated to 127\.0\.0\.1 \(\[127\.0\.0\.1\]:\d+\) using "publickey"\.$/m,
  ]) {
    assert.match(r.stderr, re);
  }
  const quiet = await runNacre([...baseArgs(knownHostsWithServer()), '127.0.0.1', 'true']);
  assert.equal(quiet.stderr, '');
  // -E: the diagnostics go to the file, the remote stderr stays on stderr
  const log = join(tempDir('nacre-log'), 'log');
  const e = await runNacre(['-v', '-E', log, ...baseArgs(knownHostsWithServer()), '127.0.0.1', 'echo err >&2']);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.stderr, 'err\n');
  assert.match(readFileSync(log, 'utf8'), /^debug1: Authentication succeeded \(publickey\)\.$/m);
});

test('WarnWeakCrypto: a key exchange without post-quantum protection is warned about, unless turned off', { skip, timeout: 60000 }, async () => {
  const r = await runNacre([...baseArgs(knownHostsWithServer()), '-o', 'KexAlgorithms=curve25519-sha256', '127.0.0.1', 'true']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^\*\* WARNING: connection is not using a post-quantum key exchange algorithm\.$/m);
  const off = await runNacre([...baseArgs(knownHostsWithServer()), '-o', 'KexAlgorithms=curve25519-sha256', '-o', 'WarnWeakCrypto=no', '127.0.0.1', 'true']);
  assert.equal(off.stderr, '');
});

test('-G prints what ssh -G prints for the same -F file and flags (the keywords both know)', { skip, timeout: 60000 }, async () => {
  const dir = tempDir('nacre-g');
  const conf = join(dir, 'config');
  writeFileSync(
    conf,
    ['Host prod', '  HostName 10.1.2.3', '  User deploy', '  Port 2200', '  IdentityFile ~/.ssh/prod_key', '  LocalForward 8080 localhost:80', 'Host *', '  ServerAliveInterval 30', '  Compression yes', ''].join('\n'),
  );
  const flags = ['-G', '-F', conf, '-p', '2222', '-l', 'bob', '-L', '9000:db:5432', '-o', 'ForwardAgent=yes', '-A', 'prod'];
  // ssh takes ~ from the password database, not $HOME: -G reads no file under it, so give nacre the same.
  const ours = await runNacre(flags, { env: { HOME: userInfo().homedir } });
  assert.equal(ours.code, 0, ours.stderr);
  const theirs = spawnSync(o!.ssh, flags, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: home } });
  assert.equal(theirs.status, 0, theirs.stderr);
  const sshLines = new Set(theirs.stdout.split('\n'));
  // Algorithm lists are the library's (it implements fewer), and WarnWeakCrypto is newer than OpenSSH 10.0.
  const differ = /^(ciphers|macs|kexalgorithms|hostkeyalgorithms|pubkeyacceptedalgorithms|casignaturealgorithms|hostbasedacceptedalgorithms|warnweakcrypto) /;
  const lines = ours.stdout.split('\n').filter((l) => l !== '' && !differ.test(l));
  assert.ok(lines.length > 20, ours.stdout);
  for (const line of lines) assert.ok(sshLines.has(line), `nacre -G printed "${line}", which ssh -G does not`);
  for (const must of ['hostname 10.1.2.3', 'user bob', 'port 2222', 'localforward 9000 [db]:5432', 'localforward 8080 [localhost]:80', 'compression yes', 'forwardagent yes', 'serveraliveinterval 30']) {
    assert.ok(lines.includes(must), `${must} missing from:\n${ours.stdout}`);
  }
});

test('a bad -L spec and a broken config file: ssh\'s messages, 255', { skip, timeout: 60000 }, async () => {
  const bad = await runNacre(['-F', 'none', '-L', '8080:nowhere', '127.0.0.1']);
  assert.equal(bad.code, 255);
  assert.equal(bad.stderr, "Bad local forwarding specification '8080:nowhere'\n");
  const conf = join(tempDir('nacre-badconf'), 'config');
  writeFileSync(conf, 'Host x\n  Port 99999\n');
  const broken = await runNacre(['-F', conf, 'x', 'true']);
  assert.equal(broken.code, 255);
  assert.match(broken.stderr, new RegExp(`${conf.replace(/[.]/g, '\\.')} line 2: `));
});

/** A TCP server on loopback that answers each line with "echo:" and the line. */
async function echoServer(): Promise<{ port: number; close(): void }> {
  const server = createServer((s) => s.on('data', (d) => s.write(`echo:${d.toString()}`)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

test('-W relays stdin and stdout to host:port through the server', { skip, timeout: 60000 }, async () => {
  const echo = await echoServer();
  try {
    const r = await runNacre([...baseArgs(knownHostsWithServer()), '-W', `127.0.0.1:${echo.port}`, '127.0.0.1'], { input: 'ping\n' });
    assert.equal(r.stdout, 'echo:ping\n', r.stderr);
  } finally {
    echo.close();
  }
});

test('-N -L: the main flow starts the forwardings and serves them until killed', { skip, timeout: 60000 }, async () => {
  const echo = await echoServer();
  const local = await freePort();
  const child = spawn(process.execPath, [NACRE, ...baseArgs(knownHostsWithServer()), '-N', '-L', `${local}:127.0.0.1:${echo.port}`, '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: home } });
  try {
    let answer = '';
    for (let i = 0; i < 100 && answer === ''; i++) {
      answer = await new Promise<string>((resolve) => {
        const s = connect(local, '127.0.0.1');
        s.once('connect', () => s.write('hi\n'));
        s.once('data', (d) => {
          s.destroy();
          resolve(d.toString());
        });
        s.once('error', () => setTimeout(() => resolve(''), 100));
      });
    }
    assert.equal(answer, 'echo:hi\n');
  } finally {
    child.kill('SIGTERM');
    echo.close();
  }
});

test('-f: nacre returns once logged in; the command goes on in the background', { skip, timeout: 60000 }, async () => {
  const marker = join(tempDir('nacre-f'), 'done');
  const started = Date.now();
  const r = await runNacre([...baseArgs(knownHostsWithServer()), '-f', '127.0.0.1', `sleep 2; echo done > ${marker}`], { untilExit: true });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(marker), false, 'the foreground waited for the command');
  for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((res) => setTimeout(res, 100));
  assert.equal(readFileSync(marker, 'utf8'), 'done\n');
  assert.ok(Date.now() - started < 30000);
  const none = await runNacre([...baseArgs(knownHostsWithServer()), '-f', '127.0.0.1']);
  assert.equal(none.code, 255);
  assert.equal(none.stderr, 'Cannot fork into background without a command to execute.\n');
});

test('ControlMaster auto with ControlPersist: a second nacre reuses the connection; -O check and exit', { skip, timeout: 60000 }, async () => {
  const sock = join(tempDir('nacre-mux'), 'ctl');
  const logins = () => (sshd.log().match(/Accepted publickey/g) ?? []).length;
  const before = logins();
  const share = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${sock}`, '-o', 'ControlPersist=30'];
  const first = await runNacre([...baseArgs(knownHostsWithServer()), ...share, '127.0.0.1', 'echo one']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, 'one\n');
  const second = await runNacre([...baseArgs(knownHostsWithServer()), ...share, '127.0.0.1', 'echo two; exit 3']);
  assert.equal(second.code, 3, second.stderr);
  assert.equal(second.stdout, 'two\n');
  assert.equal(logins() - before, 1, 'one login for both commands');
  const check = await runNacre(['-F', 'none', '-S', sock, '-O', 'check', '127.0.0.1']);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stderr, /^Master running \(pid=\d+\)/);
  const exit = await runNacre(['-F', 'none', '-S', sock, '-O', 'exit', '127.0.0.1']);
  assert.equal(exit.code, 0, exit.stderr);
  for (let i = 0; i < 50 && existsSync(sock); i++) await new Promise((res) => setTimeout(res, 100));
  const gone = await runNacre(['-F', 'none', '-S', sock, '-O', 'check', '127.0.0.1']);
  assert.equal(gone.code, 255);
});

test('SendEnv and SetEnv reach the command; RemoteCommand runs when no command is given', { skip, timeout: 60000 }, async () => {
  const r = await runNacre([...baseArgs(knownHostsWithServer()), '-o', 'SendEnv=NACRE_SENT', '-o', 'SetEnv=NACRE_SET=fixed', '127.0.0.1', 'echo "$NACRE_SENT/$NACRE_SET/$NACRE_OTHER"'], {
    env: { NACRE_SENT: 'from-here', NACRE_OTHER: 'not-sent' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'from-here/fixed/\n');
  const rc = await runNacre([...baseArgs(knownHostsWithServer()), '-o', 'RemoteCommand=echo remote-command', '127.0.0.1']);
  assert.equal(rc.code, 0, rc.stderr);
  assert.equal(rc.stdout, 'remote-command\n');
});

test('-s runs a subsystem (sftp answers its version), and a refused one is 255', { skip, timeout: 60000 }, async () => {
  // SSH_FXP_INIT version 3: uint32 length 5, type 1, uint32 3; the server answers SSH_FXP_VERSION (type 2).
  const init = Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]);
  const child = spawn(process.execPath, [NACRE, ...baseArgs(knownHostsWithServer()), '-s', '127.0.0.1', 'sftp'], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: home } });
  const reply = await new Promise<Buffer>((resolve) => {
    let got = Buffer.alloc(0);
    child.stdout.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 9) resolve(got);
    });
    child.stdin.write(init);
  });
  assert.equal(reply[4], 2, 'SSH_FXP_VERSION');
  child.stdin.end();
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0);
  const refused = await runNacre([...baseArgs(knownHostsWithServer()), '-s', '127.0.0.1', 'no-such-subsystem']);
  assert.equal(refused.code, 255);
  assert.match(refused.stderr, /subsystem no-such-subsystem/);
});

test('-J and ProxyCommand (nacre -W as the proxy) reach the target through sshd', { skip, timeout: 60000 }, async () => {
  const kh = knownHostsWithServer();
  // The hop by another name: a hop that is the destination itself is ssh's "jumphost loop".
  writeFileSync(kh, `[localhost]:${sshd.port} ${hostLine}\n`, { flag: 'a' });
  const jump = await runNacre([...baseArgs(kh), '-J', `root@localhost:${sshd.port}`, '127.0.0.1', 'echo via-jump']);
  assert.equal(jump.code, 0, jump.stderr);
  assert.equal(jump.stdout, 'via-jump\n');
  const proxy = `${process.execPath} ${NACRE} ${baseArgs(kh).join(' ')} -W %h:%p 127.0.0.1`;
  const viaProxy = await runNacre([...baseArgs(kh), '-o', `ProxyCommand=${proxy}`, '127.0.0.1', 'echo via-proxy']);
  assert.equal(viaProxy.code, 0, viaProxy.stderr);
  assert.equal(viaProxy.stdout, 'via-proxy\n');
});
