// The floor under nacred's bulk and small-request targets (round 6): what the
// cheapest Node 20 process can spend per MiB, or per round trip, on each hot
// path when nothing SSH-specific is left but node:crypto's aes128-gcm per
// packet (bench/floor-frame.ts), next to what OpenSSH's sshd spends on the
// same path in the same run, with the same source and sink; and nacred (this
// build's dist/src/cli/nacred.js) the same way as sshd. PERFORMANCE.md
// section 7, "Round 6: floor6", has the results and what they mean.
//
// Paths (bench/floor-peers.ts has the processes):
//   L-down   bench source -> [server relay: read, seal] -> [client relay: open] -> bench client
//            vs  source -> sshd (direct-tcpip) -> `ssh -L` -> bench client
//   L-up     the reverse: bench client -> [client: seal] -> [server: open] -> bench sink
//   exec     `head -c N /dev/zero` into a pipe -> [server: seal] -> [client: open] -> bench
//            vs  `ssh HOST 'head -c N /dev/zero'` (its stdout read by the bench)
//   ping     ~100-byte request, ~100-byte answer, one at a time on one connection
//            vs  `ssh HOST cat` echoing 100 bytes (sshd-session + cat per turn)
// Variants of the Node relay: `aes128-gcm` (256 KiB reads, one writev per
// read); `copy` (the same framing and one copy per packet, no crypto: Node's
// socket cost alone); `32 KiB reads in place` (a read per packet, into the
// packet frame: no copy); `fresh link reads` (the link socket read with
// 'data' events, a fresh buffer per read, as an accepted socket such as
// nacred's SSH connection is read).
// The floor rows' client is a Node relay, not `ssh`: their MiB/s do not
// compare with the sshd/nacred rows, their CPU per MiB does.
// CPU is the process's user+system time from /proc, its reaped children
// included (head, cat, sshd-session), per MiB or per round trip; each round
// measures every configuration once, in an order that rotates per round, and
// the tables give medians over rounds.
//
// Run: node dist/bench/floor.js [--quick] [--rounds=N] [--mib=N] [--pings=N] [--parts=down,up,exec,ping] [--read-kib=N] [--no-nacred]
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOpenSsh, freePort, keygen, tempDir, waitForPort, type OpenSsh } from '../test/interop/openssh.js';
import { parseOpenSshPublicKeyLine } from '../src/keys/index.js';
import { sshFlags, startBenchSshd, writeKnownHosts, type Credentials } from './connection-peers.js';
import { startNacredBinary } from './server-nacre.js';
import type { FloorMode } from './floor-frame.js';
import { connected, countTo, measured, median, packetCosts, reapedCpuMs, sink, source, treeCpuMs, writeZeros, type Config, type PacketCost, type Sample } from './floor-measure.js';
import type { PeerCommand, PeerInit, PeerReply } from './floor-peers.js';

const MiB = 1024 * 1024;
const PEER = fileURLToPath(new URL('./floor-peers.js', import.meta.url));
const GCM = 'aes128-gcm@openssh.com';
/** As nacred runs (src/cli/common/heap-tuning.ts). */
const NODE_FLAGS = ['--heap-growing-percent=400'];

export const FLOOR_PARTS = ['down', 'up', 'exec', 'ping'] as const;
export type FloorPart = (typeof FLOOR_PARTS)[number];

export interface FloorOptions {
  readonly parts: readonly FloorPart[];
  readonly rounds: number;
  /** Bytes per bulk round. */
  readonly bytes: number;
  /** Round trips per ping round (after as many again to warm up, once). */
  readonly pings: number;
  readonly request: number;
  readonly reply: number;
  /** The server relay's read size on the sealing side (<= 32 KiB: read in place into the packet frame). */
  readonly readBytes: number;
  /** Also measure nacred (this build's dist/src/cli/nacred.js) through `ssh`, as sshd. */
  readonly nacred: boolean;
}

export const FLOOR_DEFAULTS: FloorOptions = { parts: FLOOR_PARTS, rounds: 5, bytes: 512 * MiB, pings: 20_000, request: 100, reply: 100, readBytes: 256 * 1024, nacred: true };
export const FLOOR_QUICK: FloorOptions = { ...FLOOR_DEFAULTS, rounds: 1, bytes: 64 * MiB, pings: 2000 };

// ---------------------------------------------------------------- peers

