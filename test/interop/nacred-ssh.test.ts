// OpenSSH's ssh against the real nacred process: exec and exit codes,
// -L, -R with port 0, -D through curl, -W, PermitOpen refusing, a Match
// block, authorized_keys options refusing what they forbid, and the log
// lines sshd would write.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOpenSsh, freePort, keygen, tempDir, waitForPort } from './openssh.js';
import { findTmux, TmuxPane } from './nacre-tmux.js';
import { nacredFixture, repoRoot, startNacred, user, type NacredFixture, type RunningNacred } from './nacred-helpers.js';

const nacreJs = join(repoRoot, 'dist/src/cli/nacre.js');

const o = findOpenSsh();
const skip = o ? false : 'OpenSSH not installed';
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const tmux = findTmux();

let f: NacredFixture;
let d: RunningNacred;
/** A TCP echo-ish service the forwardings reach: answers "hello from PORT" and closes. */
let target: Server;
let targetPort: number;

before(async () => {
  if (!o) return;
  f = nacredFixture(o);
  target = createServer((s) => s.end(`hello from ${targetPort}\n`));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
  targetPort = (target.address() as { port: number }).port;
  d = await startNacred(o, f, [
    `PermitOpen 127.0.0.1:${targetPort} localhost:${targetPort}`,
    // From 127.0.0.2 every command is replaced, and no forwarding is allowed.
    'Match Address 127.0.0.2',
    '  ForceCommand echo forced for $SSH_ORIGINAL_COMMAND',
    '  DisableForwarding yes',
    'Match Address 127.0.0.3',
    '  RefuseConnection yes',
  ]);
});

after(async () => {
  if (!o) return;
  await d?.stop();
  target?.close();
  f?.cleanup();
});

test('nacred: exec returns output and exit codes; the login is logged as sshd logs it', { skip }, async () => {
  const r = await d.ssh([], ['echo out; echo err >&2; exit 7']);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, 'out\n');
  assert.match(r.stderr, /err\n/);
  const input = await d.ssh([], ['cat'], 'piped input');
  assert.equal(input.stdout, 'piped input');
  await d.waitForLog(new RegExp(`Accepted publickey for ${user} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519 SHA256:`));
  await d.waitForLog(new RegExp(`Disconnected from user ${user} 127\\.0\\.0\\.1 port \\d+`));
});

test('nacred: ssh -tt gets a real terminal', { skip }, async () => {
  const r = await d.ssh(['-tt'], ['tty; echo "TERM=$TERM"']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r?\n/);
  assert.match(r.stdout, /TERM=\S+/);
});

test('nacred: -W carries standard input and output to a permitted target', { skip }, async () => {
  const r = await d.ssh(['-W', `127.0.0.1:${targetPort}`], [], '');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `hello from ${targetPort}\n`);
});

