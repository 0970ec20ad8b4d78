// The MAC registry (RFC 4253 §6.4, RFC 6668, OpenSSH PROTOCOL §1.6/§1.7), in
// OpenSSH 10's default order. `-etm@openssh.com` variants MAC the encrypted
// packet with its length in clear; the transport decides what `data` is, the
// MAC itself is computed the same way.
//
// What each MAC covers, matching OpenSSH's mac_compute():
//  - HMAC: `uint32 seq || data`.
//  - UMAC: `data` alone, with nonce = seq as a big-endian uint64. OpenSSH does
//    not prepend the sequence number for UMAC (it is already in the nonce).

import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { Umac } from '../crypto/umac.js';
import type { MacAlgorithm, PacketMac } from './types.js';

function checkKey(name: string, key: Uint8Array, length: number): void {
  if (key.length !== length) throw new ProtocolError(`${name} needs a ${length}-byte key, got ${key.length}`);
}

class HmacPacketMac implements PacketMac {
  readonly length: number;
  private readonly hash: string;
  private readonly key: KeyObject;
  /** Reused for every packet: Hmac.update copies its input before returning. */
  private readonly seqBytes = Buffer.alloc(4);

  constructor(hash: string, key: Uint8Array, length: number) {
    this.hash = hash;
    this.key = createSecretKey(key);
    this.length = length;
  }

  compute(seq: number, data: Uint8Array): Uint8Array {
    this.seqBytes.writeUInt32BE(seq >>> 0, 0);
    // Two updates instead of concatenating seq and packet into a fresh buffer.
    return createHmac(this.hash, this.key).update(this.seqBytes).update(data).digest();
  }
}

class UmacPacketMac implements PacketMac {
  readonly length: number;
  private readonly umac: Umac;
  /** uint64 big-endian sequence number; the top half stays zero (seq is a uint32). */
  private readonly nonce = new Uint8Array(8);

  constructor(key: Uint8Array, length: 8 | 16) {
    this.umac = new Umac(key, length);
    this.length = length;
  }

  compute(seq: number, data: Uint8Array): Uint8Array {
    const s = seq >>> 0;
    const n = this.nonce;
    n[4] = s >>> 24;
    n[5] = (s >>> 16) & 0xff;
    n[6] = (s >>> 8) & 0xff;
    n[7] = s & 0xff;
    return this.umac.mac(data, n);
  }
}

function hmac(name: string, hash: 'sha1' | 'sha256' | 'sha512', length: number, etm: boolean, secure: boolean): MacAlgorithm {
  return {
    name,
    secure,
    keyLength: length,
    length,
    etm,
    create(key: Uint8Array): PacketMac {
      checkKey(name, key, length);
      return new HmacPacketMac(hash, key, length);
    },
  };
}

function umac(name: string, length: 8 | 16, etm: boolean): MacAlgorithm {
  return {
    name,
    secure: true,
    keyLength: 16,
    length,
    etm,
    create(key: Uint8Array): PacketMac {
      checkKey(name, key, 16);
      return new UmacPacketMac(key, length);
    },
  };
}

export const macAlgorithms: readonly MacAlgorithm[] = [
  umac('umac-64-etm@openssh.com', 8, true),
  umac('umac-128-etm@openssh.com', 16, true),
  hmac('hmac-sha2-256-etm@openssh.com', 'sha256', 32, true, true),
  hmac('hmac-sha2-512-etm@openssh.com', 'sha512', 64, true, true),
  hmac('hmac-sha1-etm@openssh.com', 'sha1', 20, true, false),
  umac('umac-64@openssh.com', 8, false),
  umac('umac-128@openssh.com', 16, false),
  hmac('hmac-sha2-256', 'sha256', 32, false, true),
  hmac('hmac-sha2-512', 'sha512', 64, false, true),
  hmac('hmac-sha1', 'sha1', 20, false, false),
];

const byName = new Map(macAlgorithms.map((m) => [m.name, m]));

export function findMac(name: string): MacAlgorithm | undefined {
  return byName.get(name);
}
