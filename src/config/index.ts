// ssh_config: the parser and resolver (pure; file access is injected), the
// `-G` printer and the forwarding spec parser.
export { parseForwardSpec, tryParseForward, parseStdioForward, forwardArguments, printEndpoint } from './forward-spec.js';
export type { ForwardSpec, ForwardEndpoint, ForwardFlag } from './forward-spec.js';
export { resolveSshConfig, flagToConfigLine } from './ssh-config-resolve.js';
export type { SshConfig, SshConfigIO, SshConfigRequest } from './ssh-config-resolve.js';
export type { KeywordValues, KeywordName } from './ssh-config-keywords.js';
export { printSshConfig, configForwards, expandForward, expandConfigPath, defaultUpdateHostKeys, DEFAULT_IDENTITY_FILES, DEFAULT_USER_KNOWN_HOSTS, DEFAULT_GLOBAL_KNOWN_HOSTS } from './ssh-config-print.js';
export { expandTokens, expandEnvironment, expandTilde, connectionHash } from './ssh-config-tokens.js';
export type { TokenValues } from './ssh-config-tokens.js';
// sshd_config: parser, per-connection resolver, `-T` printer (nacred).
export { SshdConfigError } from './sshd-config-types.js';
export type { SshdSettings, SshdMatchSpec, SshdConfigIO, SshdCommandLine, SshdListenAddress, SshdMaxStartups, SshdNetBlockSize, SshdPerSourcePenalties, SshdPermitRule, SshdPermitList, SshdLogLevel, SshdSyslogFacility, SshdForwardingPermission } from './sshd-config-types.js';
export { parseSshdConfig } from './sshd-config-parse.js';
export type { SshdConfig, SshdConfigEntry, SshdParseOptions } from './sshd-config-parse.js';
export { resolveSshdConfig, checkSshdConfig, DEFAULT_HOST_KEYS, DEFAULT_PID_FILE, DEFAULT_PASSWORD_FILE } from './sshd-config-resolve.js';
export { formatSshdConfig, expandAuthorizedPath, listenEndpoints } from './sshd-config-print.js';
export { parseMatchSpec, addressListMatch } from './sshd-config-match.js';
export { supportedSshdKeywords } from './sshd-config-keywords.js';
export { sshdUserAccess, sshdUserPatternMatches } from './sshd-config-access.js';
export type { SshdLoginSubject, SshdAccessVerdict } from './sshd-config-access.js';
