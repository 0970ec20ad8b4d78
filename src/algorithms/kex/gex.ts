// Diffie-Hellman group exchange (RFC 4419): the client asks for a modulus size,
// the server picks a safe-prime group, then an ordinary DH round follows in
// messages 32/33. Sizes follow OpenSSH: requests within [2048, 8192] bits.
import { KeyExchangeError, ProtocolError } from '../../errors.js';
import { KexGexGroup, KexGexInit, KexGexReply, KexGexRequest } from '../../messages/transport.js';
import { bigintToBytes, bytesToBigint, checkDhPublic, dhKeyPair, type DhKeyPair } from '../../crypto/dh.js';
import type { HashName, KexAlgorithm, KexContext, KexExchange, KexStep } from '../types.js';
import { digestFunction, exchangeHash, mpintSecret, serverHostKey, signExchangeHash } from './hash.js';
import { GEX_GROUPS, type ModpGroup } from './groups.js';

export const GEX_MIN_BITS = 2048;
export const GEX_MAX_BITS = 8192;
/** Used when the transport passes no `groupSizes`. */
export const GEX_DEFAULT_SIZES = Object.freeze({ min: GEX_MIN_BITS, preferred: 3072, max: GEX_MAX_BITS });

/**
 * OpenSSH's choice of preferred modulus size for a cipher suite that needs
 * `securityBits` of key (the largest key/block/IV/MAC-key size, in bits), per
 * NIST SP 800-57 equivalences. The transport can feed this into `groupSizes`.
 */
export function gexPreferredBits(securityBits: number): number {
  if (securityBits <= 112) return 2048;
  if (securityBits <= 128) return 3072;
  if (securityBits <= 192) return 7680;
  return 8192;
}

/**
 * Server side: validate a request and pick a group, as OpenSSH's sshd does
 * (bounds clamped to [2048, 8192]; smallest group at least `n`, otherwise the
 * largest below `max`).
 */
export function chooseGexGroup(min: number, n: number, max: number, groups: readonly ModpGroup[] = GEX_GROUPS): ModpGroup {
  if (max < min || n < min || max < n || max < GEX_MIN_BITS) {
    throw new KeyExchangeError(`group exchange request out of range (min ${min}, n ${n}, max ${max})`);
  }
  const lo = Math.max(GEX_MIN_BITS, min);
  const hi = Math.min(GEX_MAX_BITS, max);
  const want = Math.min(GEX_MAX_BITS, Math.max(GEX_MIN_BITS, n));
  const fitting = groups.filter((g) => g.bits >= lo && g.bits <= hi);
  const chosen = fitting.find((g) => g.bits >= want) ?? fitting[fitting.length - 1];
  if (!chosen) throw new KeyExchangeError(`no DH group between ${lo} and ${hi} bits`);
  return chosen;
}

interface GexParams {
  readonly min: number;
  readonly n: number;
  readonly max: number;
  readonly p: bigint;
  readonly g: bigint;
}

function gexHash(
  digest: (parts: readonly Uint8Array[]) => Uint8Array,
  ctx: KexContext,
  hostKey: Uint8Array,
  params: GexParams,
  e: bigint,
  f: bigint,
  k: Uint8Array,
): Uint8Array {
  return exchangeHash(
    digest,
    ctx,
    hostKey,
    (w) => void w.uint32(params.min).uint32(params.n).uint32(params.max).mpint(params.p).mpint(params.g).mpint(e).mpint(f),
    k,
  );
}

function bitLength(v: bigint): number {
  return v <= 0n ? 0 : v.toString(2).length;
}

