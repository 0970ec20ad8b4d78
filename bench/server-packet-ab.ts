// Two builds' packet path side by side in one process, for a change's before
// and after when the machine is shared: each build's PacketStream seals a
// CHANNEL_DATA packet (9-byte head, data from one of 64 buffers in turn, as
// fresh socket reads would be) and a second stream of the same build opens it
// again (the sealed chunks joined as one socket read would bring them). The
// builds take turns in small batches, the order flipped every batch, so
// whatever else runs on the machine weighs on both alike; each batch's
// process CPU per packet is one sample. The same build against itself shows
// what the tool can resolve (about ±1% with 20 s).
//
//   node dist/bench/server-packet-ab.js <dist A> <dist B> [--cipher=aes128-gcm|chacha20] [--seconds=20] [--data=32755]
//
// A build is a `dist` folder (copy the old one aside before changing the
// code: `cp -r dist /tmp/old/dist`, with a `node_modules` link and
// `package.json` next to it).
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Stream {
  readonly outbound: Uint8Array[];
  write(payload: Uint8Array, tail?: Uint8Array): void;
  push(bytes: Uint8Array, lent: boolean): void;
  read(): { payload: Uint8Array } | null;
  setOutgoing(protection: unknown, compression: string, byteLimit: number, resetSeq: boolean): void;
  setIncoming(protection: unknown, compression: string, byteLimit: number, resetSeq: boolean): void;
}

interface Cipher {
  readonly name: string;
  readonly aead: boolean;
  readonly keyLength: number;
  readonly ivLength: number;
  create(key: Uint8Array, iv: Uint8Array, direction: 'encrypt' | 'decrypt'): unknown;
}

interface Pair {
  readonly tx: Stream;
  readonly rx: Stream;
}

function option(name: string, fallback: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : a.slice(name.length + 3);
}

async function load(dist: string, cipherName: string): Promise<Pair> {
  const at = (path: string) => import(pathToFileURL(resolve(dist, path)).href);
  const { PacketStream } = (await at('src/core/transport/packet-stream.js')) as { PacketStream: new (random: (n: number) => Uint8Array, rekey: unknown) => Stream };
  const { RekeyPolicy } = (await at('src/core/kex/rekey.js')) as { RekeyPolicy: new (limits: object, now: number) => unknown };
  const ciphers = (await at('src/algorithms/cipher/index.js')) as { cipherAlgorithms?: readonly Cipher[] };
  const cipher = ciphers.cipherAlgorithms?.find((c) => c.name.startsWith(cipherName));
  if (!cipher) throw new Error(`${dist}: no cipher named ${cipherName}…`);
  // The AEAD ciphers carry their own tag; the others would need a MAC here too.
  if (!cipher.aead) throw new Error(`${cipher.name}: only the AEAD ciphers (aes128-gcm, aes256-gcm, chacha20) are supported`);
  const key = randomBytes(cipher.keyLength);
  const iv = randomBytes(cipher.ivLength);
  const random = (n: number): Uint8Array => randomBytes(n);
  const tx = new PacketStream(random, new RekeyPolicy({}, 0));
  const rx = new PacketStream(random, new RekeyPolicy({}, 0));
  tx.setOutgoing({ kind: 'aead', cipher: cipher.create(key, iv, 'encrypt') }, 'none', 2 ** 52, false);
  rx.setIncoming({ kind: 'aead', cipher: cipher.create(key, iv, 'decrypt') }, 'none', 2 ** 52, false);
  return { tx, rx };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const quantile = (xs: readonly number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!;

async function main(): Promise<void> {
  const [distA, distB] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (!distA || !distB) throw new Error('usage: server-packet-ab.js <dist A> <dist B> [--cipher=aes128-gcm|chacha20] [--seconds=20] [--data=32755]');
  const cipherName = option('cipher', 'aes128-gcm');
  const seconds = Number(option('seconds', '20'));
  const dataLength = Number(option('data', String(32768 - 9 - 4)));
  const head = new Uint8Array(9);
  head[0] = 94;
  const datas: Uint8Array[] = [];
  for (let i = 0; i < 64; i++) {
    datas.push(randomBytes(dataLength));
    randomBytes(777 + 37 * i); // spreads the buffers' addresses
  }
  let next = 0;
  const run = ({ tx, rx }: Pair, packets: number): void => {
    for (let i = 0; i < packets; i++) {
      tx.write(head, datas[next++ & 63]);
      if (tx.outbound.length >= 4 || i === packets - 1) {
        rx.push(Buffer.concat(tx.outbound), false);
        tx.outbound.length = 0;
        for (let r = rx.read(); r; r = rx.read()) {
          if (r.payload.length !== 9 + dataLength) throw new Error(`opened ${r.payload.length} bytes, sealed ${9 + dataLength}`);
        }
      }
    }
  };
  const a = await load(distA, cipherName);
  const b = await load(distB, cipherName);
  run(a, 500);
  run(b, 500);
  const samples: [number[], number[]] = [[], []];
  const batch = 40;
  const end = Date.now() + seconds * 1000;
  for (let flip = false; Date.now() < end; flip = !flip) {
    for (const which of flip ? [1, 0] : [0, 1]) {
      const before = process.cpuUsage();
      run(which === 0 ? a : b, batch);
      const used = process.cpuUsage(before);
      samples[which]!.push((used.user + used.system) / batch);
    }
  }
  const [sa, sb] = samples;
  const line = (name: string, xs: number[]) =>
    `${name}: median ${median(xs).toFixed(2)} µs per packet (quartiles ${quantile(xs, 0.25).toFixed(2)}–${quantile(xs, 0.75).toFixed(2)}, 10th percentile ${quantile(xs, 0.1).toFixed(2)})`;
  console.log(`${cipherName}, seal + open of ${9 + dataLength}-byte payloads, ${sa.length} batches of ${batch} each`);
  console.log(line(`A ${distA}`, sa));
  console.log(line(`B ${distB}`, sb));
  console.log(`B / A: median ${(median(sb) / median(sa)).toFixed(3)}, 10th percentile ${(quantile(sb, 0.1) / quantile(sa, 0.1)).toFixed(3)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