interface Peer {
  readonly child: ChildProcess;
  readonly ready: Extract<PeerReply, { kind: 'ready' }>;
  next(kind: PeerReply['kind']): Promise<PeerReply>;
  send(c: PeerCommand): void;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

async function startPeer(init: PeerInit): Promise<Peer> {
  const child = fork(PEER, [], { execArgv: NODE_FLAGS, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const waiting: { kind: PeerReply['kind']; resolve: (m: PeerReply) => void; reject: (e: Error) => void }[] = [];
  const early: PeerReply[] = [];
  child.on('message', (m: PeerReply) => {
    if (m.kind === 'error') {
      for (const w of waiting.splice(0)) w.reject(new Error(`peer ${init.role}: ${m.message}`));
      console.error(`floor bench: peer ${init.role} ${init.mode}: ${m.message}`);
      return;
    }
    const i = waiting.findIndex((w) => w.kind === m.kind);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(m);
    else early.push(m);
  });
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`peer ${init.role} exited ${code}`));
  });
  const next = (kind: PeerReply['kind']): Promise<PeerReply> => {
    const i = early.findIndex((m) => m.kind === kind);
    if (i >= 0) return Promise.resolve(early.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => waiting.push({ kind, resolve, reject }));
  };
  const readyP = next('ready');
  child.send(init);
  const ready = (await readyP) as Extract<PeerReply, { kind: 'ready' }>;
  return { child, ready, next, send: (c) => void child.send(c) };
}

function stopPeer(p: Peer): void {
  p.child.kill('SIGTERM');
}

// ---------------------------------------------------------------- the run

/** A round that takes longer than this has hung (a peer died, a socket was lost): the bench stops. */
const ROUND_LIMIT_MS = 180_000;

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`floor bench: ${what} took over ${ms / 1000} s`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

export interface FloorRow {
  readonly path: FloorPart;
  readonly name: string;
  readonly samples: Sample[];
}

export interface FloorReport {
  readonly options: FloorOptions;
  readonly rows: FloorRow[];
  readonly packets: PacketCost[];
  /** By server: its CPU ms for `ssh HOST true`, taken off each exec round. */
  readonly sshTrueMs: Record<string, number>;
  readonly seconds: number;
}

