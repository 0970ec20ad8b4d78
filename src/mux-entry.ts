// `nacre/mux`: the package's light entry point for a command that runs
// through a shared connection (connection sharing, ssh -S): resolving
// ssh_config for a host (so ControlPath and ControlMaster are known), the
// forwarding spec parser, and the client of a control master (OpenSSH's
// PROTOCOL.mux). None of the transport, key exchange, ciphers or key
// handling: importing it costs a fraction of importing 'nacre', which
// exports all of these names too (see docs/PERFORMANCE.md section 6).
export { ConfigError, NacreError } from './errors.js';
export { readSshConfig } from './io/node/ssh-config-files.js';
export { flagToConfigLine, type SshConfig, type SshConfigRequest, type SshConfigIO } from './config/ssh-config-resolve.js';
export { expandConfigPath } from './config/ssh-config-tokens.js';
export { parseForwardSpec, tryParseForward, parseStdioForward, forwardArguments, type ForwardSpec, type ForwardEndpoint, type ForwardFlag } from './config/forward-spec.js';
export { connectControl, ControlClient, MuxRequestError, type SharedProcess, type SharedSpawnOptions, type SharedExecResult } from './client/control-client.js';
export { ControlSocketError, type ControlSocketProblem } from './io/node/control-socket.js';
// Names and commands holding bytes that are not UTF-8, as the tools carry them.
export { pathFromBytes, pathToBytes, hasEscapedBytes, showPath } from './wire/path-bytes.js';
