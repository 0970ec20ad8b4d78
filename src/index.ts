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

// Types that appear in the signatures above, so users can name them.
export type { DirectTcpipOptions } from './client/forward.js';
export type { HostKeyDecision, KnownHostsLine } from './client/options.js';
export type { KeyFileProblem } from './keys/pem.js';
export type { LoadedPrivateKey } from './keys/openssh.js';
export type { PublicKeyLine } from './keys/blob.js';
export type { Signer } from './algorithms/types.js';
export type { RekeyLimits } from './core/kex/rekey.js';
export type { ConnectionOptions } from './core/connection/events.js';
export type { DirectionAlgorithms } from './core/kex/negotiate.js';
export type { EndpointPairSide } from './testing/endpoint-pair.js';
export { updateFileAtomic, type UpdateFileOptions, type AtomicWriteSteps } from './io/node/files.js';
// The full default lists (OpenSSH 10's secure defaults), for building an Endpoint by hand.
export { defaultAlgorithmLists, type AlgorithmLists } from './algorithms/index.js';

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

// OpenSSH certificates: parse, sign and verify user and host certificates.
export {
  parseCertificate,
  parseCertificateLine,
  formatCertificateLine,
  signCertificate,
  certificateSigner,
  verifyCertificate,
  certificateOptionValue,
  certificateTypeFor,
  isCertificateType,
  certificateSignatureAlgorithms,
  plainSignatureAlgorithm,
  addressInCidrList,
  CertificateError,
  CERTIFICATE_KEY_TYPES,
  DEFAULT_USER_EXTENSIONS,
  DEFAULT_CA_SIGNATURE_ALGORITHMS,
  MAX_CERTIFICATE_BYTES,
  MAX_CERTIFICATE_PRINCIPALS,
  VALID_FOREVER,
  type CertificateProblem,
  type CertificateKind,
  type CertificateOption,
  type CertificateOptionValues,
  type CertificateRequest,
  type CertificateLine,
  type CertificateCheck,
  type CertificateAuthorization,
  type OpenSshCertificate,
} from './keys/index.js';
// Fingerprints and randomart, public key text formats, security-key (sk-) keys.
export {
  fingerprint,
  fingerprintMd5,
  randomart,
  certifiedKey,
  describePublicKey,
  parsePublicKeyText,
  formatPublicKeyText,
  formatRfc4716PublicKey,
  formatPkcs8PublicKey,
  formatPkcs1PublicKey,
  formatPemPublicKey,
  rfc4716ConversionComment,
  parseSecurityKeyBlob,
  verifySecurityKeySignature,
  isSecurityKeyType,
  SK_USER_PRESENT,
  SK_USER_VERIFIED,
  type FingerprintHash,
  type KeyDescription,
  type PublicKeyFormat,
  type ParsedPublicKeyText,
  type SecurityKeyType,
  type SecurityKeyPublicKey,
  type SecurityKeyPolicy,
  type SecurityKeyVerdict,
} from './keys/index.js';
export type { SecurityKeyAnswerPolicy } from './core/auth/events.js';
// PuTTY .ppk private key files, versions 2 and 3 (loadPrivateKeyFile reads them too).
export {
  parsePpkPrivateKey,
  formatPpkPrivateKey,
  DEFAULT_PPK_ARGON2,
  MAX_ARGON2_MEMORY_KIB,
  MAX_ARGON2_PASSES,
  MAX_ARGON2_PARALLELISM,
  MAX_ARGON2_WORK_KIB,
  type PpkPrivateKey,
  type PpkWriteOptions,
  type PpkArgon2Options,
  type PpkArgon2Params,
  type PpkVersion,
  type Argon2Flavour,
} from './keys/index.js';

