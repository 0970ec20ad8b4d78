// The server side of Nacre's public API.
export { createServer, Server, ServerConnection, type ServerOptions, type ServerEvents, type ConnectionInfo } from './server.js';
export {
  SessionChannel,
  ServerChannel,
  type PtyInfo,
  type WindowSize,
  type X11Request,
  type SessionPeer,
  type Verdict,
  type MaybePromise,
} from './session-channel.js';
export { PromptCancelledError, type AuthContext, type AuthResult, type Authenticate, type AuthMethodName, type PublicKeyInfo, type Prompt } from './auth.js';
export type { LocalForwardRequest, RemoteForwardRequest, StreamlocalForwardRequest, ForwardingPolicy, ForwardRequestOrigin } from './forwarding.js';
export { DEFAULT_MAX_STARTUPS, DEFAULT_MAX_STARTUPS_PER_SOURCE, type MaxStartups } from './startups.js';
export { runAsCurrentUser, type RunOptions } from './exec-handler.js';
export { loginEnvironment, acceptEnvPatterns, DEFAULT_ACCEPT_ENV, DEFAULT_USER_PATH, DEFAULT_SUPERUSER_PATH, type LoginEnvironmentOptions } from './login-env.js';
export type { AuthServerMethod, AuthServerOptions } from '../core/auth/events.js';
export type { KeepaliveOptions } from '../core/endpoint.js';
// Restricting a login: authorized_keys options and user certificates.
export {
  authorizePublicKey,
  publicKeyAuthenticator,
  type PublicKeyAuthorization,
  type PublicKeyAuthorizationOptions,
} from './authorization.js';
export {
  UNRESTRICTED,
  restrictionsFromAuthorizedKey,
  restrictionsFromCertificate,
  combineRestrictions,
  permitsLocalForward,
  permitsRemoteForward,
  addressMatchesPatterns,
  type Restrictions,
  type PermitUserEnvironment,
} from './restrictions.js';
// Sessions as another user (issue 12): setpriv when the server is root, sshd's session behaviour, agent forwarding.
export { runAsUser, sessionEnvironment, type RunAsUserOptions, type SessionEnvironmentParts } from './run-as-user.js';
export { lookupUserAccount, parsePasswdEntry, validUserName, UserAccountError, type UserAccount } from './user-account.js';
export { PrivilegeError, sessionIdentity, type SessionIdentity } from './privileges.js';
export { parseEnvironmentFile } from './user-files.js';
export { forwardingAsUser, type ForwardingAsUserOptions } from './user-forwarding.js';
// Serving SFTP (issue 13): one session on a channel in this process, internal-sftp's flags.
export { serveSftp, sftpSubsystem, LOCAL_CLOCK, type ServeSftpOptions, type SftpServing } from './sftp/serve.js';
export { startInternalSftp, checkChrootDirectory, expandChrootDirectory, ChrootError, type InternalSftpOptions } from './sftp/internal.js';
export { runSftpServerProcess, type SftpProcessIo } from './sftp/process.js';
export {
  parseSftpServerArgs,
  parseUmask,
  expandStartDirectory,
  sftpLogEnabled,
  internalSftpArguments,
  SftpServerArgsError,
  SFTP_SERVER_USAGE,
  SFTP_SERVER_LOG_LEVELS,
  type SftpServerArgs,
  type SftpServerLogLevel,
} from './sftp/args.js';
