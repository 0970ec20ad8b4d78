// User authentication messages (RFC 4252, RFC 4256, OpenSSH PROTOCOL). The
// method-specific tail of USERAUTH_REQUEST is declared per method; decode the
// common head first with `UserauthRequestHead`, then the tail by method name.
import { message, f } from './schema.js';

export const MSG_USERAUTH = {
  REQUEST: 50,
  FAILURE: 51,
  SUCCESS: 52,
  BANNER: 53,
  // 60-79 belong to the method in progress, so methods reuse them
  PK_OK: 60,
  PASSWD_CHANGEREQ: 60,
  INFO_REQUEST: 60,
  INFO_RESPONSE: 61,
} as const;

/** Fields every USERAUTH_REQUEST starts with. */
const requestHead = {
  username: f.text(1024),
  service: f.text(1024),
  method: f.text(1024),
} as const;

/** publickey requests (RFC 4252 §7) share this much before their variations. */
const publickeyHead = {
  ...requestHead,
  signed: f.boolean(),
  algorithm: f.text(1024),
  publicKey: f.bytes(16 * 1024),
} as const;

/** Head of every USERAUTH_REQUEST; `rest` holds the method-specific fields. */
export const UserauthRequestHead = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...requestHead,
  rest: f.rest(),
});

export const UserauthNone = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...requestHead,
});

export const UserauthPassword = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...requestHead,
  change: f.boolean(),
  password: f.text(1024),
});

export const UserauthPasswordChange = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...requestHead,
  change: f.boolean(),
  oldPassword: f.text(1024),
  newPassword: f.text(1024),
});

/** publickey query (no signature) — RFC 4252 §7. */
export const UserauthPublickeyQuery = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...publickeyHead,
});

/** publickey with signature. */
export const UserauthPublickeySigned = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...publickeyHead,
  signature: f.bytes(16 * 1024),
});

/** publickey-hostbound-v00@openssh.com: the server host key follows the user key. */
export const UserauthHostboundQuery = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...publickeyHead,
  hostKey: f.bytes(16 * 1024),
});

export const UserauthHostboundSigned = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...publickeyHead,
  hostKey: f.bytes(16 * 1024),
  signature: f.bytes(16 * 1024),
});

/** keyboard-interactive (RFC 4256 §3.1). */
export const UserauthKeyboardInteractive = message(MSG_USERAUTH.REQUEST, 'USERAUTH_REQUEST', {
  ...requestHead,
  language: f.text(1024),
  submethods: f.text(1024),
});

export const UserauthFailure = message(MSG_USERAUTH.FAILURE, 'USERAUTH_FAILURE', {
  methods: f.nameList(),
  partialSuccess: f.boolean(),
});
export const UserauthSuccess = message(MSG_USERAUTH.SUCCESS, 'USERAUTH_SUCCESS', {});
export const UserauthBanner = message(MSG_USERAUTH.BANNER, 'USERAUTH_BANNER', { message: f.text(64 * 1024), language: f.text(1024) });
export const UserauthPkOk = message(MSG_USERAUTH.PK_OK, 'USERAUTH_PK_OK', { algorithm: f.text(1024), publicKey: f.bytes(16 * 1024) });
export const UserauthPasswdChangereq = message(MSG_USERAUTH.PASSWD_CHANGEREQ, 'USERAUTH_PASSWD_CHANGEREQ', { prompt: f.text(64 * 1024), language: f.text(1024) });

/**
 * sshd refuses more than 100 keyboard-interactive replies; the same bound
 * keeps both our sides from building huge prompt lists.
 */
export const MAX_PROMPTS = 100;
const MAX_PROMPT_TEXT = 64 * 1024;

/** Keyboard-interactive prompts (RFC 4256 §3.2): a counted list of (prompt, echo). */
export const UserauthInfoRequest = message(MSG_USERAUTH.INFO_REQUEST, 'USERAUTH_INFO_REQUEST', {
  name: f.text(64 * 1024),
  instruction: f.text(64 * 1024),
  language: f.text(1024),
  prompts: f.list(f.struct({ prompt: f.text(MAX_PROMPT_TEXT), echo: f.boolean() }), MAX_PROMPTS),
});
/** The answers, one per prompt (RFC 4256 §3.4). */
export const UserauthInfoResponse = message(MSG_USERAUTH.INFO_RESPONSE, 'USERAUTH_INFO_RESPONSE', {
  responses: f.list(f.text(MAX_PROMPT_TEXT), MAX_PROMPTS),
});