// Key revocation lists (OpenSSH's binary KRL, sshd's RevokedKeys, ssh-keygen -k/-Q).
export {
  parseKrl,
  encodeKrl,
  isKrl,
  isRevoked,
  revokedKeys,
  verifyKrlSignatures,
  parseKrlSpec,
  buildKrl,
  KrlError,
  KRL_MAGIC,
  KRL_FORMAT_VERSION,
  MAX_KRL_BYTES,
  MAX_KRL_BITMAP_BYTES,
  DEFAULT_KRL_SIGNATURE_ALGORITHMS,
  type Krl,
  type KrlSection,
  type KrlCertificateRule,
  type KrlExtension,
  type KrlProblem,
  type KrlMatch,
  type KrlRule,
  type RevocationCheck,
  type KrlRevocation,
  type KrlSpecOptions,
  type BuildKrlOptions,
} from './keys/index.js';
// Host certificates (HostCertificate / @cert-authority) and certificates for client keys
export { hostCertificateSigner, type CertificateInput } from './keys/index.js';
export type { HostCertificateInfo, CertifiedPrivateKey } from './client/options.js';
// Writing private key files (openssh-key-v1, PEM, PKCS#8) and generating keys.
export {
  writePrivateKey,
  rewritePrivateKey,
  PEM_CIPHERS,
  DEFAULT_KDF_ROUNDS,
  DEFAULT_KEY_FILE_CIPHER,
  KEY_FILE_CIPHER_NAMES,
  generatePrivateKey,
  DEFAULT_RSA_BITS,
  MIN_GENERATED_RSA_BITS,
  type PrivateKeyFileFormat,
  type WritePrivateKeyOptions,
  type RewritePrivateKeyChanges,
  type GenerateKeyOptions,
} from './keys/index.js';
export { writePrivateKeyFile, type WritePrivateKeyFileOptions } from './io/node/key-files.js';
// nacre-keygen's needs: key sizes for -l, and the known_hosts edits behind -F, -R and -H.
export { parsePublicKey, blobKeyType, type ParsedPublicKey } from './keys/index.js';
export {
  classifyKnownHosts,
  splitKnownHostsLines,
  hostFieldMatches,
  findKnownHostLines,
  removeKnownHost,
  hashKnownHosts,
  hashKnownHostEntry,
  type ClassifiedKnownHostsLine,
  type KnownHostsEdit,
  type RemovedKnownHost,
  type HashedKnownHosts,
  type HashKnownHostsOptions,
} from './trust/known-hosts-edit.js';

// sshd's RevokedKeys file (a KRL or public keys), for publicKeyAuthenticator's revokedKeys.
export { loadRevokedKeys } from './io/node/revoked-keys.js';

// Forwarding and jump hosts (issue 11): SOCKS for -D and remote dynamic -R, Unix socket forwards,
// ProxyJump and ProxyCommand parsing. (nacre's forwarding spec parser is exported with ssh_config below.)
export type { DynamicForwardOptions } from './client/dynamic-forward.js';
export type { RemoteForwardTarget, LocalForwardListen, LocalForwardTarget } from './client/forward.js';
export { ListenError } from './client/local-listener.js';
export { SocksHandshake, SocksError, socksSuccessReply, socksFailureReply, MAX_SOCKS_HANDSHAKE, type SocksRequest, type SocksStep, type SocksFailure, type SocksVersion } from './socks/codec.js';
export { parseJumpHost, parseProxyJump, type JumpHost } from './client/jump.js';
export { expandProxyCommand, type ProxyCommandTokens } from './client/proxy-command.js';

