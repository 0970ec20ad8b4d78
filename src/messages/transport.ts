// Transport-layer messages (RFC 4253, RFC 8308, OpenSSH PROTOCOL), declared once.
import { message, f } from './schema.js';

export const MSG = {
  DISCONNECT: 1,
  IGNORE: 2,
  UNIMPLEMENTED: 3,
  DEBUG: 4,
  SERVICE_REQUEST: 5,
  SERVICE_ACCEPT: 6,
  EXT_INFO: 7,
  NEWCOMPRESS: 8,
  KEXINIT: 20,
  NEWKEYS: 21,
  // 30-49 belong to the key exchange method in progress, so methods reuse them
  KEXDH_INIT: 30,
  KEXDH_REPLY: 31,
  KEX_ECDH_INIT: 30,
  KEX_ECDH_REPLY: 31,
  KEX_DH_GEX_REQUEST_OLD: 30,
  KEX_DH_GEX_GROUP: 31,
  KEX_DH_GEX_INIT: 32,
  KEX_DH_GEX_REPLY: 33,
  KEX_DH_GEX_REQUEST: 34,
  PING: 192,
  PONG: 193,
} as const;

export const Disconnect = message(MSG.DISCONNECT, 'DISCONNECT', {
  reason: f.uint32(),
  description: f.text(),
  language: f.text(),
});
export const Ignore = message(MSG.IGNORE, 'IGNORE', { data: f.bytes() });
export const Unimplemented = message(MSG.UNIMPLEMENTED, 'UNIMPLEMENTED', { sequence: f.uint32() });
export const Debug = message(MSG.DEBUG, 'DEBUG', {
  alwaysDisplay: f.boolean(),
  text: f.text(),
  language: f.text(),
});
export const ServiceRequest = message(MSG.SERVICE_REQUEST, 'SERVICE_REQUEST', { service: f.text(1024) });
export const ServiceAccept = message(MSG.SERVICE_ACCEPT, 'SERVICE_ACCEPT', { service: f.text(1024) });

export const KexInit = message(MSG.KEXINIT, 'KEXINIT', {
  cookie: f.fixed(16),
  kexAlgorithms: f.nameList(),
  serverHostKeyAlgorithms: f.nameList(),
  ciphersClientToServer: f.nameList(),
  ciphersServerToClient: f.nameList(),
  macsClientToServer: f.nameList(),
  macsServerToClient: f.nameList(),
  compressionClientToServer: f.nameList(),
  compressionServerToClient: f.nameList(),
  languagesClientToServer: f.nameList(),
  languagesServerToClient: f.nameList(),
  firstKexPacketFollows: f.boolean(),
  reserved: f.uint32(),
});
export const NewKeys = message(MSG.NEWKEYS, 'NEWKEYS', {});

/** Single-round ECDH/DH/KEM exchanges (RFC 5656 §4, RFC 4253 §8, sntrup/mlkem hybrids). */
export const KexEcdhInit = message(MSG.KEX_ECDH_INIT, 'KEX_ECDH_INIT', { clientPublic: f.bytes(64 * 1024) });
export const KexEcdhReply = message(MSG.KEX_ECDH_REPLY, 'KEX_ECDH_REPLY', {
  hostKey: f.bytes(64 * 1024),
  serverPublic: f.bytes(64 * 1024),
  signature: f.bytes(64 * 1024),
});
/** Classic DH (RFC 4253 §8) sends mpints in the same message numbers. */
export const KexDhInit = message(MSG.KEXDH_INIT, 'KEXDH_INIT', { e: f.mpint() });
export const KexDhReply = message(MSG.KEXDH_REPLY, 'KEXDH_REPLY', {
  hostKey: f.bytes(64 * 1024),
  f: f.mpint(),
  signature: f.bytes(64 * 1024),
});

/** Group exchange (RFC 4419). */
export const KexGexRequest = message(MSG.KEX_DH_GEX_REQUEST, 'KEX_DH_GEX_REQUEST', {
  min: f.uint32(),
  n: f.uint32(),
  max: f.uint32(),
});
export const KexGexGroup = message(MSG.KEX_DH_GEX_GROUP, 'KEX_DH_GEX_GROUP', { p: f.mpint(), g: f.mpint() });
export const KexGexInit = message(MSG.KEX_DH_GEX_INIT, 'KEX_DH_GEX_INIT', { e: f.mpint() });
export const KexGexReply = message(MSG.KEX_DH_GEX_REPLY, 'KEX_DH_GEX_REPLY', {
  hostKey: f.bytes(64 * 1024),
  f: f.mpint(),
  signature: f.bytes(64 * 1024),
});

/** OpenSSH's transport-level ping (PROTOCOL §1.9). */
export const Ping = message(MSG.PING, 'PING', { data: f.bytes() });
export const Pong = message(MSG.PONG, 'PONG', { data: f.bytes() });

/** RFC 8308: EXT_INFO carries a count then that many name/value pairs. */
export const ExtInfo = message(MSG.EXT_INFO, 'EXT_INFO', {
  extensions: f.list(f.tuple(f.text(1024), f.bytes())),
});
