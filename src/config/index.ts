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