// ssh_config (issue 11): the resolver (with this machine's files, or any
// files through SshConfigIO), the -G printer, the forwarding spec parser,
// and the mapping to ConnectOptions that connect({ config }) uses.
export {
  resolveSshConfig,
  flagToConfigLine,
  printSshConfig,
  configForwards,
  expandForward,
  parseForwardSpec,
  tryParseForward,
  parseStdioForward,
  forwardArguments,
  expandTokens,
  expandConfigPath,
  type SshConfig,
  type SshConfigIO,
  type SshConfigRequest,
  type KeywordValues as SshConfigValues,
  type TokenValues as SshConfigTokens,
  type ForwardSpec,
  type ForwardEndpoint,
  type ForwardFlag,
} from './config/index.js';
export { readSshConfig, nodeSshConfigIO } from './io/node/ssh-config-files.js';
export { sshConfigToConnectOptions, applySshConfig, configIdentityFiles, configIdentities } from './client/config-options.js';
export { ConfigError } from './errors.js';
// The SSH agent (issue 11 §5): a client of ssh-agent and anything speaking its
// protocol, and the protocol's codec (both directions, for an agent to reuse).
export { AgentClient, agentSocketPath, type AgentKey, type AgentAddOptions, type AgentClientOptions } from './client/agent-client.js';
export { AgentSocket, type AgentSocketOptions } from './io/node/agent-socket.js';
export { agentKeyFields, type AgentKeyFields } from './keys/agent-key.js';
export {
  AgentError,
  AgentConnection,
  MAX_AGENT_MESSAGE,
  MSG_AGENT,
  SIGN_FLAGS,
  signFlagsFor,
  encodeConstraints,
  decodeConstraints,
  encodeAddIdentity,
  decodeAddIdentity,
  isAgentKeyType,
  SessionBind,
  SESSION_BIND_EXTENSION,
  type AgentProblem,
  type AgentOutcome,
  type AgentConnectionLimits,
  type AgentIdentity,
  type AddIdentity,
  type KeyConstraint,
  type DestinationHop,
  type DestinationRestriction,
  type SessionBindValue,
} from './agent/index.js';
// k10: UpdateHostKeys' results and its pure known_hosts edits (issue 11); the
// rest of issue 10 (public key of an encrypted key file, KRL listing, WebAuthn
// sk signatures, SSH.com private keys).
export type { HostKeysChange, HostKeysUpdateResult, HostKeyDescription } from './client/host-key-update.js';
export { planHostKeyUpdate, replaceHostKeys, type HostKeyUpdatePlan, type DeprecatedHostKey, type KnownHostsFileText, type ReplaceHostKeysOptions, type ReplacedHostKeys } from './trust/host-key-update.js';
export { openSshPublicKeyFromPrivate, formatKrl, WEBAUTHN_SK_ECDSA, parseSshComPrivateKey } from './keys/index.js';

// The `nacre` command (issue 11): what `nacre -Q` lists.
export { algorithmNames, ALGORITHM_QUERIES } from './algorithms/names.js';

// Connection sharing (ssh -M / -S / -O): a Client served over a control socket, and clients of it.
export { listenControl, clientForwarding, ControlMaster, type ListenControlOptions, type ControlForwarding, type ControlMasterEvents } from './client/control-master.js';
export { connectControl, ControlClient, MuxRequestError, type SharedProcess, type SharedSpawnOptions, type SharedExecResult } from './client/control-client.js';
export { ControlSocketError, type ControlSocketProblem } from './io/node/control-socket.js';
export { MUX_PORT_STREAMLOCAL, type MuxForward } from './mux/codec.js';

