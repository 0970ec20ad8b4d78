// Nacre's public API. Start with `connect()` (client) or `createServer()`.
export { connect, Client, AbortError, type ClientEvents } from './client/client.js';
export type { ConnectOptions, HostKeyInfo, KeyboardInteractiveChallenge, PrivateKeyInput } from './client/options.js';
export { ExecError, MaxBufferError, type ExecOptions, type ExecResult, type SpawnOptions, type ShellOptions, type RemoteProcess, type PtyOptions } from './client/process.js';
export type { RemoteForward, RemoteForwardOptions, ForwardedConnection, LocalForward, LocalForwardOptions } from './client/forward.js';
export { Channel, type ExitInfo } from './io/node/channel.js';
export { ChannelOpenError } from './io/node/node-endpoint.js';
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
export { Endpoint, type EndpointEvent, type EndpointOptions } from './core/endpoint.js';
export { Transport } from './core/transport/transport.js';
export { EndpointPair } from './testing/endpoint-pair.js';
export { FakeClock } from './testing/clock.js';
export { seededRandom } from './testing/random.js';

// Names before 0.2, kept for one release. "Session" meant the core object,
// one server channel and the Node wrapper; see docs/ARCHITECTURE.md.
import { Endpoint as EndpointClass, type EndpointEvent as EndpointEventType, type EndpointOptions as EndpointOptionsType } from './core/endpoint.js';
import { EndpointPair as EndpointPairClass } from './testing/endpoint-pair.js';
import { SessionChannel as SessionChannelClass } from './server/session-channel.js';
/** @deprecated Renamed `Endpoint`. */
export const Session = EndpointClass;
/** @deprecated Renamed `Endpoint`. */
export type Session = EndpointClass;
/** @deprecated Renamed `EndpointEvent`. */
export type SessionEvent = EndpointEventType;
/** @deprecated Renamed `EndpointOptions`. */
export type SessionOptions = EndpointOptionsType;
/** @deprecated Renamed `EndpointPair`. */
export const SessionPair = EndpointPairClass;
/** @deprecated Renamed `EndpointPair`. */
export type SessionPair = EndpointPairClass;
/** @deprecated Renamed `SessionChannel`. */
export const ServerSession = SessionChannelClass;
/** @deprecated Renamed `SessionChannel`. */
export type ServerSession = SessionChannelClass;

// SSHSIG signatures (ssh-keygen -Y); the allowed_signers functions come with src/trust above.
export {
  signSshSignature,
  verifySshSignature,
  parseSshSignature,
  formatSshSignature,
  encodeSshSignature,
  decodeSshSignature,
  armorSshSignature,
  dearmorSshSignature,
  sshSigSignedData,
  sshSigSignatureAlgorithm,
  SshSignatureError,
  SSHSIG_MAGIC,
  SSHSIG_VERSION,
  SSHSIG_DEFAULT_HASH,
  MAX_SSHSIG_ARMOR_BYTES,
  type SshSignature,
  type SshSignatureProblem,
  type SshSigHashAlgorithm,
  type SshSigDigest,
  type SshSigMessage,
  type SshSigKeyVerifier,
  type SignSshSignatureOptions,
  type VerifySshSignatureOptions,
  type VerifiedSshSignature,
} from './keys/index.js';

// nacre-keygen's needs: key sizes for -l, and the known_hosts edits behind -F, -R and -H.
export { parsePublicKey, blobKeyType, type PublicKeyLine, type ParsedPublicKey } from './keys/index.js';
export {
  classifyKnownHosts,
  splitKnownHostsLines,
  hostFieldMatches,
  findKnownHostLines,
  removeKnownHost,
  hashKnownHosts,
  hashKnownHostEntry,
  type KnownHostsLine,
  type KnownHostsEdit,
  type RemovedKnownHost,
  type HashedKnownHosts,
  type HashKnownHostsOptions,
} from './trust/known-hosts-edit.js';
