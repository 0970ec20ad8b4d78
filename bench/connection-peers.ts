// The peers of bench/connection.ts: a private sshd, and one driver per client
// (Nacre, the `ssh2` npm package, OpenSSH `ssh`) that can do the three things
// the benchmark times: connect+auth+`exec true`+close, a bulk upload, a bulk
// download. Every client verifies the server's host key and authenticates
// with the same ed25519 key.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { connect as netConnect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex, Readable, Writable } from 'node:stream';
import { connect } from '../src/client/client.js';
import { parseOpenSshPublicKeyLine } from '../src/keys/index.js';
import { startSshd, type OpenSsh } from '../test/interop/openssh.js';

/** A server to connect to, as every client needs to know it. */
export interface Target {
  readonly port: number;
  readonly hostKeyBlob: Buffer;
  /** known_hosts file holding exactly that key, for `ssh`. */
  readonly knownHosts: string;
}

/** What a connection actually negotiated, as the client reports it. */
export interface Negotiated {
  readonly kex: string;
  readonly hostKey: string;
  readonly cipher: string;
}

export type Direction = 'upload' | 'download';

export interface ClientDriver {
  readonly name: string;
  /** connect + authenticate + `exec true` + close; rejects unless everything worked. */
  once(t: Target): Promise<void>;
  probe(t: Target): Promise<Negotiated>;
  /** One connection moving `bytes` through one channel with `cipher` (both directions of the connection use it). */
  bulk(t: Target, cipher: string, direction: Direction, bytes: number): Promise<void>;
}

export interface Credentials {
  readonly user: string;
  readonly keyPath: string;
  readonly keyText: string;
  readonly publicLine: string;
}

export const UPLOAD_COMMAND = 'cat > /dev/null';
export const downloadCommand = (bytes: number): string => `head -c ${bytes} /dev/zero`;

const CHUNK = Buffer.alloc(256 * 1024);

async function writeZeros(w: Writable, total: number): Promise<void> {
  for (let left = total; left > 0; ) {
    const n = Math.min(left, CHUNK.length);
    left -= n;
    if (!w.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) await once(w, 'drain');
  }
  w.end();
}

function countBytes(r: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    r.on('data', (d: Buffer) => (n += d.length));
    r.once('end', () => resolve(n));
    r.once('error', reject);
  });
}

/**
 * Wall ms from TCP connect to the server's identification line: what a server
 * costs before any client work (sshd forks and execs sshd-session per
 * connection before it says anything).
 */
export function bannerMs(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const s = netConnect(port, '127.0.0.1');
    s.setNoDelay(true);
    let seen = '';
    s.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('\n')) {
        const ms = performance.now() - start;
        s.destroy();
        resolve(ms);
      }
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before the identification line')));
  });
}

// ---------------------------------------------------------------- sshd