// sshd_config (issue 12 §1): the parser, the per-connection resolver, `-T`'s
// printer and `-C`'s spec, for nacred and for library users.
export {
  SshdConfigError,
  parseSshdConfig,
  resolveSshdConfig,
  checkSshdConfig,
  formatSshdConfig,
  expandAuthorizedPath,
  listenEndpoints,
  parseMatchSpec,
  addressListMatch,
  supportedSshdKeywords,
  sshdUserAccess,
  sshdUserPatternMatches,
  type SshdLoginSubject,
  type SshdAccessVerdict,
  DEFAULT_HOST_KEYS as SSHD_DEFAULT_HOST_KEYS,
  DEFAULT_PID_FILE as NACRED_DEFAULT_PID_FILE,
  DEFAULT_PASSWORD_FILE as NACRE_DEFAULT_PASSWORD_FILE,
  type SshdSettings,
  type SshdMatchSpec,
  type SshdConfigIO,
  type SshdCommandLine,
  type SshdListenAddress,
  type SshdMaxStartups,
  type SshdNetBlockSize,
  type SshdPerSourcePenalties,
  type SshdPermitRule,
  type SshdPermitList,
  type SshdLogLevel,
  type SshdSyslogFacility,
  type SshdForwardingPermission,
  type SshdConfig,
  type SshdConfigEntry,
  type SshdParseOptions,
} from './config/index.js';
export { readSshdConfig, nodeSshdConfigIO } from './io/node/sshd-config-files.js';
// Admission under attack and password files (issue 12 §3, §5): per-source
// penalties (sshd's PerSourcePenalties) and scrypt password files for `nacred passwd`.
export { PenaltyTable, DEFAULT_PER_SOURCE_PENALTIES, type PerSourcePenalties, type PenaltyKind, type PenaltyOverflow, type PenaltyVerdict, type PenaltyTableOptions } from './core/admission/penalties.js';
export { AddressList, addressBlock, DEFAULT_NET_BLOCK_SIZE, type NetBlockSize } from './core/admission/address.js';
export { STALLED_AFTER_MS, STALE_AFTER_MS } from './server/startups.js';
export {
  parsePasswordFile,
  parsePasswordHash,
  formatPasswordHash,
  setPasswordLine,
  deletePasswordLine,
  isValidUserName,
  DEFAULT_SCRYPT_PARAMS,
  SCRYPT_LIMITS,
  type ScryptParams,
  type PasswordHash,
  type PasswordFileEntry,
  type ParsedPasswordFile,
} from './config/password-file.js';
export {
  PasswordFile,
  passwordFileAuthenticator,
  hashPassword,
  verifyPassword,
  setPasswordInFile,
  deletePasswordFromFile,
  nodeScrypt,
  DEFAULT_PASSWORD_MINIMUM_DELAY_MS,
  MAX_PASSWORD_FILE_BYTES,
  type PasswordFileOptions,
  type PasswordFileUpdateOptions,
  type ScryptFunction,
} from './server/password-file.js';
// SFTP file systems a server serves: in memory, and node:fs (optionally confined to a root).
export { MemoryFileSystem, fsError, type MemoryFileSystemOptions, type MemoryFsFaults, type MemoryFsOperation, type MemoryUser } from './sftp/memory-fs.js';
export { NodeFileSystem, type NodeFileSystemOptions } from './server/sftp/node-fs.js';
// What a file system of your own implements (an SFTP server serves any FileSystem).
export type { FileSystem, FileHandle, DirectoryHandle, FileStats, DirectoryEntry, OpenMode } from './sftp/filesystem.js';
// The SFTP server's sans-I/O session (issue 13): the state machine, its operations on a FileSystem, sftp-server's words.
export { SftpServerSession, DEFAULT_MAX_HANDLES, DEFAULT_MAX_OUTSTANDING, DEFAULT_MAX_OUTSTANDING_BYTES, type SftpServerSessionOptions, type SftpServerSink, type SftpLogLevel } from './sftp/server-session.js';
export { runOperation, type ServerOperation, type OperationKind, type OperationOf, type OperationResult } from './sftp/server-operations.js';
export { SERVED_REQUESTS, ANNOUNCED_EXTENSIONS, parseRequestList, type ServedRequest } from './sftp/server-requests.js';
export { longName, modeString, statusForError, UTC_CLOCK, type ServerClock } from './sftp/server-format.js';
// SFTP client: `await client.sftp()` (src/client/sftp).
export type {
  SftpClient,
  SftpHandle,
  SftpEntry,
  SftpOpenFlags,
  TransferOptions,
  TransferProgress,
  ReadStreamOptions,
  WriteStreamOptions,
} from './client/sftp/api.js';
export { SftpError } from './sftp/errors.js';
export { FX } from './sftp/constants.js';
export { isDirectory, isRegularFile, isSymbolicLink, type FileAttributes } from './sftp/attrs.js';
export type { Statvfs, SftpLimits } from './sftp/extensions.js';
// File names that are not UTF-8 (issue 13): SFTP paths are bytes, carried in strings with each byte outside UTF-8 as U+DC80..U+DCFF.
export { pathFromBytes, pathToBytes, hasEscapedBytes, showPath } from './wire/path-bytes.js';
export { fsPath } from './io/node/byte-paths.js';

// Round 3 (clifix): jump hosts resolved hop by hop as ssh resolves them
// (each through ssh_config; the first hop's own ProxyJump chained).
export { resolveJumpRoute, MAX_JUMP_HOPS, type JumpOrigin, type JumpHopResolver } from './client/jump.js';
// The SFTP client over any byte stream (a local sftp-server's stdio, another ssh program, a socket).
export { openSftp, type OpenSftpOptions } from './client/sftp/over-stream.js';
