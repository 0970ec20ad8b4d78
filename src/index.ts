// Nacre's public API. Start with `connect()` (client) or `createServer()`.
export { connect, Client, AbortError, type ClientEvents } from './client/client.js';
export type { ConnectOptions, HostKeyInfo, KeyboardInteractiveChallenge, PrivateKeyInput } from './client/options.js';
export { ExecError, MaxBufferError, type ExecOptions, type ExecResult, type SpawnOptions, type ShellOptions, type RemoteProcess, type PtyOptions } from './client/process.js';
export type { RemoteForward, RemoteForwardOptions, ForwardedConnection, LocalForward, LocalForwardOptions } from './client/forward.js';
export { Channel, type ExitInfo } from './io/node/channel.js';
export { ChannelOpenError } from './io/node/node-session.js';
export type { IncomingChannelOpen, ChannelOpenHandler, IncomingGlobalRequest, GlobalRequestHandler, GlobalRequestAnswer, GlobalReply } from './io/node/registries.js';
export { OpenFailureReason } from './messages/connection.js';
export * from './server/index.js';
export {
  NacreError,
  ProtocolError,
  MacError,
  KeyExchangeError,
  VersionError,
  HostKeyRejectedError,
  AuthenticationError,
  DisconnectError,
  TimeoutError,
  DisconnectReason,
  type DisconnectReasonCode,
} from './errors.js';
export {
  generateHostKey,
  signerFromPrivateKeyFile,
  signerFromKeyObject,
  fingerprintSha256,
  parseOpenSshPublicKeyLine,
  formatOpenSshPublicKeyLine,
  KeyFileError,
  type KeySigner,
  type AuthSigner,
  type HostKeyType,
} from './keys/index.js';
// Reading a key file is Node's part; the parser in src/keys takes bytes.
export { loadPrivateKeyFile, signerFromPrivateKeyPath } from './io/node/key-files.js';
// Reading and writing the user's files as the tools do: bounded reads, atomic
// writes, and sshd's StrictModes checks.
export {
  readBounded,
  writeFileAtomic,
  expandHome,
  isMissingFile,
  MAX_TRUST_FILE_BYTES,
  type ReadBoundedOptions,
  type WriteFileAtomicOptions,
} from './io/node/files.js';
export { unsafeTrustFile, checkPrivateKeyFile, ensurePrivateDirectory } from './io/node/file-permissions.js';
export * from './trust/index.js';
export type { AlgorithmPreferences } from './algorithms/index.js';
export { UnknownAlgorithmError } from './algorithms/preferences.js';
export type { NegotiatedAlgorithms } from './core/kex/negotiate.js';
// The sans-I/O core, for custom transports and tests.
export { Session, type SessionEvent, type SessionOptions } from './core/session.js';
export { Transport } from './core/transport/transport.js';
export { SessionPair } from './testing/session-pair.js';
export { FakeClock } from './testing/clock.js';
export { seededRandom } from './testing/random.js';
