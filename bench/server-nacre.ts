// The Nacre server of the `nacred` bench section (bench/server.ts), as an
// operator runs it: its own process, host key and authorized_keys read from
// files, publickey logins through publicKeyAuthenticator, sessions through
// runAsCurrentUser, `-L` allowed (sshd's AllowTcpForwarding default).
//
// Until the `nacred` command lands this is the library server started the
// way nacred will start it; `startNacreServer` is the one place to switch to
// the real binary (it then loses only the heap figures of the memory probe,
// which come over IPC; RSS is read from /proc by the parent for every server).
//
//   node --expose-gc dist/bench/server-nacre.js <dir>
//
// <dir> holds host_ed25519 (an OpenSSH private key) and authorized_keys.
// Reports { type: 'ready', port } over IPC; answers { type: 'memory' } with
// the server's process.memoryUsage() after a full GC and its connection count.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, parseAuthorizedKeys, publicKeyAuthenticator, runAsCurrentUser, signerFromPrivateKeyPath } from '../src/index.js';
import { SHELL_ENV } from './connection-server.js';

/** What the memory probe of a Node server child answers. */
export interface NodeMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly connections: number;
}

/** A server under test, whatever its implementation. */
export interface ServerProcess {
  readonly name: string;
  /** The listening process: its /proc entry gives RSS and CPU (children included once reaped). */
  readonly pid: number;
  readonly port: number;
  /** The node:process.memoryUsage() breakdown after a GC, when the server can give it (Node children over IPC). */
  readonly nodeMemory?: () => Promise<NodeMemory>;
  stop(): Promise<void>;
}

/** Asks a forked Node server child for `{ type }` and resolves with its reply of the same type. */
export function askChild<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; value: T }) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m.value);
    };
    const onExit = () => reject(new Error(`the server child exited while asked for ${type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type });
  });
}

/** Forks `file` with `args` (the server is given --expose-gc); resolves with the port it reports once listening. */
export function forkServer(name: string, file: string, args: readonly string[]): Promise<ServerProcess & { readonly child: ChildProcess }> {
  const child: ChildProcess = fork(file, [...args], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${name} exited early (${code})`));
    child.once('exit', onExit);
    child.once('message', (m: { type: string; port: number }) => {
      child.off('exit', onExit);
      resolve({
        name,
        child,
        pid: child.pid!,
        port: m.port,
        nodeMemory: () => askChild<NodeMemory>(child, 'memory'),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

/**
 * Starts the Nacre server under test on 127.0.0.1 (a free port) with the
 * host key `dir/host_ed25519` and `dir/authorized_keys`. The one place to
 * switch the benchmark to the `nacred` binary.
 */
export function startNacreServer(dir: string): Promise<ServerProcess> {
  return forkServer('Nacre library server', fileURLToPath(import.meta.url), [dir]);
}

/** Answers the parent's probes: memory after a full GC (needs --expose-gc). */
export function answerProbes(connections: () => number): void {
  process.on('message', (m: { type: string }) => {
    if (m.type !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const u = process.memoryUsage();
    process.send?.({ type: 'memory', value: { rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers, connections: connections() } satisfies NodeMemory });
  });
  process.on('disconnect', () => process.exit(0));
}

async function serve(dir: string): Promise<void> {
  const hostKey = signerFromPrivateKeyPath(join(dir, 'host_ed25519'));
  const server = createServer({
    hostKeys: [hostKey],
    // Read at each attempt, as sshd reads AuthorizedKeysFile.
    authenticate: publicKeyAuthenticator({ authorizedKeys: () => parseAuthorizedKeys(readFileSync(join(dir, 'authorized_keys'), 'utf8')).entries }),
    session: (s) => runAsCurrentUser(s, { env: SHELL_ENV }),
    forwardLocal: () => true,
    // As the bench's sshd (MaxStartups 200, PerSourceMaxStartups none): 64
    // connections in flight from one address must not be dropped.
    maxStartups: { begin: 200, rate: 30, full: 200 },
    maxStartupsPerSource: Infinity,
  });
  server.on('error', (err) => console.error(`nacre bench server: ${err.message}`));
  const { port } = await server.listen(0, '127.0.0.1');
  answerProbes(() => server.connections.size);
  process.send?.({ type: 'ready', port });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: server-nacre.js <dir with host_ed25519 and authorized_keys>');
    process.exit(2);
  }
  await serve(dir);
}

/**
 * The `nacred` command itself (dist/src/cli/nacred.js) on a free loopback
 * port, from an sshd_config with `dir`'s host key and authorized_keys and the
 * settings the bench's sshd has (LogLevel ERROR, MaxStartups 200, no
 * per-source limits or penalties, SHLVL=1). Its RSS comes from /proc, as
 * sshd's; it has no heap probe.
 */
export async function startNacredBinary(dir: string): Promise<ServerProcess> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
  const config = join(dir, 'nacred_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      // The bench directory sits under /tmp (mode 1777), which StrictModes refuses.
      'StrictModes no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'LogLevel ERROR',
      'MaxStartups 200',
      'PerSourceMaxStartups none',
      'PerSourcePenalties no',
      'SetEnv SHLVL=1',
      `PidFile ${join(dir, 'nacred.pid')}`,
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const nacredJs = fileURLToPath(new URL('../src/cli/nacred.js', import.meta.url));
  const child = spawn(process.execPath, [nacredJs, '-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    // LogLevel ERROR: anything here is worth seeing.
    log += d.toString();
    process.stderr.write(`nacred: ${d.toString()}`);
  });
  // LogLevel ERROR logs no "Server listening" line: ready once the port answers.
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nacred exited early (${child.exitCode}): ${log}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > until) throw new Error(`nacred did not start in 10 s: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: 'nacred',
    pid: child.pid!,
    port,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
