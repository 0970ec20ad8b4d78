// The processes of the floor bench (bench/floor.ts), each forked by it with
// an IPC channel and told what to be by its first message:
//   - `server`: the relay under measurement, nacred's place. On `dial` it
//     connects to the client relay's link port and to the target (the bench's
//     source or sink), or spawns `head -c N /dev/zero` into a pipe instead of
//     the target (exec), and relays: target/pipe -> seal -> link (download),
//     link -> open -> target (upload).
//   - `client`: the other end, `ssh`'s place: accepts the link and the bench's
//     application socket, pairs them in order, and relays the other way round.
//   - `pingserver` / `pingclient`: small request/response turns over one link.
// The server side reads every socket it reads with `onread` into a reused
// buffer (the cheapest read Node has; it dials both its sockets because an
// accepted socket cannot have `onread`) unless `freshLink` asks for a plain
// `'data'` reader on the link, as an accepted socket (nacred's SSH socket) has.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { connect, createServer, Socket, type AddressInfo, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloorOpener, FloorSealer, MAX_DATA, type FloorMode } from './floor-frame.js';

export type PeerInit =
  | { readonly role: 'server'; readonly mode: FloorMode; readonly freshLink: boolean; readonly readBytes: number }
  | { readonly role: 'client'; readonly mode: FloorMode }
  | { readonly role: 'pingserver'; readonly mode: FloorMode; readonly freshLink: boolean; readonly reply: number }
  | { readonly role: 'pingclient'; readonly mode: FloorMode; readonly request: number };

/** Messages after init: the server's `dial`, the ping client's `run`. */
export type PeerCommand =
  | { readonly cmd: 'dial'; readonly link: number; readonly target?: number; readonly execBytes?: number }
  | { readonly cmd: 'run'; readonly count: number };

/** What a peer answers: `ready` after init (with its ports), `exited` after an exec's program exited, `ran` after a ping run. */
export type PeerReply =
  | { readonly kind: 'ready'; readonly link?: number; readonly app?: number }
  | { readonly kind: 'exited'; readonly code: number | null }
  | { readonly kind: 'ran'; readonly ms: number }
  | { readonly kind: 'error'; readonly message: string };

