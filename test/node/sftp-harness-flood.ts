// A raw SFTP client for the server's flood tests, written against the codec
// directly: it sends whatever requests it is given, as fast as the channel
// takes them, and reads replies only when asked to, so a test can pile up
// thousands of requests behind unread replies and then check what the
// server held on to, and that every request still gets exactly one answer.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Client } from '../../src/client/client.js';
import type { Channel } from '../../src/io/node/channel.js';
import { SFTP_VERSION, MAX_RECEIVE_PACKET } from '../../src/sftp/constants.js';
import { SftpFramer, frame } from '../../src/sftp/framing.js';
import { FxpInit, FxpVersion, decodeResponse, encodeRequest, type SftpRequest, type SftpResponse } from '../../src/sftp/messages.js';

export interface RawSftp {
  readonly channel: Channel;
  readonly extensions: Map<string, string>;
  /** Queues a request on the channel (never waits: the channel buffers what the window does not take). */
  send(req: SftpRequest): void;
  /** Queues raw bytes (a malformed packet, say). */
  sendRaw(bytes: Uint8Array): void;
  /** The next reply, reading from the channel until one is whole; null when the channel ended. */
  next(timeoutMs?: number): Promise<SftpResponse | null>;
  /** Bytes written but not yet taken by the channel (waiting for the server's window). */
  readonly unsent: number;
  /** Bytes of replies the channel holds that this client has not read. */
  readonly unread: number;
  close(): void;
}

/** Opens the `sftp` subsystem on `client` and does INIT/VERSION. */
export async function rawSftp(client: Client): Promise<RawSftp> {
  const channel = await client.subsystem('sftp');
  channel.on('error', () => undefined);
  const framer = new SftpFramer(MAX_RECEIVE_PACKET);
  let ended = false;
  channel.on('end', () => (ended = true));
  channel.on('close', () => (ended = true));

  /** The next whole payload, pulling chunks only while one is wanted. */
  const nextPayload = async (timeoutMs: number): Promise<Uint8Array | null> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const p = framer.next();
      if (p !== undefined) return p;
      const chunk = channel.read() as Buffer | null;
      if (chunk !== null) {
        framer.push(chunk);
        continue;
      }
      if (ended || channel.readableEnded || channel.destroyed) return null;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no SFTP reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          channel.off('readable', done);
          channel.off('end', done);
          channel.off('close', done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, 200));
        channel.once('readable', done);
        channel.once('end', done);
        channel.once('close', done);
      });
    }
  };

  channel.write(frame(FxpInit.encode({ version: SFTP_VERSION, extensions: [] })));
  const first = await nextPayload(10_000);
  if (first === null) throw new Error('the server closed the sftp channel before VERSION');
  const version = FxpVersion.decode(first);
  const extensions = new Map(version.extensions.map(([k, v]) => [k, Buffer.from(v).toString('utf8')]));
  return {
    channel,
    extensions,
    send: (req) => void channel.write(frame(encodeRequest(req))),
    sendRaw: (bytes) => void channel.write(bytes),
    async next(timeoutMs = 10_000) {
      const p = await nextPayload(timeoutMs);
      return p === null ? null : decodeResponse(p);
    },
    get unsent() {
      return channel.writableLength;
    },
    get unread() {
      return channel.readableLength + framer.pending;
    },
    close: () => void channel.destroy(),
  };
}

let gcFn: (() => void) | null = null;
/** Collects garbage (so heap figures mean live memory); turns on --expose-gc once. */
export function collectGarbage(): void {
  if (gcFn === null) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

/** Live memory of this process: JS heap plus ArrayBuffers (where Buffers live), after a collection. */
export function liveBytes(): number {
  collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Resolves once `value()` stayed the same for `quietMs` (or after `maxMs`). */
export async function settled(value: () => number, quietMs = 300, maxMs = 10_000): Promise<number> {
  const until = Date.now() + maxMs;
  let last = value();
  let since = Date.now();
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    const v = value();
    if (v !== last) {
      last = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
  return last;
}