test('nacred: an interactive shell in tmux: typing, a resize seen by stty, exit status', { skip: skip || (!tmux && 'tmux not installed') }, async () => {
  const pane = new TmuxPane(tmux!, tempDir('nacred-tmux'), 90, 25);
  try {
    await pane.waitFor(/^pane\$$/m, 10_000, 'the local prompt');
    pane.line(`${o!.ssh} -F none -tt -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=${f.knownHosts} -i ${f.userKey} -p ${d.port} ${user}@127.0.0.1 sh; echo "status=$?"`);
    pane.line('echo NACRED_$((6*7)); stty size');
    // sh's prompt may come first on the line: the command was typed ahead.
    await pane.waitFor(/(^|# |\$ )NACRED_42\s*$/m);
    await pane.waitFor(/(^|# |\$ )25 90\s*$/m);
    pane.resize(100, 30);
    pane.line('stty size');
    await pane.waitFor(/(^|# |\$ )30 100\s*$/m);
    pane.line('exit 4');
    await pane.waitFor(/^status=4\s*$/m);
  } finally {
    pane.kill();
  }
});

test('nacred: -L to a permitted target works; PermitOpen refuses another, with a log line', { skip }, async () => {
  const local = await freePort();
  const child = spawn(o!.ssh, ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-i', f.userKey, '-p', String(d.port), '-L', `${local}:127.0.0.1:${targetPort}`, `${user}@127.0.0.1`], { stdio: 'ignore' });
  try {
    await waitForPort(local, 10_000);
    const got = await readFrom(local);
    assert.equal(got, `hello from ${targetPort}\n`);
  } finally {
    child.kill();
  }
  // -W opens the same kind of channel: refused for a target PermitOpen does not list.
  const other = await freePort();
  const refused = await d.ssh(['-W', `127.0.0.1:${other}`]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /administratively prohibited/);
  await d.waitForLog(new RegExp(`Received request from 127\\.0\\.0\\.1 port \\d+ to connect to host 127\\.0\\.0\\.1 port ${other}, but the request was denied\\.`));
  // -W to the permitted one carries the bytes.
  const w = await d.ssh(['-W', `127.0.0.1:${targetPort}`]);
  assert.equal(w.stdout, `hello from ${targetPort}\n`);
});

/** Runs ssh -N -R `spec`; resolves with the port the server allocated and the child to kill. */
async function remoteForward(spec: string): Promise<{ port: number; child: ReturnType<typeof spawn> }> {
  const child = spawn(o!.ssh, ['-F', 'none', '-N', '-v', '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-i', f.userKey, '-p', String(d.port), '-R', spec, `${user}@127.0.0.1`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no allocated port:\n${err}`)), 10_000);
      const check = () => {
        const m = /Allocated port (\d+) for remote forward/.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        } else setTimeout(check, 20);
      };
      check();
    });
    return { port, child };
  } catch (e) {
    child.kill();
    throw e;
  }
}

test('nacred: -R with port 0 gets a port from the server and carries connections back', { skip }, async () => {
  const { port, child } = await remoteForward(`0:127.0.0.1:${targetPort}`);
  try {
    assert.equal(await readFrom(port), `hello from ${targetPort}\n`);
  } finally {
    child.kill();
  }
});

test('nacred: GatewayPorts no listens on loopback even when the client asks for every interface', { skip }, async () => {
  const { port, child } = await remoteForward(`0.0.0.0:0:127.0.0.1:${targetPort}`);
  try {
    assert.equal(await readFrom(port), `hello from ${targetPort}\n`);
    // Bound to 127.0.0.1 only: another loopback address is not listening.
    await assert.rejects(readFrom(port, '127.0.0.2'));
  } finally {
    child.kill();
  }
});

test('nacred: -R to a Unix socket on the server side carries connections back', { skip }, async () => {
  const sock = `${f.dir}/remote.sock`;
  const child = spawn(o!.ssh, ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-i', f.userKey, '-p', String(d.port), '-R', `${sock}:127.0.0.1:${targetPort}`, `${user}@127.0.0.1`], { stdio: 'ignore' });
  try {
    const until = Date.now() + 10_000;
    while (!existsSync(sock) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    // The file appears at bind(), a moment before listen(): a connection in
    // between is refused, so try again briefly.
    let got: string | null = null;
    while (got === null) {
      try {
        got = await readFrom(sock);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.equal(got, `hello from ${targetPort}\n`);
  } finally {
    child.kill();
  }
});

test("nacre, Nacre's own client, against nacred", { skip }, async () => {
  const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const c = spawn(process.execPath, [nacreJs, '-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-i', f.userKey, '-p', String(d.port), `${user}@127.0.0.1`, 'echo from nacre; exit 5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('close', (code) => resolve({ code, out, err }));
  });
  assert.equal(r.code, 5, r.err);
  assert.equal(r.out, 'from nacre\n');
});

test('nacred: -D is a SOCKS proxy curl can use', { skip: skip || (!hasCurl && 'curl not installed') }, async () => {
  const http = createServer((s) => s.end('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nproxy'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const httpPort = (http.address() as { port: number }).port;
  // PermitOpen restricts -D's targets as well.
  const socks = await freePort();
  const local = spawn(o!.ssh, ['-F', 'none', '-N', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-i', f.userKey, '-p', String(d.port), '-D', `127.0.0.1:${socks}`, `${user}@127.0.0.1`], { stdio: 'ignore' });
  try {
    await waitForPort(socks, 10_000);
    // A target PermitOpen lists goes through ...
    // Not spawnSync: the web servers live in this process and must keep answering.
    const ok = await curl(['-s', '--http0.9', '--max-time', '10', '--socks5', `127.0.0.1:${socks}`, `http://127.0.0.1:${targetPort}/`]);
    assert.equal(ok.stdout, `hello from ${targetPort}\n`);
    // ... one it does not is refused.
    const no = await curl(['-s', '--max-time', '10', '--socks5', `127.0.0.1:${socks}`, `http://127.0.0.1:${httpPort}/`]);
    assert.notEqual(no.status, 0);
  } finally {
    local.kill();
    http.close();
  }
});

test('nacred: a Match Address block forces a command and disables forwarding for that address only', { skip }, async () => {
  const r = await d.ssh(['-b', '127.0.0.2'], ['echo', 'asked']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'forced for echo asked\n');
  const w = await d.ssh(['-b', '127.0.0.2', '-W', `127.0.0.1:${targetPort}`]);
  assert.notEqual(w.code, 0);
  assert.match(w.stderr, /administratively prohibited/);
  const plain = await d.ssh([], ['echo', 'asked']);
  assert.equal(plain.stdout, 'asked\n');
});

test('nacred: RefuseConnection in a Match Address block turns that address away at once', { skip }, async () => {
  const mark = d.log().length;
  const r = await d.ssh(['-b', '127.0.0.3'], ['true']);
  assert.equal(r.code, 255);
  await d.waitForLog(/Connection from 127\.0\.0\.3 port \d+ refused by RefuseConnection/, mark);
  assert.equal((await d.ssh([], ['echo', 'ok'])).stdout, 'ok\n');
});

test('nacred: authorized_keys options refuse what they forbid (no-port-forwarding, no-pty, command=)', { skip }, async () => {
  const k = keygen(o!, f.dir, 'ed25519', 'restricted_key');
  writeFileSync(f.authorizedKeys, `${f.userKeyLine}\nno-port-forwarding,no-pty ${k.publicLine}\n`, { mode: 0o600 });
  try {
    const w = await d.ssh(['-W', `127.0.0.1:${targetPort}`], [], undefined, k.privatePath);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /administratively prohibited/);
    const t = await d.ssh(['-tt'], ['echo', 'x'], undefined, k.privatePath);
    assert.match(t.stderr, /PTY allocation request failed/);
    writeFileSync(f.authorizedKeys, `${f.userKeyLine}\ncommand="echo only this" ${k.publicLine}\n`, { mode: 0o600 });
    const c = await d.ssh([], ['echo', 'something else'], undefined, k.privatePath);
    assert.equal(c.stdout, 'only this\n');
  } finally {
    writeFileSync(f.authorizedKeys, f.userKeyLine + '\n', { mode: 0o600 });
  }
});

test('nacred: an unknown user is refused and logged as sshd logs it', { skip }, async () => {
  const from = d.log().length;
  const r = await new Promise<number | null>((resolve) => {
    const c = spawn(o!.ssh, ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${f.knownHosts}`, '-i', f.userKey, '-p', String(d.port), 'nacred-no-such-user@127.0.0.1', 'true'], { stdio: 'ignore' });
    c.on('exit', resolve);
  });
  assert.equal(r, 255);
  await d.waitForLog(/Invalid user nacred-no-such-user from 127\.0\.0\.1 port \d+/, from);
  await d.waitForLog(/Connection closed by invalid user nacred-no-such-user 127\.0\.0\.1 port \d+ \[preauth\]/, from);
});

function curl(args: string[]): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const c = spawn('curl', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.on('close', (status) => resolve({ status, stdout }));
  });
}

function readFrom(where: number | string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ connect }) => {
      const s = typeof where === 'number' ? connect(where, host) : connect(where);
      let got = '';
      s.on('data', (b) => (got += b.toString()));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    }, reject);
  });
}
