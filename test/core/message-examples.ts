// Schemas shaped like the coming layers (SFTP v3, the OpenSSH agent, OpenSSH
// certificates), declared with the same combinators those layers will use.
// They exist to test the combinators; they are not the layers themselves.
import { f, message, struct } from '../../src/messages/schema.js';

/** SFTP v3 ATTRS (draft-ietf-secsh-filexfer-02 §5). */
export const SftpAttrs = f.flagged({
  size: f.ifSet(0x1, f.uint64()),
  owner: f.ifSet(0x2, f.struct({ uid: f.uint32(), gid: f.uint32() })),
  permissions: f.ifSet(0x4, f.uint32()),
  times: f.ifSet(0x8, f.struct({ atime: f.uint32(), mtime: f.uint32() })),
  extended: f.ifSet(0x80000000, f.list(f.struct({ type: f.text(1024), data: f.bytes() }))),
});

/** SSH_FXP_ATTRS (105): a request id then ATTRS. */
export const SftpAttrsReply = message(105, 'SSH_FXP_ATTRS', { id: f.uint32(), attrs: SftpAttrs });

/** SSH_FXP_NAME (104): a request id, then `count` entries. */
export const SftpName = message(104, 'SSH_FXP_NAME', {
  id: f.uint32(),
  names: f.list(f.struct({ filename: f.text(4096), longname: f.text(4096), attrs: SftpAttrs }), 10_000),
});

/** SSH_AGENTC_SIGN_REQUEST (13) with an opaque key blob. */
export const AgentSignRequest = message(13, 'SSH_AGENTC_SIGN_REQUEST', {
  keyBlob: f.bytes(16 * 1024),
  data: f.bytes(),
  flags: f.uint32(),
});

/** SSH_AGENT_IDENTITIES_ANSWER (12): `nkeys` then (key blob, comment) pairs. */
export const AgentIdentitiesAnswer = message(12, 'SSH_AGENT_IDENTITIES_ANSWER', {
  keys: f.list(f.struct({ keyBlob: f.bytes(16 * 1024), comment: f.text(4096) }), 2048),
});

/** name/data pairs that run to the end of their string (certificate options). */
const certOptions = f.wrapped(f.repeated(f.struct({ name: f.text(1024), data: f.bytes(16 * 1024) })));

/** An ssh-ed25519-cert-v01@openssh.com blob (OpenSSH PROTOCOL.certkeys). */
export const Ed25519Certificate = struct(
  {
    keyType: f.text(1024),
    nonce: f.bytes(1024),
    publicKey: f.bytes(1024),
    serial: f.uint64(),
    type: f.uint32(),
    keyId: f.text(4096),
    principals: f.wrapped(f.repeated(f.text(1024))),
    validAfter: f.uint64(),
    validBefore: f.uint64(),
    criticalOptions: certOptions,
    extensions: certOptions,
    reserved: f.bytes(1024),
    signatureKey: f.wrapped(f.struct({ keyType: f.text(1024), publicKey: f.bytes(1024) })),
    signature: f.wrapped(f.struct({ algorithm: f.text(1024), signature: f.bytes(1024) })),
  },
  'ed25519 certificate',
);

/** The agent sign request again, its key blob a certificate read as a nested struct. */
export const AgentSignWithCertificate = message(13, 'SSH_AGENTC_SIGN_REQUEST', {
  key: f.wrapped(Ed25519Certificate, 16 * 1024),
  data: f.bytes(),
  flags: f.uint32(),
});
