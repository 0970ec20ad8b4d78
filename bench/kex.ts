// Key exchange cost per side: CPU milliseconds (user + system, from
// process.cpuUsage) spent inside the client's and the server's KexExchange
// calls for one complete exchange, median of N runs. The server side includes
// signing H with an Ed25519 host key; nothing verifies the signature here.
// Run: node dist/bench/kex.js [N]
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { kexAlgorithms } from '../src/algorithms/kex/index.js';
import type { KexAlgorithm, KexContext, KexExchange, KexStep, Signer } from '../src/algorithms/types.js';
import { generateHostKey } from '../src/keys/index.js';

export interface KexBenchRow {
  readonly name: string;
  readonly clientMs: number;
  readonly serverMs: number;
  readonly runs: number;
}

// Made on first use, so importing this module costs nothing.
let hostKey: Signer | undefined;

function cpuMs<T>(f: () => T, acc: { ms: number }): T {
  const before = process.cpuUsage();
  const out = f();
  const d = process.cpuUsage(before);
  acc.ms += (d.user + d.system) / 1000;
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One exchange; returns the CPU time each side spent. */
function once(kex: KexAlgorithm): { client: number; server: number } {
  const base = {
    random: (n: number) => new Uint8Array(randomBytes(n)),
    clientVersion: 'SSH-2.0-Nacre_bench',
    serverVersion: 'SSH-2.0-Nacre_bench',
    clientKexInit: Uint8Array.of(20, 1, 2, 3),
    serverKexInit: Uint8Array.of(20, 4, 5, 6),
  };
  hostKey ??= generateHostKey('ssh-ed25519');
  const serverCtx: KexContext = { ...base, hostKey, hostKeyAlgorithm: 'ssh-ed25519' };
  const client = { ms: 0 };
  const server = { ms: 0 };
  const c: KexExchange = kex.createClient(base);
  const s: KexExchange = kex.createServer(serverCtx);
  let toServer = [...cpuMs(() => c.start(), client).send];
  let toClient = [...cpuMs(() => s.start(), server).send];
  let done = 0;
  while (done < 2) {
    const nextClient: Uint8Array[] = [];
    const nextServer: Uint8Array[] = [];
    for (const m of toServer) {
      const step: KexStep = cpuMs(() => s.handle(m), server);
      nextClient.push(...step.send);
      if (step.outcome) done++;
    }
    for (const m of toClient) {
      const step: KexStep = cpuMs(() => c.handle(m), client);
      nextServer.push(...step.send);
      if (step.outcome) done++;
    }
    if (nextClient.length === 0 && nextServer.length === 0 && done < 2) throw new Error(`${kex.name} stalled`);
    toServer = nextServer;
    toClient = nextClient;
  }
  return { client: client.ms, server: server.ms };
}

export function benchKex(runs = 31): KexBenchRow[] {
  const rows: KexBenchRow[] = [];
  for (const kex of kexAlgorithms) {
    // the big finite-field groups take tens of ms; fewer runs keep the bench short
    const n = /group(16|18)|exchange/.test(kex.name) ? Math.max(5, Math.floor(runs / 3)) : runs;
    for (let i = 0; i < 3; i++) once(kex);
    const cs: number[] = [];
    const ss: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = once(kex);
      cs.push(r.client);
      ss.push(r.server);
    }
    rows.push({ name: kex.name, clientMs: median(cs), serverMs: median(ss), runs: n });
  }
  return rows;
}

export function printKexBench(rows: readonly KexBenchRow[]): void {
  console.log(`${'method'.padEnd(40)} ${'client ms'.padStart(10)} ${'server ms'.padStart(10)}  runs`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(40)} ${r.clientMs.toFixed(2).padStart(10)} ${r.serverMs.toFixed(2).padStart(10)}  ${r.runs}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printKexBench(benchKex(Number(process.argv[2] ?? 31)));
}
