// The names of the algorithms Nacre implements, and nothing else: what the
// ssh_config reader checks Ciphers, KexAlgorithms, MACs, HostKeyAlgorithms and
// PubkeyAcceptedAlgorithms against without loading the implementations (the
// key exchanges and ciphers cost a tool that only needs its config, such as a
// command through a shared connection, most of its start-up). A core test
// keeps these lists equal to the registries' names, in their order.

/** kexAlgorithms' names. */
export const KEX_NAMES: readonly string[] = Object.freeze([
  'mlkem768x25519-sha256',
  'sntrup761x25519-sha512',
  'sntrup761x25519-sha512@openssh.com',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
  'diffie-hellman-group14-sha1',
  'diffie-hellman-group1-sha1',
  'diffie-hellman-group-exchange-sha1',
]);

/** cipherAlgorithms' names. */
export const CIPHER_NAMES: readonly string[] = Object.freeze([
  'chacha20-poly1305@openssh.com',
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
  'aes128-cbc',
  'aes256-cbc',
]);

/** macAlgorithms' names. */
export const MAC_NAMES: readonly string[] = Object.freeze([
  'umac-64-etm@openssh.com',
  'umac-128-etm@openssh.com',
  'hmac-sha2-256-etm@openssh.com',
  'hmac-sha2-512-etm@openssh.com',
  'hmac-sha1-etm@openssh.com',
  'umac-64@openssh.com',
  'umac-128@openssh.com',
  'hmac-sha2-256',
  'hmac-sha2-512',
  'hmac-sha1',
]);

/** The plain (not certificate, not security key) public key algorithms, in preference order. */
const PLAIN_KEY_NAMES: readonly string[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** allHostKeyAlgorithms' names (certificate algorithms first). */
export const HOST_KEY_NAMES: readonly string[] = Object.freeze([
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
  'ssh-rsa-cert-v01@openssh.com',
  ...PLAIN_KEY_NAMES,
]);

/** userKeyAlgorithms' names. */
export const USER_KEY_NAMES: readonly string[] = Object.freeze([
  ...PLAIN_KEY_NAMES,
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'webauthn-sk-ecdsa-sha2-nistp256@openssh.com',
]);
