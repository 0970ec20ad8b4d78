// The one-round-trip shape shared by ECDH, curve25519, the fixed DH groups and
// the hybrid KEMs: the client sends its public value in message 30, the server
// answers in 31 with its host key, its own value and a signature over H. Each
// family only says how its values are coded and combined.
import { ProtocolError } from '../../errors.js';
import type { Writer } from '../../wire/writer.js';
import type { HashName, KexAlgorithm, KexContext, KexExchange, KexStep, RandomSource } from '../types.js';
import { digestFunction, exchangeHash, serverHostKey, signExchangeHash } from './hash.js';

export interface ReplyFields<V> {
  readonly hostKey: Uint8Array;
  readonly value: V;
  readonly signature: Uint8Array;
}

export interface SingleRoundFamily<V> {
  encodeInit(value: V): Uint8Array;
  decodeInit(payload: Uint8Array): V;
  encodeReply(reply: ReplyFields<V>): Uint8Array;
  decodeReply(payload: Uint8Array): ReplyFields<V>;
  /** Writes Q_C / e or Q_S / f into the exchange hash. */
  hashValue(w: Writer, value: V): void;
  /** Client: make an ephemeral key; `finish` turns the server value into K (encoded). */
  client(random: RandomSource, digest: (parts: readonly Uint8Array[]) => Uint8Array): {
    readonly value: V;
    finish(serverValue: V): Uint8Array;
  };
  /** Server: answer a client value; returns our value and K (encoded). */
  server(
    clientValue: V,
    random: RandomSource,
    digest: (parts: readonly Uint8Array[]) => Uint8Array,
  ): { readonly value: V; readonly sharedSecret: Uint8Array };
}

function done(what: string): never {
  throw new ProtocolError(`${what}: key exchange message after the exchange finished`);
}

export function singleRoundAlgorithm<V>(name: string, hash: HashName, secure: boolean, family: SingleRoundFamily<V>): KexAlgorithm {
  const digest = digestFunction(hash);
  return Object.freeze({
    name,
    hash,
    secure,
    digest,
    createClient(ctx: KexContext): KexExchange {
      let state: 'new' | 'sent' | 'done' = 'new';
      let eph: ReturnType<SingleRoundFamily<V>['client']> | undefined;
      return {
        start(): KexStep {
          if (state !== 'new') throw new ProtocolError(`${name}: start() called twice`);
          eph = family.client(ctx.random, digest);
          state = 'sent';
          return { send: [family.encodeInit(eph.value)] };
        },
        handle(payload: Uint8Array): KexStep {
          if (state === 'new') throw new ProtocolError(`${name}: message before the exchange started`);
          if (state === 'done' || !eph) done(name);
          const reply = family.decodeReply(payload);
          const sharedSecret = eph.finish(reply.value);
          const own = eph.value;
          const exchangeHashValue = exchangeHash(
            digest,
            ctx,
            reply.hostKey,
            (w) => {
              family.hashValue(w, own);
              family.hashValue(w, reply.value);
            },
            sharedSecret,
          );
          state = 'done';
          eph = undefined;
          return {
            send: [],
            outcome: { sharedSecret, exchangeHash: exchangeHashValue, hostKeyBlob: reply.hostKey, signature: reply.signature },
          };
        },
      };
    },
    createServer(ctx: KexContext): KexExchange {
      let state: 'new' | 'waiting' | 'done' = 'new';
      return {
        start(): KexStep {
          if (state !== 'new') throw new ProtocolError(`${name}: start() called twice`);
          state = 'waiting';
          return { send: [] };
        },
        handle(payload: Uint8Array): KexStep {
          if (state === 'new') throw new ProtocolError(`${name}: message before the exchange started`);
          if (state === 'done') done(name);
          const hostKeyBlob = serverHostKey(ctx).hostKey.publicBlob;
          const clientValue = family.decodeInit(payload);
          const answer = family.server(clientValue, ctx.random, digest);
          const h = exchangeHash(
            digest,
            ctx,
            hostKeyBlob,
            (w) => {
              family.hashValue(w, clientValue);
              family.hashValue(w, answer.value);
            },
            answer.sharedSecret,
          );
          const signed = signExchangeHash(ctx, h);
          state = 'done';
          return {
            send: [family.encodeReply({ hostKey: signed.hostKeyBlob, value: answer.value, signature: signed.signature })],
            outcome: { sharedSecret: answer.sharedSecret, exchangeHash: h, hostKeyBlob: signed.hostKeyBlob, signature: signed.signature },
          };
        },
      };
    },
  });
}
