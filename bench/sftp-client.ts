// One SFTP transfer by a library client, in a Node process of its own so that
// its CPU is its own (the bench reads it from its reaped children's times)
// and so that ssh2 can be loaded with or without its native binding:
//
//   node dist/bench/sftp-client.js '<json Job>'
//
// Prints one JSON line (`Result`) on stdout. `ms` is the transfer alone,
// from the moment the SFTP session is ready until the last file is closed;
// `setupMs` is connect + authenticate + subsystem start.
import { createRequire } from 'node:module';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/index.js';
import type { SftpClient } from '../src/client/sftp/api.js';

export type ClientLibrary = 'nacre' | 'ssh2' | 'ssh2-js';
export type SftpOp = 'get' | 'put' | 'get-r' | 'put-r';

export interface Job {
  readonly lib: ClientLibrary;
  readonly op: SftpOp;
  readonly port: number;
  readonly user: string;
  readonly keyPath: string;
  readonly keyText: string;
  readonly hostKeyB64: string;
  readonly cipher: string;
  readonly remote: string;
  readonly local: string;
  /**
   * Nacre only: load the heap setting the tools load first
   * (src/cli/common/heap-tuning.ts) before the library, as nacre-sftp and
   * nacre-scp run; without it the process has V8's defaults, as an
   * application using the library has unless it sets them itself.
   */
  readonly heapTuning?: boolean;
}

export interface Result {
  readonly ms: number;
  readonly setupMs: number;
  /** This process's CPU (all threads) during the transfer. */
  readonly cpuMs: number;
  /** ssh2 only: whether its native crypto binding was loaded. */
  readonly native?: boolean;
}

// ---------------------------------------------------------------- Nacre

async function nacreJob(j: Job): Promise<Result> {
  if (j.heapTuning) await import('../src/cli/common/heap-tuning.js');
  const t0 = performance.now();
  const hostKey = Buffer.from(j.hostKeyB64, 'base64');
  const c = await connect({
    host: '127.0.0.1',
    port: j.port,
    username: j.user,
    privateKey: j.keyText,
    verifyHostKey: (info: { key: Uint8Array }) => hostKey.equals(Buffer.from(info.key)),
    algorithms: { cipher: [j.cipher] },
  });
  const open = (c as unknown as { sftp?: () => Promise<SftpClient> }).sftp;
  if (typeof open !== 'function') {
    await c.close();
    throw new Error('client.sftp() is not implemented in this build');
  }
  const s = await open.call(c);
  const t1 = performance.now();
  const cpu = process.cpuUsage();
  const recursive = j.op.endsWith('-r');
  if (j.op.startsWith('get')) await s.get(j.remote, j.local, { recursive });
  else await s.put(j.local, j.remote, { recursive });
  const t2 = performance.now();
  const used = process.cpuUsage(cpu);
  await c.close();
  return { ms: t2 - t1, setupMs: t1 - t0, cpuMs: (used.user + used.system) / 1000 };
}

// ---------------------------------------------------------------- ssh2

/** The part of the `ssh2` package's client API used here (it ships no type declarations). */
interface Ssh2Sftp {
  fastGet(remote: string, local: string, cb: (err?: Error | null) => void): void;
  fastPut(local: string, remote: string, cb: (err?: Error | null) => void): void;
  readdir(path: string, cb: (err: Error | null | undefined, list: { filename: string }[]) => void): void;
  mkdir(path: string, cb: (err?: Error | null) => void): void;
}
interface Ssh2Client {
  on(event: 'ready' | 'close', fn: () => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  on(event: 'handshake', fn: (n: { cs: { cipher: string } }) => void): this;
  connect(config: Record<string, unknown>): this;
  sftp(cb: (err: Error | undefined, sftp: Ssh2Sftp) => void): void;
  setNoDelay(noDelay: boolean): this;
  end(): this;
}

const call = <T = void>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

async function ssh2Job(j: Job): Promise<Result> {
  const require = createRequire(import.meta.url);
  if (j.lib === 'ssh2-js') {
    // ssh2 loads its binding with require('./crypto/build/Release/sshcrypto.node')
    // inside a try: refusing every native module makes it fall back to node:crypto.
    const Module = require('node:module') as { _extensions: Record<string, unknown> };
    Module._extensions['.node'] = () => {
      throw new Error('native modules disabled for this bench row');
    };
  }
  const native = (require('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean }).bindingAvailable;
  const { Client } = require('ssh2') as { Client: new () => Ssh2Client };
  const hostKey = Buffer.from(j.hostKeyB64, 'base64');
  const t0 = performance.now();
  const c = new Client();
  let negotiated = '';
  const sftp = await new Promise<Ssh2Sftp>((resolve, reject) => {
    c.on('error', reject);
    c.on('handshake', (n) => (negotiated = n.cs.cipher));
    c.on('ready', () => c.sftp((err, s) => (err ? reject(err) : resolve(s))));
    c.connect({
      host: '127.0.0.1',
      port: j.port,
      username: j.user,
      privateKey: j.keyText,
      hostVerifier: (key: Buffer) => hostKey.equals(key),
      readyTimeout: 60_000,
      algorithms: { cipher: [j.cipher] },
    });
    // Nagle's algorithm off, as Nacre's client and OpenSSH do for a session.
    c.setNoDelay(true);
  });
  if (negotiated !== j.cipher) throw new Error(`ssh2 negotiated ${negotiated}, not ${j.cipher}`);
  const t1 = performance.now();
  const cpu = process.cpuUsage();
  switch (j.op) {
    case 'get':
      await call((cb) => sftp.fastGet(j.remote, j.local, cb));
      break;
    case 'put':
      await call((cb) => sftp.fastPut(j.local, j.remote, cb));
      break;
    case 'get-r': {
      // ssh2 has no recursive transfer: one fastGet per file, one after another.
      mkdirSync(j.local, { recursive: true });
      const list = await call<{ filename: string }[]>((cb) => sftp.readdir(j.remote, cb));
      for (const e of list) await call((cb) => sftp.fastGet(`${j.remote}/${e.filename}`, join(j.local, e.filename), cb));
      break;
    }
    case 'put-r': {
      await call((cb) => sftp.mkdir(j.remote, cb));
      for (const name of readdirSync(j.local)) await call((cb) => sftp.fastPut(join(j.local, name), `${j.remote}/${name}`, cb));
      break;
    }
  }
  const t2 = performance.now();
  const used = process.cpuUsage(cpu);
  await new Promise<void>((resolve) => {
    c.on('close', resolve);
    c.end();
  });
  return { ms: t2 - t1, setupMs: t1 - t0, cpuMs: (used.user + used.system) / 1000, native };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  try {
    const r = job.lib === 'nacre' ? await nacreJob(job) : await ssh2Job(job);
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