export async function benchFloor(o: FloorOptions = FLOOR_DEFAULTS, log: (s: string) => void = (s) => console.error(s)): Promise<FloorReport> {
  const t0 = performance.now();
  log('floor bench: node:crypto alone, in this process');
  const packets = packetCosts();
  const openssh: OpenSsh | null = findOpenSsh();
  const dir = tempDir('bench-floor');
  const stops: (() => unknown)[] = [];
  try {
    const src = await source(o.bytes);
    stops.push(() => src.close());
    const snk = await sink();
    stops.push(() => snk.server.close());
    const srcPort = (src.address() as AddressInfo).port;
    const sinkPort = (snk.server.address() as AddressInfo).port;
    const configs = new Map<FloorPart, Config[]>(FLOOR_PARTS.map((p) => [p, []]));

    // sshd and nacred with OpenSSH's `ssh` as their client, if installed.
    const sshTrueMs = new Map<string, number>();
    if (openssh) {
      const key = keygen(openssh, dir, 'ed25519', 'id_ed25519');
      const cred: Credentials = { user: userInfo().username, keyPath: key.privatePath, keyText: readFileSync(key.privatePath, 'utf8'), publicLine: key.publicLine };
      const servers: { label: string; pid: number; port: number; knownHosts: string }[] = [];
      const sshd = await startBenchSshd(openssh, key.publicLine);
      stops.push(() => sshd.stop());
      servers.push({ label: 'sshd', pid: sshd.pid, port: sshd.port, knownHosts: sshd.knownHosts });
      if (o.nacred) {
        // nacred as bench/server.ts starts it: same host key type, same authorized key.
        const serverDir = join(dir, 'nacred');
        mkdirSync(serverDir, { mode: 0o700 });
        const hostLine = keygen(openssh, serverDir, 'ed25519', 'host_ed25519').publicLine;
        writeFileSync(join(serverDir, 'authorized_keys'), key.publicLine + '\n');
        const n = await startNacredBinary(serverDir);
        stops.push(() => n.stop());
        const blob = Buffer.from(parseOpenSshPublicKeyLine(hostLine).blob);
        servers.push({ label: 'nacred', pid: n.pid, port: n.port, knownHosts: writeKnownHosts(dir, 'known_hosts_nacred', n.port, blob) });
      }
      for (const srv of servers) {
        const flags = [...sshFlags(cred, srv), '-c', GCM];
        const dest = `${cred.user}@127.0.0.1`;
        const sshTree = (): number => treeCpuMs(srv.pid);
        if (o.parts.includes('down') || o.parts.includes('up')) {
          const [down, up] = [await freePort(), await freePort()];
          const fwd = spawn(openssh.ssh, [...flags, '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${down}:127.0.0.1:${srcPort}`, '-L', `127.0.0.1:${up}:127.0.0.1:${sinkPort}`, dest], { stdio: 'ignore' });
          children.add(fwd);
          stops.push(() => fwd.kill('SIGTERM'));
          await waitForPort(down, 20_000);
          await waitForPort(up, 20_000);
          const sshPid = (): number => treeCpuMs(fwd.pid!);
          configs.get('down')!.push({
            name: `${srv.label}, \`ssh -L\` ${GCM}`,
            round: async () => {
              const app = await connected(down);
              const r = await measured(sshTree, sshPid, () => countTo(app, o.bytes));
              app.destroy();
              return r;
            },
          });
          configs.get('up')!.push({
            name: `${srv.label}, \`ssh -L\` ${GCM}`,
            round: async () => {
              const got = snk.expect(o.bytes);
              const app = await connected(up);
              const r = await measured(sshTree, sshPid, async () => void (await Promise.all([writeZeros(app, o.bytes), got])));
              app.destroy();
              return r;
            },
          });
        }
        if (o.parts.includes('exec')) {
          const runSsh = async (command: string, onStdout?: (out: NodeJS.ReadableStream) => Promise<void>): Promise<void> => {
            const c = spawn(openssh.ssh, [...flags, dest, command], { stdio: ['ignore', 'pipe', 'ignore'] });
            children.add(c);
            const exited = once(c, 'exit');
            if (onStdout) await onStdout(c.stdout!);
            else c.stdout!.resume();
            const [code] = (await exited) as [number | null];
            children.delete(c);
            if (code !== 0) throw new Error(`ssh ${command} exited ${code}`);
          };
          const self = reapedCpuMs;
          const trues: number[] = [];
          for (let i = 0; i < 4; i++) {
            const m = await measured(sshTree, self, () => runSsh('true'), 200);
            if (i > 0) trues.push(m.server);
          }
          const trueMs = median(trues);
          sshTrueMs.set(srv.label, trueMs);
          configs.get('exec')!.push({
            name: `${srv.label}, \`ssh HOST 'head -c N /dev/zero'\` ${GCM}`,
            round: async () => {
              let ms = 0;
              const r = await measured(
                sshTree,
                self,
                async () => {
                  const t = performance.now();
                  await runSsh(`head -c ${o.bytes} /dev/zero`, (out) => countTo(out, o.bytes).then(() => void (ms = performance.now() - t)));
                  return ms;
                },
                200,
              );
              // The connection's own cost (handshake, session, shell), measured with `true`.
              return { ...r, server: r.server - trueMs };
            },
          });
        }
        if (o.parts.includes('ping')) {
          const c = spawn(openssh.ssh, [...flags, dest, 'cat'], { stdio: ['pipe', 'pipe', 'ignore'] });
          children.add(c);
          stops.push(() => c.kill('SIGTERM'));
          const req = Buffer.alloc(o.request, 0x71);
          const turns = (count: number): Promise<void> =>
            new Promise((resolve) => {
              let left = count;
              let got = 0;
              const onData = (d: Buffer): void => {
                got += d.length;
                while (got >= req.length) {
                  got -= req.length;
                  if (--left === 0) {
                    c.stdout!.off('data', onData);
                    return resolve();
                  }
                  c.stdin!.write(req);
                }
              };
              c.stdout!.on('data', onData);
              c.stdin!.write(req);
            });
          await turns(Math.min(1000, o.pings)); // the connection is up, and warm
          configs.get('ping')!.push({ name: `${srv.label}, \`ssh HOST cat\` ${GCM}`, round: () => measured(sshTree, () => treeCpuMs(c.pid!), () => turns(o.pings)) });
        }
      }
    } else log('floor bench: OpenSSH not installed, sshd and nacred rows left out');

    // The Node floor.
    // The sealing side (download, exec) reads `readBytes` (default 256 KiB) at a time and sends the
    // packets of one read in one writev, copying each packet's data into the frame (nacred's -L choice,
    // src/server/forward-socket.ts); `inPlace`: reads of at most one packet land in the frame itself
    // (no copy, but a read and a writev per packet). Only sealing reads differ: download and exec rows.
    const variants: { mode: FloorMode; freshLink: boolean; inPlace: boolean; label: string }[] = [
      { mode: 'aes128-gcm', freshLink: false, inPlace: false, label: 'Node floor, aes128-gcm' },
      { mode: 'aes128-gcm', freshLink: false, inPlace: true, label: 'Node floor, aes128-gcm, 32 KiB reads in place' },
      { mode: 'aes128-gcm', freshLink: true, inPlace: false, label: 'Node floor, aes128-gcm, fresh link reads' },
      { mode: 'copy', freshLink: false, inPlace: false, label: 'Node floor, copy (no crypto)' },
    ];
    for (const v of variants) {
      const clientPeer = await startPeer({ role: 'client', mode: v.mode });
      const serverPeer = await startPeer({ role: 'server', mode: v.mode, freshLink: v.freshLink, readBytes: v.inPlace ? 32 * 1024 : o.readBytes });
      const sPid = (): number => treeCpuMs(serverPeer.child.pid!);
      const cPid = (): number => treeCpuMs(clientPeer.child.pid!);
      const link = clientPeer.ready.link!;
      const appPort = clientPeer.ready.app!;
      // The link is only read in uploads and pings: fresh link reads make no difference to downloads.
      if (!v.freshLink) {
        configs.get('down')!.push({
          name: v.label,
          round: async () => {
            const app = await connected(appPort);
            const r = await measured(sPid, cPid, () => {
              const got = countTo(app, o.bytes);
              serverPeer.send({ cmd: 'dial', link, target: srcPort });
              return got;
            });
            app.destroy();
            return r;
          },
        });
        configs.get('exec')!.push({
          name: v.label,
          round: async () => {
            const app = await connected(appPort);
            let ms = 0;
            const r = await measured(
              sPid,
              cPid,
              async () => {
                const t = performance.now();
                const exited = serverPeer.next('exited');
                serverPeer.send({ cmd: 'dial', link, execBytes: o.bytes });
                await countTo(app, o.bytes);
                ms = performance.now() - t;
                await exited;
                return ms;
              },
              50,
            );
            app.destroy();
            return r;
          },
        });
      }
      if (v.inPlace) continue;
      configs.get('up')!.push({
        name: v.label,
        round: async () => {
          const got = snk.expect(o.bytes);
          const app = await connected(appPort);
          serverPeer.send({ cmd: 'dial', link, target: sinkPort });
          const r = await measured(sPid, cPid, async () => void (await Promise.all([writeZeros(app, o.bytes), got])));
          app.destroy();
          return r;
        },
      });

      if (o.parts.includes('ping')) {
        const pc = await startPeer({ role: 'pingclient', mode: v.mode, request: o.request });
        const ps = await startPeer({ role: 'pingserver', mode: v.mode, freshLink: v.freshLink, reply: o.reply });
        stops.push(() => stopPeer(pc), () => stopPeer(ps));
        ps.send({ cmd: 'dial', link: pc.ready.link! });
        const run = async (count: number): Promise<number> => {
          const ran = pc.next('ran');
          pc.send({ cmd: 'run', count });
          return ((await ran) as Extract<PeerReply, { kind: 'ran' }>).ms;
        };
        await new Promise((r) => setTimeout(r, 100));
        await run(o.pings); // warm-up
        configs.get('ping')!.push({ name: v.label, round: () => measured(() => treeCpuMs(ps.child.pid!), () => treeCpuMs(pc.child.pid!), () => run(o.pings)) });
      }
    }

    // Warm-up: one round of every bulk configuration at a quarter of the size is not possible with a
    // fixed-size source, so the first round of each configuration is run twice and the first dropped.
    const rows: FloorRow[] = [];
    for (const part of o.parts) {
      const list = configs.get(part)!;
      const samples = list.map(() => [] as Sample[]);
      for (let r = -1; r < o.rounds; r++) {
        for (let k = 0; k < list.length; k++) {
          const i = (k + Math.max(r, 0)) % list.length;
          const c = list[i]!;
          log(`floor bench: ${part}, ${c.name}, ${r < 0 ? 'warm-up' : `round ${r + 1}/${o.rounds}`}`);
          const s = await within(ROUND_LIMIT_MS, c.round(), `${part}, ${c.name}`);
          if (r >= 0) samples[i]!.push(s);
          // Let the sockets of the round close before the next one starts.
          await new Promise((done) => setTimeout(done, 100));
        }
      }
      list.forEach((c, i) => rows.push({ path: part, name: c.name, samples: samples[i]! }));
    }
    return { options: o, rows, packets, sshTrueMs: Object.fromEntries(sshTrueMs), seconds: (performance.now() - t0) / 1000 };
  } finally {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- output

const PATH_TITLES: Record<FloorPart, string> = {
  down: '`-L` download: source -> server relay (seal) -> client relay (open) -> bench',
  up: '`-L` upload: bench -> client relay (seal) -> server relay (open) -> sink',
  exec: 'exec download: `head -c N /dev/zero` -> pipe -> server (seal) -> client (open) -> bench',
  ping: 'small round trips: request -> server (open, answer, seal) -> client',
};

const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

export function formatFloor(r: FloorReport): string {
  const o = r.options;
  const out: string[] = [];
  out.push(`Floor bench: ${o.rounds} rounds, median of each column; bulk ${o.bytes / MiB} MiB per round; ping ${o.pings} round trips of ${o.request} / ${o.reply} bytes per round; server relay reads ${o.readBytes / 1024} KiB`);
  for (const [name, ms] of Object.entries(r.sshTrueMs)) out.push(`(${name} exec rows: minus ${name}'s CPU for \`ssh HOST true\`, ${ms.toFixed(0)} ms per connection)`);
  out.push('', '#### One packet in a tight loop (this process; CPU µs per packet, GC included, lowest of 7 rounds; per MiB: 32 packets of 32 KiB)', '');
  out.push('| framing | data bytes | seal µs | open µs | seal ms/MiB | open ms/MiB |', '|---|---:|---:|---:|---:|---:|');
  for (const p of r.packets) {
    const perMiB = (us: number) => (p.data >= 1024 ? f((us * MiB) / p.data / 1000, 3) : '');
    out.push(`| ${p.mode} | ${p.data} | ${f(p.sealUs, 2)} | ${f(p.openUs, 2)} | ${perMiB(p.sealUs)} | ${perMiB(p.openUs)} |`);
  }
  for (const part of o.parts) {
    const rows = r.rows.filter((x) => x.path === part);
    out.push('', `#### ${PATH_TITLES[part]}`, '');
    if (part === 'ping') {
      out.push('| configuration | round trips/s | server CPU µs per round trip | client CPU µs per round trip |', '|---|---:|---:|---:|');
      for (const x of rows) {
        const per = (k: 'server' | 'client') => median(x.samples.map((s) => (s[k] * 1000) / o.pings));
        out.push(`| ${x.name} | ${f(median(x.samples.map((s) => o.pings / (s.ms / 1000))), 0)} | ${f(per('server'), 1)} | ${f(per('client'), 1)} |`);
      }
    } else {
      out.push('| configuration | MiB/s | server CPU ms/MiB | client CPU ms/MiB | server spread (min–max) |', '|---|---:|---:|---:|---:|');
      const mib = o.bytes / MiB;
      for (const x of rows) {
        const srv = x.samples.map((s) => s.server / mib);
        out.push(
          `| ${x.name} | ${f(median(x.samples.map((s) => mib / (s.ms / 1000))), 0)} | ${f(median(srv), 2)} | ${f(median(x.samples.map((s) => s.client / mib)), 2)} | ${f(Math.min(...srv), 2)}–${f(Math.max(...srv), 2)} |`,
        );
      }
    }
  }
  out.push('', `(floor bench took ${r.seconds.toFixed(0)} s)`);
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const base = process.argv.includes('--quick') ? FLOOR_QUICK : FLOOR_DEFAULTS;
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const num = (name: string, dflt: number): number => {
    const v = arg(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} takes a positive number`);
    return n;
  };
  const parts = (arg('parts')?.split(',') ?? base.parts) as FloorPart[];
  for (const p of parts) if (!(FLOOR_PARTS as readonly string[]).includes(p)) throw new Error(`unknown part ${p}; parts: ${FLOOR_PARTS.join(', ')}`);
  const readKib = num('read-kib', base.readBytes / 1024);
  const o: FloorOptions = { ...base, parts, rounds: num('rounds', base.rounds), bytes: num('mib', base.bytes / MiB) * MiB, pings: num('pings', base.pings), readBytes: readKib * 1024, nacred: !process.argv.includes('--no-nacred') };
  console.log(formatFloor(await benchFloor(o)));
  process.exit(0);
}
