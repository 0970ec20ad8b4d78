// The type-specific tails of CHANNEL_OPEN, CHANNEL_REQUEST and GLOBAL_REQUEST
// (RFC 4254 and OpenSSH PROTOCOL), each declared once as a struct named after
// its type.
import { f, struct, type Fields, type Struct } from './schema.js';

export type Tail<F extends Fields> = Struct<F>;

/** The fields a channel or global request of type `name` carries after the common head. */
export function tail<F extends Fields>(name: string, fields: F): Tail<F> {
  return struct(fields, name);
}

// ---- channel open types
export const OpenSession = tail('session', {});
export const OpenDirectTcpip = tail('direct-tcpip', {
  host: f.text(1024),
  port: f.uint32(),
  originatorAddress: f.text(1024),
  originatorPort: f.uint32(),
});
export const OpenForwardedTcpip = tail('forwarded-tcpip', {
  connectedAddress: f.text(1024),
  connectedPort: f.uint32(),
  originatorAddress: f.text(1024),
  originatorPort: f.uint32(),
});
export const OpenDirectStreamlocal = tail('direct-streamlocal@openssh.com', {
  socketPath: f.text(4096),
  reserved: f.text(1024),
  reservedPort: f.uint32(),
});
export const OpenForwardedStreamlocal = tail('forwarded-streamlocal@openssh.com', {
  socketPath: f.text(4096),
  reserved: f.text(1024),
});
export const OpenX11 = tail('x11', { originatorAddress: f.text(1024), originatorPort: f.uint32() });
export const OpenAuthAgent = tail('auth-agent@openssh.com', {});

// ---- channel requests
export const ReqPty = tail('pty-req', {
  term: f.text(1024),
  columns: f.uint32(),
  rows: f.uint32(),
  widthPixels: f.uint32(),
  heightPixels: f.uint32(),
  modes: f.bytes(64 * 1024),
});
export const ReqX11 = tail('x11-req', {
  singleConnection: f.boolean(),
  authProtocol: f.text(1024),
  authCookie: f.text(1024),
  screen: f.uint32(),
});
export const ReqEnv = tail('env', { name: f.text(64 * 1024), value: f.text(64 * 1024) });
export const ReqShell = tail('shell', {});
export const ReqExec = tail('exec', { command: f.text(256 * 1024) });
/** The same request with the command as bytes: a command naming a file whose name is not UTF-8 (`scp -f -- caf\xe9`). */
export const ReqExecBytes = tail('exec', { command: f.bytes(256 * 1024) });
export const ReqSubsystem = tail('subsystem', { name: f.text(1024) });
export const ReqWindowChange = tail('window-change', {
  columns: f.uint32(),
  rows: f.uint32(),
  widthPixels: f.uint32(),
  heightPixels: f.uint32(),
});
export const ReqXonXoff = tail('xon-xoff', { clientCanDo: f.boolean() });
export const ReqSignal = tail('signal', { signal: f.text(1024) });
export const ReqExitStatus = tail('exit-status', { status: f.uint32() });
export const ReqExitSignal = tail('exit-signal', {
  signal: f.text(1024),
  coreDumped: f.boolean(),
  message: f.text(64 * 1024),
  language: f.text(1024),
});
export const ReqBreak = tail('break', { lengthMs: f.uint32() });
export const ReqAuthAgent = tail('auth-agent-req@openssh.com', {});
export const ReqEow = tail('eow@openssh.com', {});
export const ReqKeepalive = tail('keepalive@openssh.com', {});

// ---- global requests
export const GlobalTcpipForward = tail('tcpip-forward', { bindAddress: f.text(1024), bindPort: f.uint32() });
export const GlobalCancelTcpipForward = tail('cancel-tcpip-forward', { bindAddress: f.text(1024), bindPort: f.uint32() });
export const GlobalTcpipForwardReply = tail('tcpip-forward reply', { boundPort: f.uint32() });
export const GlobalStreamlocalForward = tail('streamlocal-forward@openssh.com', { socketPath: f.text(4096) });
export const GlobalCancelStreamlocalForward = tail('cancel-streamlocal-forward@openssh.com', { socketPath: f.text(4096) });
export const GlobalNoMoreSessions = tail('no-more-sessions@openssh.com', {});
export const GlobalKeepalive = tail('keepalive@openssh.com', {});
export const GlobalHostkeys = tail('hostkeys-00@openssh.com', { rest: f.rest() });