const send = (m: PeerReply): void => void process.send?.(m);
const fail = (e: unknown): void => {
  send({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
};

/** Both ways half-closed ends the pair; an error or close on one side ends the other. */
function tie(a: Socket, b: Socket): void {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    x.on('error', () => y.destroy());
    x.once('close', () => {
      if (y.writableLength === 0) y.destroy();
      else y.once('drain', () => y.destroy());
    });
  }
}

/** Sends `chunks` (one packet or more) as one writev; false when the socket asks us to wait. */
function writeAll(s: Socket, chunks: readonly Buffer[]): boolean {
  let ok = true;
  for (const c of chunks) ok = s.write(c);
  return ok;
}

/**
 * The sealing direction of a relay: what `from` reads goes out on `to` as
 * packets. `from` reads into `sealer.data` (in place, no copy) when reads are
 * at most one packet, else into one bigger buffer whose packets are copied
 * into the frame.
 */
function sealingReads(sealer: FloorSealer, to: Socket, readBytes: number, from: () => Socket): OnReadOpts {
  const wait = (): false => {
    const s = from();
    s.pause();
    to.once('drain', () => s.resume());
    return false;
  };
  if (readBytes <= MAX_DATA) {
    return {
      buffer: sealer.data.subarray(0, readBytes),
      callback: (n) => {
        to.cork();
        const ok = writeAll(to, sealer.seal(n));
        to.uncork();
        return ok || wait();
      },
    };
  }
  const big = Buffer.alloc(readBytes);
  return {
    buffer: big,
    callback: (n) => {
      to.cork();
      let ok = true;
      for (let at = 0; at < n; at += MAX_DATA) {
        const k = Math.min(MAX_DATA, n - at);
        big.copy(sealer.data, 0, at, at + k);
        ok = writeAll(to, sealer.seal(k));
      }
      to.uncork();
      return ok || wait();
    },
  };
}

/** The opening direction: packets read from the link, their data written to `to`. */
function opening(mode: FloorMode, to: () => Socket, from: () => Socket): { opener: FloorOpener; read: (b: Buffer, n: number) => boolean } {
  let blocked = false;
  const opener = new FloorOpener(mode, (data) => {
    if (!to().write(data)) blocked = true;
  });
  return {
    opener,
    read(b, n) {
      const t = to();
      t.cork();
      opener.feed(b, n);
      t.uncork();
      if (!blocked) return true;
      blocked = false;
      const s = from();
      s.pause();
      t.once('drain', () => s.resume());
      return false;
    },
  };
}

const LINK_READS = Buffer.alloc(256 * 1024);

function dialLink(port: number, fresh: boolean, read: (b: Buffer, n: number) => boolean): Socket {
  let s: Socket;
  if (fresh) {
    s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.on('data', (d: Buffer) => void read(d, d.length));
  } else {
    s = connect({ port, host: '127.0.0.1', allowHalfOpen: true, onread: { buffer: LINK_READS, callback: (n, b) => read(b as Buffer, n) } });
  }
  s.setNoDelay(true);
  return s;
}

/**
 * A pipe for a child's stdout, Node having no pipe(): a FIFO in a private
 * directory, opened at both ends, then unlinked and the directory removed at
 * once (nothing is left in the temp directory, whatever happens to us later).
 */
function pipeForChild(): [number, number] {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-floor-'));
  try {
    const path = join(dir, 'p');
    const r = spawnSync('mkfifo', ['-m', '600', path]);
    if (r.status !== 0) throw new Error(`mkfifo: ${r.stderr?.toString()}`);
    const ours = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const theirs = openSync(path, fsConstants.O_WRONLY);
    return [ours, theirs];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function server(init: Extract<PeerInit, { role: 'server' }>): void {
  process.on('message', (m: PeerCommand) => {
    if (m.cmd !== 'dial') return;
    try {
      const sealer = new FloorSealer(init.mode);
      let link: Socket;
      let source: Socket;
      if (m.execBytes !== undefined) {
        const [ours, theirs] = pipeForChild();
        const child = spawn('head', ['-c', String(m.execBytes), '/dev/zero'], { stdio: ['ignore', theirs, 'inherit'] });
        closeSync(theirs);
        child.once('exit', (code) => send({ kind: 'exited', code }));
        link = dialLink(m.link, true, () => true);
        // `onread` is an option of `new net.Socket()` in Node's documentation; @types/node lists it for connect() only.
        const options: SocketConstructorOpts & { onread: OnReadOpts } = { fd: ours, readable: true, writable: false, onread: sealingReads(sealer, link, init.readBytes, () => source) };
        source = new Socket(options);
        source.once('end', () => link.end());
        source.on('error', () => link.destroy());
        return;
      }
      const up = opening(init.mode, () => source, () => link);
      link = dialLink(m.link, init.freshLink, up.read);
      source = connect({ port: m.target!, host: '127.0.0.1', allowHalfOpen: true, onread: sealingReads(sealer, link, init.readBytes, () => source) });
      source.once('end', () => link.end());
      link.once('end', () => source.end());
      tie(link, source);
    } catch (e) {
      fail(e);
    }
  });
  send({ kind: 'ready' });
}

/** The client relay: plain sockets (its costs are reported, not the floor). */
function client(init: Extract<PeerInit, { role: 'client' }>): void {
  const links: Socket[] = [];
  const apps: Socket[] = [];
  const pair = (): void => {
    while (links.length && apps.length) {
      const link = links.shift()!;
      const app = apps.shift()!;
      link.setNoDelay(true);
      const sealer = new FloorSealer(init.mode);
      const down = opening(init.mode, () => app, () => link);
      link.on('data', (d: Buffer) => void down.read(d, d.length));
      app.on('data', (d: Buffer) => {
        link.cork();
        let ok = true;
        for (let at = 0; at < d.length; at += MAX_DATA) {
          const k = Math.min(MAX_DATA, d.length - at);
          d.copy(sealer.data, 0, at, at + k);
          ok = writeAll(link, sealer.seal(k));
        }
        link.uncork();
        if (!ok) {
          app.pause();
          link.once('drain', () => app.resume());
        }
      });
      link.once('end', () => {
        if (!down.opener.clean) fail(new Error('link ended inside a packet'));
        app.end();
      });
      app.once('end', () => link.end());
      tie(link, app);
      link.resume();
      app.resume();
    }
  };
  const listen = (into: Socket[]): Promise<number> =>
    new Promise((resolve) => {
      const srv = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
        into.push(s);
        pair();
      });
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port));
    });
  void Promise.all([listen(links), listen(apps)]).then(([link, app]) => send({ kind: 'ready', link, app }));
}

function pingServer(init: Extract<PeerInit, { role: 'pingserver' }>): void {
  process.on('message', (m: PeerCommand) => {
    if (m.cmd !== 'dial') return;
    const sealer = new FloorSealer(init.mode);
    sealer.data.fill(0x61, 0, init.reply);
    let link: Socket;
    const opener = new FloorOpener(init.mode, () => void writeAll(link, sealer.seal(init.reply)));
    link = dialLink(m.link, init.freshLink, (b, n) => {
      link.cork();
      opener.feed(b, n);
      link.uncork();
      return true;
    });
    link.on('error', () => link.destroy());
  });
  send({ kind: 'ready' });
}

function pingClient(init: Extract<PeerInit, { role: 'pingclient' }>): void {
  let link: Socket | null = null;
  const sealer = new FloorSealer(init.mode);
  sealer.data.fill(0x71, 0, init.request);
  let left = 0;
  let started = 0;
  const opener = new FloorOpener(init.mode, () => {
    if (--left > 0) return void writeAll(link!, sealer.seal(init.request));
    send({ kind: 'ran', ms: performance.now() - started });
  });
  const srv = createServer((s) => {
    link = s;
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => opener.feed(d, d.length));
    s.on('error', () => s.destroy());
  });
  srv.listen(0, '127.0.0.1', () => send({ kind: 'ready', link: (srv.address() as AddressInfo).port }));
  process.on('message', (m: PeerCommand) => {
    if (m.cmd !== 'run' || !link) return fail(new Error('run before the link'));
    left = m.count;
    started = performance.now();
    writeAll(link, sealer.seal(init.request));
  });
}

if (process.send) {
  // The parent dying takes its peers along; SIGTERM (the parent's stop) exits through 'exit' handlers.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.once('message', (init: PeerInit) => {
    try {
      if (init.role === 'server') server(init);
      else if (init.role === 'client') client(init);
      else if (init.role === 'pingserver') pingServer(init);
      else pingClient(init);
    } catch (e) {
      fail(e);
    }
  });
}
