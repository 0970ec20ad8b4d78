// Nacre's agent client against OpenSSH's ssh-agent and ssh-add, logging in
// to OpenSSH's sshd with agent keys, and agent forwarding seen from the far
// side (`ssh-add -l` run by sshd's session through the forwarded agent).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyFileSync } from 'node:fs';
import { findOpenSsh, keygen, startSshd, tempDir, type Sshd } from './openssh.js';
import { connect } from '../../src/client/client.js';
import { AgentClient } from '../../src/client/agent-client.js';
import { AuthenticationError } from '../../src/errors.js';
import { loadPrivateKey } from '../../src/keys/openssh.js';
import { fingerprintSha256, parseOpenSshPublicKeyLine } from '../../src/keys/index.js';
import { decodeAddIdentity, MSG_AGENT } from '../../src/agent/index.js';
import { createServer } from 'node:net';

const openssh = findOpenSsh();
const sshAgentBin = spawnSync('sh', ['-c', 'command -v ssh-agent'], { encoding: 'utf8' }).stdout.trim();
const skip = openssh && sshAgentBin ? false : 'OpenSSH (with ssh-agent) not installed (run scripts/install-test-peers.sh)';
const user = userInfo().username;
const KEYGEN = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'dist', 'src', 'cli', 'nacre-keygen.js');

let sshd: Sshd | undefined;
let dir = '';
const paths: Record<string, string> = {};

interface Agent {
  readonly socket: string;
  /** What ssh-agent -d printed so far. */
  log(): string;
  stop(): Promise<void>;
}

