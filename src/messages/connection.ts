// Connection-protocol messages (RFC 4254, OpenSSH PROTOCOL). Messages whose
// tail depends on a type name (channel open, channel and global requests)
// carry it as `rest`; the per-type fields are declared in `channel-types.ts`.
import { message, f } from './schema.js';

export const MSG_CONNECTION = {
  GLOBAL_REQUEST: 80,
  REQUEST_SUCCESS: 81,
  REQUEST_FAILURE: 82,
  CHANNEL_OPEN: 90,
  CHANNEL_OPEN_CONFIRMATION: 91,
  CHANNEL_OPEN_FAILURE: 92,
  CHANNEL_WINDOW_ADJUST: 93,
  CHANNEL_DATA: 94,
  CHANNEL_EXTENDED_DATA: 95,
  CHANNEL_EOF: 96,
  CHANNEL_CLOSE: 97,
  CHANNEL_REQUEST: 98,
  CHANNEL_SUCCESS: 99,
  CHANNEL_FAILURE: 100,
} as const;

export const OpenFailureReason = {
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4,
} as const;

export const GlobalRequest = message(MSG_CONNECTION.GLOBAL_REQUEST, 'GLOBAL_REQUEST', { name: f.text(1024), wantReply: f.boolean(), rest: f.rest() });
export const RequestSuccess = message(MSG_CONNECTION.REQUEST_SUCCESS, 'REQUEST_SUCCESS', { rest: f.rest() });
export const RequestFailure = message(MSG_CONNECTION.REQUEST_FAILURE, 'REQUEST_FAILURE', {});

export const ChannelOpen = message(MSG_CONNECTION.CHANNEL_OPEN, 'CHANNEL_OPEN', {
  type: f.text(1024),
  senderChannel: f.uint32(),
  initialWindow: f.uint32(),
  maxPacket: f.uint32(),
  rest: f.rest(),
});
export const ChannelOpenConfirmation = message(MSG_CONNECTION.CHANNEL_OPEN_CONFIRMATION, 'CHANNEL_OPEN_CONFIRMATION', {
  recipientChannel: f.uint32(),
  senderChannel: f.uint32(),
  initialWindow: f.uint32(),
  maxPacket: f.uint32(),
  rest: f.rest(),
});
export const ChannelOpenFailure = message(MSG_CONNECTION.CHANNEL_OPEN_FAILURE, 'CHANNEL_OPEN_FAILURE', {
  recipientChannel: f.uint32(),
  reason: f.uint32(),
  description: f.text(64 * 1024),
  language: f.text(1024),
});
export const ChannelWindowAdjust = message(MSG_CONNECTION.CHANNEL_WINDOW_ADJUST, 'CHANNEL_WINDOW_ADJUST', { recipientChannel: f.uint32(), bytes: f.uint32() });
export const ChannelData = message(MSG_CONNECTION.CHANNEL_DATA, 'CHANNEL_DATA', { recipientChannel: f.uint32(), data: f.bytes(1024 * 1024) });
export const ChannelExtendedData = message(MSG_CONNECTION.CHANNEL_EXTENDED_DATA, 'CHANNEL_EXTENDED_DATA', {
  recipientChannel: f.uint32(),
  dataType: f.uint32(),
  data: f.bytes(1024 * 1024),
});
export const ChannelEof = message(MSG_CONNECTION.CHANNEL_EOF, 'CHANNEL_EOF', { recipientChannel: f.uint32() });
export const ChannelClose = message(MSG_CONNECTION.CHANNEL_CLOSE, 'CHANNEL_CLOSE', { recipientChannel: f.uint32() });
export const ChannelRequest = message(MSG_CONNECTION.CHANNEL_REQUEST, 'CHANNEL_REQUEST', {
  recipientChannel: f.uint32(),
  type: f.text(1024),
  wantReply: f.boolean(),
  rest: f.rest(),
});
export const ChannelSuccess = message(MSG_CONNECTION.CHANNEL_SUCCESS, 'CHANNEL_SUCCESS', { recipientChannel: f.uint32() });
export const ChannelFailure = message(MSG_CONNECTION.CHANNEL_FAILURE, 'CHANNEL_FAILURE', { recipientChannel: f.uint32() });
