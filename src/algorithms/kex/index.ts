// Key exchange registry, in OpenSSH 10's default client order. The legacy
// methods (SHA-1, 1024-bit group) come last and are marked insecure, so they
// are only offered when a configuration names them.
import type { KexAlgorithm } from '../types.js';
import { curve25519Kex, nistKex } from './ecdh.js';
import { fixedGroupKex } from './dh.js';
import { groupExchangeKex } from './gex.js';
import { MODP_2048, MODP_4096, MODP_8192, OAKLEY_GROUP_2 } from './groups.js';
import { hybridKex, mlkem768, sntrup761 } from './hybrid.js';

export const kexAlgorithms: readonly KexAlgorithm[] = Object.freeze([
  hybridKex('mlkem768x25519-sha256', mlkem768, 'sha256'),
  hybridKex('sntrup761x25519-sha512', sntrup761, 'sha512'),
  hybridKex('sntrup761x25519-sha512@openssh.com', sntrup761, 'sha512'),
  curve25519Kex('curve25519-sha256'),
  curve25519Kex('curve25519-sha256@libssh.org'),
  nistKex('nistp256'),
  nistKex('nistp384'),
  nistKex('nistp521'),
  groupExchangeKex('diffie-hellman-group-exchange-sha256', 'sha256', true),
  fixedGroupKex('diffie-hellman-group16-sha512', MODP_4096, 'sha512', true),
  fixedGroupKex('diffie-hellman-group18-sha512', MODP_8192, 'sha512', true),
  fixedGroupKex('diffie-hellman-group14-sha256', MODP_2048, 'sha256', true),
  fixedGroupKex('diffie-hellman-group14-sha1', MODP_2048, 'sha1', false),
  fixedGroupKex('diffie-hellman-group1-sha1', OAKLEY_GROUP_2, 'sha1', false),
  groupExchangeKex('diffie-hellman-group-exchange-sha1', 'sha1', false),
]);

const byName = new Map(kexAlgorithms.map((k) => [k.name, k]));

export function findKex(name: string): KexAlgorithm | undefined {
  return byName.get(name);
}

export { gexPreferredBits, chooseGexGroup, GEX_DEFAULT_SIZES } from './gex.js';
