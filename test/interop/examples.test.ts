// The runnable examples in examples/, and the code blocks of README.md and
// docs/API.md, executed as a user would run them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { join, resolve, dirname } from 'node:path';
import { userInfo } from 'node:os';
import { findOpenSsh, startSshd, keygen, tempDir, freePort, type Sshd } from './openssh.js';
import { connect } from '../../src/client/client.js';
import { signerFromKeyObject } from '../../src/keys/index.js';
import { startServer } from '../../src/cli/start.js';
import { docBlocks } from './doc-blocks.js';

const openssh = findOpenSsh();
const skip = openssh ? false : 'OpenSSH not installed (run scripts/install-test-peers.sh)';
const examples = resolve(dirname(new URL(import.meta.url).pathname), '../../examples');
const root = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const user = userInfo().username;

let sshd: Sshd | undefined;
let keyPath = '';
let knownHosts = '';
let echo: Server | undefined;

before(async () => {
  if (!openssh) return;
  sshd = await startSshd(openssh, ['PermitRootLogin yes', 'AllowTcpForwarding yes']);
  const dir = tempDir('examples');
  const k = keygen(openssh, dir, 'ed25519', 'id_ed25519');
  keyPath = k.privatePath;
  appendFileSync(join(sshd.dir, 'authorized_keys'), k.publicLine + '\n');
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, Object.values(sshd.hostKeys).map((l) => `[127.0.0.1]:${sshd!.port} ${l.split(' ').slice(0, 2).join(' ')}`).join('\n') + '\n');
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo!.listen(0, '127.0.0.1', r));
});

after(async () => {
  await sshd?.stop();
  echo?.close();
});

function run(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [join(examples, script), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function waitFor(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolveLine, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) resolveLine(m);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ${pattern}: ${out}`)));
  });
}

test('examples/exec.js runs a command, checking known_hosts', { skip, timeout: 30000 }, async () => {
  const child = run('exec.js', [`${user}@127.0.0.1:${sshd!.port}`, 'echo example-ok; exit 4', keyPath], { NACRE_KNOWN_HOSTS: knownHosts });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(out, 'example-ok\n');
  assert.equal(code, 4);
  // Without a known_hosts entry the host key is refused.
  const refused = run('exec.js', [`${user}@127.0.0.1:${sshd!.port}`, 'true', keyPath], { NACRE_KNOWN_HOSTS: join(tempDir('empty'), 'known_hosts') });
  let err = '';
  refused.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  assert.notEqual(await new Promise((r) => refused.once('exit', r)), 0);
  assert.match(err, /HostKeyRejectedError|not trusted/);
});

test('examples/tunnel.js forwards a local port', { skip, timeout: 30000 }, async () => {
  const echoPort = (echo!.address() as { port: number }).port;
  const child = run('tunnel.js', [`${user}@127.0.0.1:${sshd!.port}`, '0', '127.0.0.1', String(echoPort), keyPath], { NACRE_KNOWN_HOSTS: knownHosts });
  try {
    const m = await waitFor(child, /listening on 127\.0\.0\.1:(\d+)/);
    const s = netConnect(Number(m[1]), '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.end('through the example tunnel');
    await new Promise((r) => s.once('close', r));
    assert.equal(Buffer.concat(got).toString(), 'through the example tunnel');
  } finally {
    child.kill('SIGTERM');
  }
});

test('examples/server.js serves a Nacre client', { skip: false, timeout: 30000 }, async () => {
  const port = await freePort();
  const child = run('server.js', [], { PORT: String(port) });
  try {
    const m = await waitFor(child, /host key (SHA256:\S+)/);
    const conn = await connect({
      host: '127.0.0.1',
      port,
      username: 'demo',
      password: 'demo',
      verifyHostKey: (info) => info.fingerprint === m[1],
    });
    const r = await conn.exec('hello');
    assert.equal(r.stdout, 'you ran: hello\n');
    assert.equal(r.code, 0);
    await conn.close();
  } finally {
    child.kill('SIGINT');
  }
});

// Doc blocks: ```js runs as a .mjs file as it is written, against a server
// started as `npm start` starts it, in a home directory made for the test
// (HOME is all that differs from a user's run); ```js server keeps serving
// and is logged into; ```ts must say `fragment`. The files are written inside
// the package, so `import ... from 'nacre'` resolves to it as it would for a user.
const DOCS = ['README.md', 'docs/API.md'];

test('doc code blocks: every block is runnable js or a marked fragment', () => {
  let runnable = 0;
  for (const doc of DOCS) {
    for (const b of docBlocks(readFileSync(join(root, doc), 'utf8'))) {
      if (b.lang === 'ts') assert.ok(b.flags.includes('fragment'), `${doc}:${b.line}: a ts block must be a js example or marked "ts fragment"`);
      assert.ok(!['javascript', 'mjs', 'typescript'].includes(b.lang), `${doc}:${b.line}: use js or ts fragment`);
      if (b.lang === 'js') {
        runnable++;
        assert.doesNotMatch(b.code, /\bawait using\b/, `${doc}:${b.line}: Node 20 rejects await using in plain JavaScript`);
      }
    }
  }
  assert.ok(runnable >= 3, `only ${runnable} runnable blocks found`);
});

test('doc code blocks run on this Node as plain .mjs', { timeout: 60000 }, async () => {
  const home = tempDir('doc-home');
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const key = generateKeyPairSync('ed25519').privateKey;
  writeFileSync(join(home, '.ssh', 'id_ed25519'), key.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const signer = signerFromKeyObject(key);
  writeFileSync(join(home, '.ssh', 'authorized_keys'), `${signer.keyType} ${Buffer.from(signer.publicBlob).toString('base64')} doc\n`, { mode: 0o600 });
  const started = await startServer({ port: 0, home, stateDir: join(home, '.local', 'state', 'nacre'), log: () => undefined });
  const dir = join(root, 'dist', 'doc-examples');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env: Record<string, string | undefined> = { ...process.env, HOME: home, USER: user, NACRE_PORT: String(started.address.port), XDG_STATE_HOME: undefined };
  try {
    for (const doc of DOCS) {
      for (const b of docBlocks(readFileSync(join(root, doc), 'utf8'))) {
        if (b.lang !== 'js') continue;
        const file = join(dir, `${doc.replace(/\W/g, '_')}-${b.line}.mjs`);
        writeFileSync(file, b.code);
        const where = `${doc}:${b.line}`;
        if (b.flags.includes('server')) await runServerBlock(file, env, where);
        else await runClientBlock(file, env, where);
      }
    }
  } finally {
    await started.close();
    rmSync(home, { recursive: true, force: true });
  }
});

async function runClientBlock(file: string, env: Record<string, string | undefined>, where: string): Promise<void> {
  const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0, `${where} failed:\n${out}`);
  assert.match(out, /Linux|Darwin|BSD/, `${where} printed no uname output:\n${out}`);
}

async function runServerBlock(file: string, env: Record<string, string | undefined>, where: string): Promise<void> {
  const child = spawn(process.execPath, [file], { env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const m = await waitFor(child, /listening on port (\d+)/);
    const conn = await connect({ host: '127.0.0.1', port: Number(m[1]), username: 'demo', password: 'demo', verifyHostKey: () => true, keepalive: false });
    try {
      const r = await conn.exec('echo served-by-doc-example');
      assert.equal(r.stdout, 'served-by-doc-example\n', where);
    } finally {
      await conn.close();
    }
  } finally {
    child.kill('SIGTERM');
  }
}