function gexClient(name: string, digest: (parts: readonly Uint8Array[]) => Uint8Array, ctx: KexContext): KexExchange {
  const sizes = ctx.groupSizes ?? GEX_DEFAULT_SIZES;
  let state: 'new' | 'requested' | 'sentInit' | 'done' = 'new';
  let params: GexParams | undefined;
  let key: DhKeyPair | undefined;
  return {
    start(): KexStep {
      if (state !== 'new') throw new ProtocolError(`${name}: start() called twice`);
      const { min, preferred, max } = sizes;
      // the 8192-bit ceiling (OpenSSH's too) also bounds what a hostile modulus can cost us
      if (!(Number.isInteger(min) && Number.isInteger(preferred) && Number.isInteger(max)) || min < 1 || min > preferred || preferred > max || max > GEX_MAX_BITS) {
        throw new KeyExchangeError(`bad group exchange sizes (min ${min}, n ${preferred}, max ${max})`);
      }
      state = 'requested';
      return { send: [KexGexRequest.encode({ min, n: preferred, max })] };
    },
    handle(payload: Uint8Array): KexStep {
      if (state === 'requested') {
        const { p, g } = KexGexGroup.decode(payload);
        const bits = bitLength(p);
        if (bits < sizes.min || bits > sizes.max) {
          throw new KeyExchangeError(`server sent a ${bits}-bit group, outside the requested ${sizes.min}..${sizes.max}`);
        }
        if ((p & 1n) === 0n) throw new KeyExchangeError('server sent an even DH modulus');
        if (g < 2n || g > p - 2n) throw new KeyExchangeError('server sent a DH generator outside [2, p-2]');
        params = { min: sizes.min, n: sizes.preferred, max: sizes.max, p, g };
        // groups we ship ourselves may use the fast path; anything else goes the careful way
        const known = g === 2n && GEX_GROUPS.some((grp) => grp.bits === bits && bytesToBigint(grp.prime) === p);
        key = dhKeyPair(bigintToBytes(p), g, ctx.random, known);
        state = 'sentInit';
        return { send: [KexGexInit.encode({ e: key.publicValue })] };
      }
      if (state === 'sentInit' && params && key) {
        const reply = KexGexReply.decode(payload);
        const k = mpintSecret(key.computeShared(reply.f));
        const h = gexHash(digest, ctx, reply.hostKey, params, key.publicValue, reply.f, k);
        state = 'done';
        key = undefined;
        return { send: [], outcome: { sharedSecret: k, exchangeHash: h, hostKeyBlob: reply.hostKey, signature: reply.signature } };
      }
      throw new ProtocolError(`${name}: unexpected message ${payload[0] ?? '(empty)'} in state ${state}`);
    },
  };
}

function gexServer(name: string, digest: (parts: readonly Uint8Array[]) => Uint8Array, ctx: KexContext): KexExchange {
  let state: 'new' | 'waitRequest' | 'waitInit' | 'done' = 'new';
  let params: GexParams | undefined;
  return {
    start(): KexStep {
      if (state !== 'new') throw new ProtocolError(`${name}: start() called twice`);
      serverHostKey(ctx);
      state = 'waitRequest';
      return { send: [] };
    },
    handle(payload: Uint8Array): KexStep {
      if (state === 'waitRequest') {
        const req = KexGexRequest.decode(payload);
        const group = chooseGexGroup(req.min, req.n, req.max);
        // the hash covers the request exactly as the client sent it
        params = { min: req.min, n: req.n, max: req.max, p: bytesToBigint(group.prime), g: BigInt(group.generator) };
        state = 'waitInit';
        return { send: [KexGexGroup.encode({ p: params.p, g: params.g })] };
      }
      if (state === 'waitInit' && params) {
        const { e } = KexGexInit.decode(payload);
        checkDhPublic(e, params.p, 'client');
        const key = dhKeyPair(bigintToBytes(params.p), params.g, ctx.random, true);
        const k = mpintSecret(key.computeShared(e));
        const hostKeyBlob = serverHostKey(ctx).hostKey.publicBlob;
        const h = gexHash(digest, ctx, hostKeyBlob, params, e, key.publicValue, k);
        const signed = signExchangeHash(ctx, h);
        state = 'done';
        return {
          send: [KexGexReply.encode({ hostKey: signed.hostKeyBlob, f: key.publicValue, signature: signed.signature })],
          outcome: { sharedSecret: k, exchangeHash: h, hostKeyBlob: signed.hostKeyBlob, signature: signed.signature },
        };
      }
      throw new ProtocolError(`${name}: unexpected message ${payload[0] ?? '(empty)'} in state ${state}`);
    },
  };
}

export function groupExchangeKex(name: string, hash: HashName, secure: boolean): KexAlgorithm {
  const digest = digestFunction(hash);
  return Object.freeze({
    name,
    hash,
    secure,
    digest,
    createClient: (ctx: KexContext) => gexClient(name, digest, ctx),
    createServer: (ctx: KexContext) => gexServer(name, digest, ctx),
  });
}