/** A private ssh-agent in debug mode (foreground, logging to stderr) on its own socket. */
async function startAgent(): Promise<Agent> {
  const socket = join(tempDir('agent-sock'), 'agent.sock');
  const child: ChildProcess = spawn(sshAgentBin, ['-d', '-a', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(existsSync(socket), `ssh-agent did not start: ${log}`);
  return {
    socket,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(join(socket, '..'), { recursive: true, force: true });
    },
  };
}

/** Waits (a bounded while) for ssh-agent's debug log to show `re`: its stderr is read as the event loop turns. */
async function logged(agent: Agent, re: RegExp): Promise<void> {
  for (let i = 0; i < 100 && !re.test(agent.log()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(agent.log(), re);
}

function sshAdd(agent: Agent, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ssh-add', args, { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: agent.socket, SSH_ASKPASS: '', DISPLAY: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function fingerprintOf(path: string): string {
  return spawnSync(openssh!.keygen, ['-lf', path], { encoding: 'utf8' }).stdout.split(' ')[1]!;
}

before(async () => {
  if (skip) return;
  dir = tempDir('agent-interop');
  for (const [name, type, bits] of [['ed25519', 'ed25519', undefined], ['rsa', 'rsa', 2048], ['ecdsa', 'ecdsa', 256], ['certified', 'ed25519', undefined], ['ca', 'ed25519', undefined], ['stranger', 'ed25519', undefined]] as const) {
    paths[name] = keygen(openssh!, dir, type, name, bits).privatePath;
  }
  const sign = spawnSync(openssh!.keygen, ['-q', '-s', paths.ca!, '-I', 'agent-test', '-n', user, '-V', '-5m:+1h', paths.certified + '.pub'], { encoding: 'utf8' });
  assert.equal(sign.status, 0, sign.stderr);
  const authorized = ['ed25519', 'rsa', 'ecdsa'].map((n) => readFileSync(paths[n] + '.pub', 'utf8')).join('');
  const trusted = join(dir, 'trusted_ca');
  writeFileSync(trusted, readFileSync(paths.ca + '.pub', 'utf8'));
  sshd = await startSshd(openssh!, [`TrustedUserCAKeys ${trusted}`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'AllowAgentForwarding yes'], {
    hostKeyTypes: ['ed25519'],
    authorizedKeys: authorized,
  });
});

after(async () => {
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function options(extra: Parameters<typeof connect>[0]): Parameters<typeof connect>[0] {
  return { host: '127.0.0.1', port: sshd!.port, username: user, knownHosts: false, verifyHostKey: () => true, ...extra };
}

test('the keys ssh-add added are listed, with their comments and fingerprints', { skip }, async () => {
  const agent = await startAgent();
  try {
    assert.equal(sshAdd(agent, [paths.ed25519!, paths.rsa!, paths.ecdsa!]).code, 0);
    await using client = await AgentClient.connect(agent.socket);
    const keys = await client.list();
    assert.deepEqual(
      keys.map((k) => [k.keyType, k.comment, k.fingerprint]),
      [
        ['ssh-ed25519', 'ed25519', fingerprintOf(paths.ed25519!)],
        ['ssh-rsa', 'rsa', fingerprintOf(paths.rsa!)],
        ['ecdsa-sha2-nistp256', 'ecdsa', fingerprintOf(paths.ecdsa!)],
      ],
    );
  } finally {
    await agent.stop();
  }
});

test('logs in to sshd with an ed25519 key held by the agent, bound to the session first', { skip }, async () => {
  const agent = await startAgent();
  try {
    sshAdd(agent, [paths.ed25519!]);
    const c = await connect(options({ agent: agent.socket }));
    assert.equal((await c.exec('echo agent-ok')).stdout, 'agent-ok\n');
    await c.close();
    await logged(agent, /process_ext_session_bind: recorded ED25519/);
    assert.match(sshd!.log(), new RegExp(`Accepted publickey for ${user} .* ED25519 ${fingerprintOf(paths.ed25519!).replace(/[+/]/g, '.')}`));
  } finally {
    await agent.stop();
  }
});

test('an RSA key in the agent signs with rsa-sha2-512', { skip }, async () => {
  const agent = await startAgent();
  try {
    sshAdd(agent, [paths.rsa!]);
    const c = await connect(options({ agent: agent.socket }));
    await c.close();
    assert.match(sshd!.log(), /Accepted publickey for .* RSA SHA256/);
    assert.match(sshd!.log(), /rsa-sha2-512/);
  } finally {
    await agent.stop();
  }
});

test('a certificate held by the agent is offered and accepted through TrustedUserCAKeys', { skip }, async () => {
  const agent = await startAgent();
  try {
    // ssh-add adds the key and, found next to it, its -cert.pub
    const added = sshAdd(agent, [paths.certified!]);
    assert.match(added.stderr, /Certificate added/);
    await using client = await AgentClient.connect(agent.socket);
    assert.deepEqual((await client.list()).map((k) => k.keyType).sort(), ['ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com']);
    const c = await connect(options({ agent: agent.socket }));
    await c.close();
    assert.match(sshd!.log(), /Accepted publickey for .* ED25519-CERT/);
  } finally {
    await agent.stop();
  }
});

test('identitiesOnly offers only the agent keys given as files; the agent signs for them', { skip }, async () => {
  const agent = await startAgent();
  try {
    sshAdd(agent, [paths.ed25519!]);
    // The only agent key is authorized, but the file given is not: nothing the server takes is offered.
    await assert.rejects(connect(options({ agent: agent.socket, identitiesOnly: true, privateKeyFile: paths.stranger! })), AuthenticationError);
    // Given as a key whose own signer fails: the agent signs instead.
    const key = loadPrivateKey(readFileSync(paths.ed25519!));
    const failing = { keyType: key.keyType, publicBlob: key.publicBlob, sign: () => Promise.reject(new Error('the local key must not sign')) };
    const c = await connect(options({ agent: agent.socket, identitiesOnly: true, privateKey: failing }));
    await c.close();
  } finally {
    await agent.stop();
  }
});

test('addKeysToAgent adds the file key used to the agent; ssh-add -l then lists it', { skip }, async () => {
  const agent = await startAgent();
  try {
    assert.match(sshAdd(agent, ['-l']).stdout, /no identities/);
    const c = await connect(options({ agent: agent.socket, privateKeyFile: paths.rsa!, addKeysToAgent: { lifetime: 600 } }));
    await c.close();
    const listed = sshAdd(agent, ['-l']);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, new RegExp(fingerprintOf(paths.rsa!).replace(/[+/]/g, '.')));
    await logged(agent, /\(life: 600\)/);
  } finally {
    await agent.stop();
  }
});

test('forwardAgent: ssh-add -l on the server lists the local agent\'s keys; without it there is no agent', { skip }, async () => {
  const agent = await startAgent();
  try {
    sshAdd(agent, [paths.ed25519!, paths.ecdsa!]);
    const c = await connect(options({ agent: agent.socket, forwardAgent: true }));
    const listed = await c.exec('ssh-add -l');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(fingerprintOf(paths.ed25519!).replace(/[+/]/g, '.')));
    assert.match(listed.stdout, new RegExp(fingerprintOf(paths.ecdsa!).replace(/[+/]/g, '.')));
    await c.close();
    // one binding for the login, one for the forwarded connection
    await logged(agent, /process_ext_session_bind: recorded[^]*process_ext_session_bind: recorded/);

    const plain = await connect(options({ agent: agent.socket }));
    const none = await plain.exec('ssh-add -l');
    assert.equal(none.code, 2, `ssh-add -l without forwarding: ${none.stdout}${none.stderr}`);
    await plain.close();
  } finally {
    await agent.stop();
  }
});

test('AgentClient adds, signs, removes, locks and unlocks with ssh-agent', { skip }, async () => {
  const agent = await startAgent();
  try {
    await using client = await AgentClient.connect(agent.socket);
    const key = loadPrivateKey(readFileSync(paths.rsa!));
    await client.add(key.keyObject, { comment: 'from-nacre', lifetime: 300 });
    const cert = loadPrivateKey(readFileSync(paths.certified!));
    await client.add(cert.keyObject, { comment: 'cert-from-nacre', certificate: readFileSync(paths.certified + '-cert.pub', 'utf8') });
    const listed = sshAdd(agent, ['-l']).stdout;
    assert.match(listed, /from-nacre \(RSA\)/);
    assert.match(listed, /cert-from-nacre \(ED25519-CERT\)/);
    const keys = await client.list();
    const rsa = keys.find((k) => k.keyType === 'ssh-rsa')!;
    for (const alg of ['rsa-sha2-256', 'rsa-sha2-512']) {
      const sig = await client.sign(rsa.publicBlob, new TextEncoder().encode('data'), alg);
      assert.equal(new TextDecoder().decode(sig.subarray(4, 4 + alg.length)), alg);
    }
    await client.lock('secret');
    assert.deepEqual(await client.list(), []);
    await assert.rejects(client.unlock('wrong'), /refused/);
    await client.unlock('secret');
    await client.remove(rsa.publicBlob);
    assert.equal((await client.list()).some((k) => k.fingerprint === fingerprintSha256(rsa.publicBlob)), false);
    await client.removeAll();
    assert.deepEqual(await client.list(), []);
  } finally {
    await agent.stop();
  }
});

/** nacre-keygen and ssh-keygen with the same arguments in `cwd`, talking to `socket` (or no agent). */
function bothKeygens(cwd: string, args: string[], socket: string): { ours: ReturnType<typeof spawnSync>; theirs: ReturnType<typeof spawnSync> } {
  const env = { ...process.env, SSH_AUTH_SOCK: socket };
  const ours = spawnSync(process.execPath, [KEYGEN, ...args.map((a) => a.replace('KEY', 'ours'))], { cwd, env, encoding: 'utf8' });
  const theirs = spawnSync(openssh!.keygen, args.map((a) => a.replace('KEY', 'theirs')), { cwd, env, encoding: 'utf8' });
  return { ours, theirs };
}

test('nacre-keygen -s ca.pub -U signs through the agent as ssh-keygen -U does; sshd accepts the certificate', { skip }, async () => {
  const agent = await startAgent();
  const work = tempDir('keygen-U');
  try {
    const rsaCa = keygen(openssh!, work, 'rsa', 'rsa_ca', 2048).privatePath;
    copyFileSync(paths.ca + '.pub', join(work, 'ca.pub'));
    for (const name of ['ours', 'theirs']) copyFileSync(paths.stranger + '.pub', join(work, `${name}.pub`));
    const strip = (s: string) => s.replace(/(ours|theirs)/g, 'X').replace(/\r\n/g, '\n');

    // no agent, then an agent without the CA: ssh-keygen's messages and status
    for (const socket of ['', agent.socket]) {
      const r = bothKeygens(work, ['-s', 'ca.pub', '-U', '-I', 'id', 'KEY.pub'], socket);
      assert.equal(r.ours.status, r.theirs.status);
      assert.equal(strip(String(r.ours.stderr)), strip(String(r.theirs.stderr)));
    }
    sshAdd(agent, [paths.ed25519!]);
    const missing = bothKeygens(work, ['-s', 'ca.pub', '-U', '-I', 'id', 'KEY.pub'], agent.socket);
    assert.equal(missing.ours.status, 255);
    assert.equal(strip(String(missing.ours.stderr)), strip(String(missing.theirs.stderr)));

    sshAdd(agent, [paths.ca!, rsaCa]);
    for (const ca of ['ca.pub', 'rsa_ca.pub']) {
      const r = bothKeygens(work, ['-s', ca, '-U', '-I', 'agent-signed', '-n', `${user},other`, '-V', '20250101:20400101', '-z', '7', 'KEY.pub'], agent.socket);
      assert.equal(r.ours.status, 0, String(r.ours.stderr));
      assert.equal(r.theirs.status, 0, String(r.theirs.stderr));
      assert.equal(strip(String(r.ours.stderr)), strip(String(r.theirs.stderr)));
      const show = (name: string) => strip(spawnSync(openssh!.keygen, ['-L', '-f', join(work, `${name}-cert.pub`)], { encoding: 'utf8' }).stdout);
      assert.equal(show('ours'), show('theirs'));
      if (ca === 'rsa_ca.pub') assert.match(show('ours'), /using rsa-sha2-512/);
    }
    // the CA (ed25519) is trusted by sshd: the certificate Nacre had the agent sign logs in
    spawnSync(process.execPath, [KEYGEN, '-s', 'ca.pub', '-U', '-I', 'login', '-n', user, 'ours.pub'], { cwd: work, env: { ...process.env, SSH_AUTH_SOCK: agent.socket } });
    const c = await connect(options({ privateKey: { key: readFileSync(paths.stranger!, 'utf8'), certificate: readFileSync(join(work, 'ours-cert.pub'), 'utf8') } }));
    await c.close();
  } finally {
    await agent.stop();
    rmSync(work, { recursive: true, force: true });
  }
});

test('ssh-add -h restrictions decode as the hops ssh-add meant (ADD_ID_CONSTRAINED from OpenSSH as the oracle)', { skip }, async () => {
  const work = tempDir('ssh-add-h');
  const socket = join(work, 'fake.sock');
  const requests: Uint8Array[] = [];
  // an agent that records what it is sent and answers SUCCESS
  const server = createServer((s) => {
    let buffered = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        requests.push(new Uint8Array(buffered.subarray(4, 4 + buffered.readUInt32BE(0))));
        buffered = buffered.subarray(4 + requests.at(-1)!.length);
        s.write(Buffer.from([0, 0, 0, 1, MSG_AGENT.SUCCESS]));
      }
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  try {
    const jump = keygen(openssh!, work, 'ed25519', 'jump_host').publicLine;
    const target = keygen(openssh!, work, 'ecdsa', 'target_host').publicLine;
    writeFileSync(join(work, 'known_hosts'), `jump ${jump}\ntarget ${target}\n`);
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('ssh-add', ['-H', join(work, 'known_hosts'), '-h', 'jump', '-h', 'jump>alice@target', '-t', '90', paths.ed25519!], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    const add = decodeAddIdentity(requests.find((p) => p[0] === MSG_AGENT.ADD_ID_CONSTRAINED)!);
    assert.equal(add.keyType, 'ssh-ed25519');
    assert.equal(add.comment, 'ed25519');
    const blob = (line: string) => parseOpenSshPublicKeyLine(line).blob;
    const hops = add.constraints.find((c) => c.type === 'restrict-destination');
    assert.ok(hops && hops.type === 'restrict-destination');
    const summary = hops.destinations.map((d) => ({
      from: `${d.from.user}@${d.from.host}`,
      fromKeys: d.from.keys.map((k) => fingerprintSha256(k.key)),
      to: `${d.to.user}@${d.to.host}`,
      toKeys: d.to.keys.map((k) => fingerprintSha256(k.key)),
    }));
    assert.deepEqual(summary, [
      { from: '@', fromKeys: [], to: '@jump', toKeys: [fingerprintSha256(blob(jump))] },
      { from: '@jump', fromKeys: [fingerprintSha256(blob(jump))], to: 'alice@target', toKeys: [fingerprintSha256(blob(target))] },
    ]);
    assert.deepEqual(add.constraints.find((c) => c.type === 'lifetime'), { type: 'lifetime', seconds: 90 });
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
});
