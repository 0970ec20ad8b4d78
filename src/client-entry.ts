// `nacre/client`: the package's entry point for a program that only connects
// out, as nacre, nacre-sftp and nacre-scp do: connect() and the Client, the
// errors it rejects with, ssh_config resolved into ConnectOptions, identities
// and known_hosts names, and the forwarding spec parser. None of the server,
// the SFTP server, sshd_config, SSHSIG or KRLs: importing it loads a little
// over half the modules importing 'nacre' does (see docs/PERFORMANCE.md
// section 6). Every name here is the same object as the one 'nacre' exports.
export { connect, Client, AbortError, type ClientEvents } from './client/client.js';
export type {
  ConnectOptions,
  HostKeyInfo,
  HostKeyDecision,
  KeyboardInteractiveChallenge,
  KnownHostsLine,
  PrivateKeyInput,
  HostCertificateInfo,
  CertifiedPrivateKey,
} from './client/options.js';
export { ExecError, MaxBufferError, type ExecOptions, type ExecResult, type SpawnOptions, type ShellOptions, type RemoteProcess, type PtyOptions } from './client/process.js';
export type {
  RemoteForward,
  RemoteForwardOptions,
  ForwardedConnection,
  LocalForward,
  LocalForwardOptions,
  DirectTcpipOptions,
  RemoteForwardTarget,
  LocalForwardListen,
  LocalForwardTarget,
} from './client/forward.js';
export type { DynamicForwardOptions } from './client/dynamic-forward.js';
export { ListenError } from './client/local-listener.js';
export type { SocksRequest } from './socks/codec.js';
export { Channel, type ExitInfo } from './io/node/channel.js';
export { ChannelOpenError } from './io/node/node-endpoint.js';
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
  ConfigError,
  DisconnectReason,
  type DisconnectReasonCode,
} from './errors.js';
// Identities: key files, certificates, public key lines.
export { KeyFileError } from './keys/pem.js';
export { certificateSigner } from './keys/certificate.js';
export { fingerprintSha256, parseOpenSshPublicKeyLine, formatOpenSshPublicKeyLine, type PublicKeyLine } from './keys/blob.js';
export type { KeySigner, AuthSigner } from './keys/signer.js';
export { loadPrivateKeyFile, signerFromPrivateKeyPath } from './io/node/key-files.js';
export { expandHome, isMissingFile } from './io/node/files.js';
export { knownHostName } from './trust/known-hosts.js';
// ssh_config and the forwarding specs (-L, -R, -D, -W).
export { readSshConfig, nodeSshConfigIO } from './io/node/ssh-config-files.js';
export { sshConfigToConnectOptions, applySshConfig, configIdentityFiles, configIdentities } from './client/config-options.js';
export { configForwards } from './config/ssh-config-print.js';
export { parseForwardSpec, tryParseForward, parseStdioForward, forwardArguments, type ForwardSpec, type ForwardEndpoint, type ForwardFlag } from './config/forward-spec.js';
export type { SshConfig, SshConfigIO, SshConfigRequest } from './config/ssh-config-resolve.js';
export type { NegotiatedAlgorithms } from './core/kex/negotiate.js';
export type { AlgorithmPreferences } from './algorithms/index.js';
export type { SftpClient, SftpHandle, SftpEntry, TransferOptions, TransferProgress } from './client/sftp/api.js';
// Jump routes as ssh resolves them (the same objects as 'nacre' exports).
export { resolveJumpRoute, MAX_JUMP_HOPS, type JumpOrigin, type JumpHopResolver } from './client/jump.js';
