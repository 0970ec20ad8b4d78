// Algorithm negotiation from the two KEXINIT messages (RFC 4253 §7.1).
import { KeyExchangeError } from '../../errors.js';
import type { MessageOf } from '../../messages/schema.js';
import type { KexInit } from '../../messages/transport.js';

export type KexInitMessage = MessageOf<typeof KexInit>;

/** Markers that ride in kex_algorithms but are not key exchange methods. */
export const EXT_INFO_C = 'ext-info-c';
export const EXT_INFO_S = 'ext-info-s';
export const STRICT_KEX_C = 'kex-strict-c-v00@openssh.com';
export const STRICT_KEX_S = 'kex-strict-s-v00@openssh.com';
const PSEUDO = new Set([EXT_INFO_C, EXT_INFO_S, STRICT_KEX_C, STRICT_KEX_S]);

export interface DirectionAlgorithms {
  readonly cipher: string;
  /** Null when the cipher is an AEAD one, which authenticates by itself. */
  readonly mac: string | null;
  readonly compression: string;
}

export interface NegotiatedAlgorithms {
  readonly kex: string;
  readonly hostKey: string;
  readonly clientToServer: DirectionAlgorithms;
  readonly serverToClient: DirectionAlgorithms;
}

export interface Negotiation {
  readonly algorithms: NegotiatedAlgorithms;
  /** True when the peer's guessed first kex packet must be ignored (RFC 4253 §7.1). */
  readonly ignoreGuessedPacket: boolean;
}

/**
 * The first of the client's names that the server offers too. Returned as the
 * string of `ours` (the list we sent): the peer's names are slices of the
 * name-list they came in, and a connection keeps what was chosen for its
 * lifetime, so the peer's string would keep its whole list alive with it.
 */
function choose(kind: string, client: readonly string[], server: readonly string[], ours: 'client' | 'server'): string {
  for (const name of client) {
    if (PSEUDO.has(name)) continue;
    const i = server.indexOf(name);
    if (i >= 0) return ours === 'server' ? server[i]! : name;
  }
  throw new KeyExchangeError(
    `no matching ${kind} algorithm: client offers [${client.join(',')}], server offers [${server.join(',')}]`,
  );
}

/**
 * @param isAead tells whether a cipher carries its own authentication, in which
 * case no MAC is negotiated for that direction (as OpenSSH does).
 * @param ours which of the two messages is the one we sent: the names
 * returned are its strings (see `choose`). Either gives the same names.
 */
export function negotiate(
  client: KexInitMessage,
  server: KexInitMessage,
  isAead: (cipher: string) => boolean,
  ours: 'client' | 'server' = 'client',
): Negotiation {
  const kex = choose('key exchange', client.kexAlgorithms, server.kexAlgorithms, ours);
  const hostKey = choose('host key', client.serverHostKeyAlgorithms, server.serverHostKeyAlgorithms, ours);
  const direction = (dir: string, ciphersC: string[], ciphersS: string[], macsC: string[], macsS: string[], compC: string[], compS: string[]): DirectionAlgorithms => {
    const cipher = choose(`cipher (${dir})`, ciphersC, ciphersS, ours);
    const mac = isAead(cipher) ? null : choose(`MAC (${dir})`, macsC, macsS, ours);
    const compression = choose(`compression (${dir})`, compC, compS, ours);
    return { cipher, mac, compression };
  };
  const clientToServer = direction(
    'client to server',
    client.ciphersClientToServer, server.ciphersClientToServer,
    client.macsClientToServer, server.macsClientToServer,
    client.compressionClientToServer, server.compressionClientToServer,
  );
  const serverToClient = direction(
    'server to client',
    client.ciphersServerToClient, server.ciphersServerToClient,
    client.macsServerToClient, server.macsServerToClient,
    client.compressionServerToClient, server.compressionServerToClient,
  );
  return {
    algorithms: { kex, hostKey, clientToServer, serverToClient },
    ignoreGuessedPacket: false,
  };
}

/**
 * RFC 4253 §7.1: a guess is right only when both the kex method and the host
 * key algorithm are each side's first choice.
 */
export function guessWasRight(client: KexInitMessage, server: KexInitMessage): boolean {
  const firstReal = (l: readonly string[]) => l.find((n) => !PSEUDO.has(n));
  return (
    firstReal(client.kexAlgorithms) === firstReal(server.kexAlgorithms) &&
    client.serverHostKeyAlgorithms[0] === server.serverHostKeyAlgorithms[0]
  );
}
