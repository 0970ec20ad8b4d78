// Legacy AES-CBC (RFC 4253 §6.3). The chain runs across packets: each packet's
// first block is chained to the previous packet's last ciphertext block, which
// OpenSSL's context keeps for us between update() calls. Off by default
// (secure: false): CBC with encrypt-and-MAC leaks plaintext bits to an attacker
// who can watch for MAC failures (Albrecht et al., 2009).
import type { CipherAlgorithm } from '../types.js';
import { aesBlockAlgorithm } from './aes-ctr.js';

export const aes128Cbc: CipherAlgorithm = aesBlockAlgorithm({ name: 'aes128-cbc', openssl: 'aes-128-cbc', keyLength: 16, secure: false });
export const aes256Cbc: CipherAlgorithm = aesBlockAlgorithm({ name: 'aes256-cbc', openssl: 'aes-256-cbc', keyLength: 32, secure: false });
