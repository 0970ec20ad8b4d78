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

export const GlobalRequest = message(80, 'GLOBAL_REQUEST', { name: f.text(1024), wantReply: f.boolean(), rest: f.rest() });
export const RequestSuccess = message(81, 'REQUEST_SUCCESS', { rest: f.rest() });
export const RequestFailure = message(82, 'REQUEST_FAILURE', {});

export const ChannelOpen = message(90, 'CHANNEL_OPEN', {
  type: f.text(1024),
  senderChannel: f.uint32(),
  initialWindow: f.uint32(),
  maxPacket: f.uint32(),
  rest: f.rest(),
});
export const ChannelOpenConfirmation = message(91, 'CHANNEL_OPEN_CONFIRMATION', {
  recipientChannel: f.uint32(),
  senderChannel: f.uint32(),
  initialWindow: f.uint32(),
  maxPacket: f.uint32(),
  rest: f.rest(),
});
export const ChannelOpenFailure = message(92, 'CHANNEL_OPEN_FAILURE', {
  recipientChannel: f.uint32(),
  reason: f.uint32(),
  description: f.text(64 * 1024),
  language: f.text(1024),
});
export const ChannelWindowAdjust = message(93, 'CHANNEL_WINDOW_ADJUST', { recipientChannel: f.uint32(), bytes: f.uint32() });
export const ChannelData = message(94, 'CHANNEL_DATA', { recipientChannel: f.uint32(), data: f.bytes(1024 * 1024) });
export const ChannelExtendedData = message(95, 'CHANNEL_EXTENDED_DATA', {
  recipientChannel: f.uint32(),
  dataType: f.uint32(),
  data: f.bytes(1024 * 1024),
});
export const ChannelEof = message(96, 'CHANNEL_EOF', { recipientChannel: f.uint32() });
export const ChannelClose = message(97, 'CHANNEL_CLOSE', { recipientChannel: f.uint32() });
export const ChannelRequest = message(98, 'CHANNEL_REQUEST', {
  recipientChannel: f.uint32(),
  type: f.text(1024),
  wantReply: f.boolean(),
  rest: f.rest(),
});
export const ChannelSuccess = message(99, 'CHANNEL_SUCCESS', { recipientChannel: f.uint32() });
export const ChannelFailure = message(100, 'CHANNEL_FAILURE', { recipientChannel: f.uint32() });