export interface BenchSshd extends Target {
  /** The listening sshd; the per-connection processes it forks inherit its CPU affinity. */
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * A private sshd on loopback (test/interop/openssh.ts's startSshd) tuned for
 * measuring rather than debugging: only an ed25519 host key, and LogLevel
 * ERROR (the tests' DEBUG1 would make sshd write dozens of log lines per
 * connection, which Nacre's server does not do). MaxStartups is lifted so
 * that 16 connections in flight from one address are not dropped (per-source
 * penalties are off in every sshd startSshd starts).
 */
export async function startBenchSshd(o: OpenSsh, authorizedLine: string): Promise<BenchSshd> {
  const s = await startSshd(
    o,
    [
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'MaxStartups 200',
      'PerSourceMaxStartups none',
      // See SHELL_ENV in connection-server.ts: keeps bash from sourcing ~/.bashrc.
      'SetEnv SHLVL=1',
    ],
    { hostKeyTypes: ['ed25519'], logLevel: 'ERROR', authorizedKeys: authorizedLine + '\n' },
  );
  const hostLine = s.hostKeys.ed25519!;
  const knownHosts = join(s.dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${s.port} ${hostLine}\n`);
  return {
    port: s.port,
    pid: s.pid,
    hostKeyBlob: Buffer.from(parseOpenSshPublicKeyLine(hostLine).blob),
    knownHosts,
    stop: () => s.stop(),
  };
}

/** A known_hosts file for a server that is not sshd (the Nacre child). */
export function writeKnownHosts(dir: string, name: string, port: number, blob: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, `[127.0.0.1]:${port} ssh-ed25519 ${blob.toString('base64')}\n`);
  return path;
}

// ---------------------------------------------------------------- Nacre client

/** `kex`: a key exchange list instead of Nacre's default (to compare with ssh2 on equal terms). */
export function nacreClient(cred: Credentials, kex?: string): ClientDriver {
  const options = (t: Target, cipher?: string) => ({
    host: '127.0.0.1',
    port: t.port,
    username: cred.user,
    privateKey: cred.keyText,
    verifyHostKey: (info: { key: Uint8Array }) => t.hostKeyBlob.equals(Buffer.from(info.key)),
    algorithms: { ...(cipher ? { cipher: [cipher] } : {}), ...(kex ? { kex: [kex] } : {}) },
  });
  return {
    name: kex ? `Nacre (${kex})` : 'Nacre',
    async once(t) {
      const c = await connect(options(t));
      const r = await c.exec('true');
      if (r.code !== 0) throw new Error(`exec true: status ${r.code}`);
      await c.close();
    },
    async probe(t) {
      const c = await connect(options(t));
      const a = c.algorithms!;
      await c.close();
      return { kex: a.kex, hostKey: a.hostKey, cipher: a.clientToServer.cipher };
    },
    async bulk(t, cipher, direction, bytes) {
      const c = await connect(options(t, cipher));
      if (c.algorithms?.clientToServer.cipher !== cipher) throw new Error(`negotiated ${c.algorithms?.clientToServer.cipher}, not ${cipher}`);
      const p = await c.spawn(direction === 'upload' ? UPLOAD_COMMAND : downloadCommand(bytes));
      p.stderr.resume();
      const received = countBytes(p.stdout);
      if (direction === 'upload') await writeZeros(p.stdin, bytes);
      else p.stdin.end();
      const [n, exit] = await Promise.all([received, p.exit]);
      if (exit.code !== 0) throw new Error(`bulk ${direction}: status ${exit.code}`);
      if (direction === 'download' && n !== bytes) throw new Error(`download: got ${n} of ${bytes} bytes`);
      await c.close();
    },
  };
}

// ---------------------------------------------------------------- ssh2

/** The part of the `ssh2` package (no type declarations installed) used here. */
/** A channel: a Duplex (stdout in, stdin out) that also emits 'exit' (code). */
type Ssh2Stream = Duplex & { readonly stderr: Readable };
interface Ssh2Client {
  on(event: 'ready' | 'close', fn: () => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  on(event: 'handshake', fn: (n: { kex: string; serverHostKey: string; cs: { cipher: string } }) => void): this;
  connect(config: Record<string, unknown>): this;
  exec(command: string, cb: (err: Error | undefined, stream: Ssh2Stream) => void): boolean;
  end(): this;
  setNoDelay(noDelay: boolean): this;
}
interface Ssh2Module {
  Client: new () => Ssh2Client;
}

const require = createRequire(import.meta.url);

/** Whether ssh2 found its optional native crypto binding (lib/protocol/crypto/build). */
export function ssh2Native(): { crypto: boolean; cpuFeatures: boolean; version: string } {
  const crypto = (require('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean }).bindingAvailable;
  let cpuFeatures = false;
  try {
    require('cpu-features');
    cpuFeatures = true;
  } catch {
    cpuFeatures = false;
  }
  return { crypto, cpuFeatures, version: (require('ssh2/package.json') as { version: string }).version };
}

/**
 * `noDelay`: ssh2 leaves Nagle's algorithm on unless the application calls
 * `setNoDelay(true)` (Nacre's client and server always turn it off), so the
 * benchmark measures it both ways.
 */
export function ssh2Client(cred: Credentials, noDelay = false): ClientDriver {
  const { Client } = require('ssh2') as Ssh2Module;
  /** Connects, runs `command` with `use`, ends; resolves after the connection's 'close'. */
  const session = (t: Target, cipher: string | undefined, command: string, use: (s: Ssh2Stream) => Promise<void>, onHandshake?: (n: Negotiated) => void): Promise<void> =>
    new Promise((resolve, reject) => {
      const c = new Client();
      let failed: Error | null = null;
      c.on('error', (err) => (failed = err));
      c.on('handshake', (n) => onHandshake?.({ kex: n.kex, hostKey: n.serverHostKey, cipher: n.cs.cipher }));
      c.on('close', () => (failed ? reject(failed) : resolve()));
      c.on('ready', () => {
        c.exec(command, (err, stream) => {
          if (err) {
            failed = err;
            c.end();
            return;
          }
          let code: number | null = null;
          stream.on('exit', (x: number | null) => (code = x));
          stream.stderr.resume();
          const used = use(stream);
          stream.on('close', () => {
            used.then(
              () => {
                if (code !== 0) failed = new Error(`${command}: status ${code}`);
              },
              (e: unknown) => (failed = e instanceof Error ? e : new Error(String(e))),
            ).finally(() => c.end());
          });
        });
      });
      c.connect({
        host: '127.0.0.1',
        port: t.port,
        username: cred.user,
        privateKey: cred.keyText,
        hostVerifier: (key: Buffer) => t.hostKeyBlob.equals(key),
        readyTimeout: 60_000,
        ...(cipher ? { algorithms: { cipher: [cipher] } } : {}),
      });
      if (noDelay) c.setNoDelay(true);
    });
  const drain = async (s: Ssh2Stream) => {
    s.resume();
  };
  return {
    name: noDelay ? 'ssh2 (setNoDelay)' : 'ssh2',
    once: (t) => session(t, undefined, 'true', drain),
    async probe(t) {
      let n: Negotiated | null = null;
      await session(t, undefined, 'true', drain, (x) => (n = x));
      return n!;
    },
    async bulk(t, cipher, direction, bytes) {
      let used = '';
      if (direction === 'upload') {
        await session(t, cipher, UPLOAD_COMMAND, async (s) => {
          s.resume();
          await writeZeros(s, bytes);
        }, (n) => (used = n.cipher));
      } else {
        await session(t, cipher, downloadCommand(bytes), async (s) => {
          const n = await countBytes(s);
          if (n !== bytes) throw new Error(`download: got ${n} of ${bytes} bytes`);
        }, (n) => (used = n.cipher));
      }
      if (used !== cipher) throw new Error(`negotiated ${used}, not ${cipher}`);
    },
  };
}

// ---------------------------------------------------------------- OpenSSH ssh

/** ssh's flags for a bench run: no user config, this key only, this known_hosts only, no prompts. */
export function sshFlags(cred: Credentials, t: Pick<Target, 'port' | 'knownHosts'>, extra: readonly string[] = []): string[] {
  return [
    '-F', 'none',
    '-p', String(t.port),
    '-i', cred.keyPath,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${t.knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'UpdateHostKeys=no',
    ...extra,
  ];
}

export function sshArgs(_o: OpenSsh, cred: Credentials, t: Target, extra: readonly string[] = []): string[] {
  return [...sshFlags(cred, t, extra), `${cred.user}@127.0.0.1`];
}

/** Runs a program to its end; rejects on a non-zero status. Returns stderr. */
function runToEnd(cmd: string, args: readonly string[], stdio: 'ignore' | 'pipe' = 'ignore'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', stdio, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(stderr) : reject(new Error(`${cmd} exited with ${code}: ${stderr.trim().slice(-400)}`))));
  });
}

export function sshClient(o: OpenSsh, cred: Credentials): ClientDriver {
  return {
    name: 'OpenSSH ssh',
    async once(t) {
      await runToEnd(o.ssh, [...sshArgs(o, cred, t), 'true']);
    },
    async probe(t) {
      const log = await runToEnd(o.ssh, [...sshArgs(o, cred, t, ['-v']), 'true']);
      const find = (re: RegExp) => re.exec(log)?.[1] ?? '?';
      return { kex: find(/kex: algorithm: (\S+)/), hostKey: find(/kex: host key algorithm: (\S+)/), cipher: find(/kex: client->server cipher: (\S+)/) };
    },
    async bulk(t, cipher, direction, bytes) {
      const args = sshArgs(o, cred, t, ['-c', cipher]);
      // Output goes to /dev/null (stdio 'ignore'); the upload's input comes from
      // head through a pipe, so no byte passes through this Node process.
      if (direction === 'download') await runToEnd(o.ssh, [...args, downloadCommand(bytes)]);
      else await runToEnd('/bin/sh', ['-c', `head -c ${bytes} /dev/zero | "$0" "$@"`, o.ssh, ...args, UPLOAD_COMMAND]);
    },
  };
}
