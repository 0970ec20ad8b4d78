// Measuring helpers of the floor bench (bench/floor.ts): CPU of a process
// tree from /proc, the bench's own source and sink, and node:crypto's cost
// per packet in a tight loop.
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { FloorOpener, FloorSealer, type FloorMode } from './floor-frame.js';

const MiB = 1024 * 1024;

// ---------------------------------------------------------------- CPU from /proc

interface Stat {
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number;
}

function stat(pid: number): Stat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/**
 * CPU ms of `pid` and every live descendant (each with the children it has
 * reaped): sshd's work happens in sshd-session processes below it, and head/cat
 * below those. Ticks of 10 ms (CLK_TCK 100).
 */
export function treeCpuMs(pid: number): number {
  const all = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) all.set(Number(name), s);
  }
  let ticks = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    const s = all.get(p);
    if (!s) continue;
    ticks += s.ticks;
    for (const [child, cs] of all) if (cs.ppid === p) todo.push(child);
  }
  return ticks * 10;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---------------------------------------------------------------- the bench's ends

/** Sends `bytes` zeros to every connection (download source). */
export async function source(bytes: number): Promise<Server> {
  const chunk = Buffer.alloc(256 * 1024);
  const srv = createServer((s) => {
    s.on('error', () => {});
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
      }
      s.end();
    };
    pump();
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return srv;
}

/** Counts what every connection brings (upload sink); `expect` settles when the next connection has brought `bytes`. */
export async function sink(): Promise<{ server: Server; expect: (bytes: number) => Promise<void> }> {
  let want: { bytes: number; done: () => void } | null = null;
  const srv = createServer((s) => {
    s.on('error', () => {});
    const w = want;
    want = null;
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (w && got >= w.bytes) w.done();
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { server: srv, expect: (bytes) => new Promise<void>((done) => (want = { bytes, done })) };
}

/** Resolves when `s` has brought `bytes` (then destroys it). */
export function countTo(s: Socket | NodeJS.ReadableStream, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) resolve();
    });
    s.once('error', reject);
    s.once('end', () => (got >= bytes ? resolve() : reject(new Error(`ended after ${got} of ${bytes} bytes`))));
  });
}

export async function writeZeros(s: Socket, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(256 * 1024);
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, chunk.length);
    left -= n;
    if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await once(s, 'drain');
  }
}

export async function connected(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

// ---------------------------------------------------------------- one measurement

/** One round of one configuration: wall ms and CPU ms of the server side and of the client side. */
export interface Sample {
  readonly ms: number;
  readonly server: number;
  readonly client: number;
}

/** A configuration of one path: how to run one round, measured. */
export interface Config {
  readonly name: string;
  round(): Promise<Sample>;
}

/** CPU ms of the reaped children of this process (the `ssh` of an exec round, once it has exited). */
export function reapedCpuMs(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** The growth of `server()` and `client()` (CPU ms so far) around `body`; its wall ms, or what it returns. */
export async function measured(server: () => number, client: () => number, body: () => Promise<number | void>, settle = 0): Promise<Sample> {
  const s0 = server();
  const c0 = client();
  const t0 = performance.now();
  const ran = await body();
  const ms = typeof ran === 'number' ? ran : performance.now() - t0;
  if (settle) await new Promise((r) => setTimeout(r, settle));
  return { ms, server: server() - s0, client: client() - c0 };
}

// ---------------------------------------------------------------- the crypto alone

/** µs of CPU per packet for seal and for open of `data`-byte packets, in a tight loop in this process (GC included; the lowest of the rounds: other processes only add). */
export interface PacketCost {
  readonly mode: FloorMode;
  readonly data: number;
  readonly sealUs: number;
  readonly openUs: number;
}

export function packetCosts(modes: readonly FloorMode[] = ['aes128-gcm', 'copy'], sizes: readonly number[] = [32 * 1024, 100], rounds = 7): PacketCost[] {
  const cpu = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const out: PacketCost[] = [];
  for (const mode of modes) {
    for (const data of sizes) {
      const count = Math.max(2000, Math.round((64 * MiB) / data / 4));
      const seal: number[] = [];
      const open: number[] = [];
      // 64 packets as they come off one sealer: an opener from the same start opens them.
      const batch = 64;
      const s0 = new FloorSealer(mode);
      const wire = Buffer.concat(Array.from({ length: batch }, () => s0.seal(data)).flat());
      for (let r = 0; r <= rounds; r++) {
        const sealer = new FloorSealer(mode);
        let t = cpu();
        for (let i = 0; i < count; i++) sealer.seal(data);
        if (r > 0) seal.push((cpu() - t) / count);
        t = cpu();
        let opened = 0;
        for (let i = 0; i < count; i += batch) new FloorOpener(mode, () => void opened++).feed(wire, wire.length);
        if (r > 0) open.push((cpu() - t) / opened);
      }
      out.push({ mode, data, sealUs: Math.min(...seal), openUs: Math.min(...open) });
    }
  }
  return out;
}
