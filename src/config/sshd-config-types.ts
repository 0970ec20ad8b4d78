// The resolved sshd_config: what `nacred` and the server use, one value per
// keyword, defaults filled in as sshd fills them (servconf.c's
// fill_default_server_options), Match blocks already applied for one
// connection. Each field names its sshd_config keyword and default.
//
// Values keep sshd's meaning: lists are in file order, paths are as written
// (AuthorizedKeysFile patterns still hold %u/%h/%%: see
// expandAuthorizedPath), 'none' becomes null or [] as noted.
import { ConfigError } from '../errors.js';

/**
 * A bad sshd_config: the message names the file and line (`file line N:
 * ...`), as sshd's refusal to start does. `file`/`line` are also fields.
 */
export class SshdConfigError extends ConfigError {}

/** What the parser needs from the outside world (src/io/node gives the real one). */
export interface SshdConfigIO {
  /** A file's text, or null when it does not exist (other failures throw). */
  readFile(path: string): string | null;
  /** The paths matching a glob pattern (absolute), sorted; [] for none. */
  glob(pattern: string): readonly string[];
}

/** How nacred's command line adds to the file, as sshd's flags do. */
export interface SshdCommandLine {
  /** `-o` lines, in order: read before the file, so they win (first value wins). */
  readonly options?: readonly string[];
  /** `-p` ports: when given, the file's Port lines are ignored (as sshd). */
  readonly ports?: readonly number[];
  /** `-h` host keys, before the file's. */
  readonly hostKeys?: readonly string[];
  /** `-c` host certificates, before the file's. */
  readonly hostCertificates?: readonly string[];
}

/** The connection a Match block is evaluated against (`sshd -C user=..,host=..,addr=..,laddr=..,lport=..`). */
export interface SshdMatchSpec {
  /** `Match User`: the user name the client asked for. */
  readonly user?: string;
  /** `Match Group`: the user's groups (primary and supplementary) by name. */
  readonly groups?: readonly string[];
  /** `Match Host`: the client's host name (reverse lookup; sshd uses the address when UseDNS is off). */
  readonly host?: string;
  /** `Match Address`: the client's IP address. */
  readonly addr?: string;
  /** `Match LocalAddress`: the address the connection arrived on. */
  readonly laddr?: string;
  /** `Match LocalPort`: the port the connection arrived on. */
  readonly lport?: number;
  /** `Match RDomain`: the routing domain (never set on Linux by nacred; kept for `-C rdomain=`). */
  readonly rdomain?: string;
  /** `Match invalid-user`: the user name is not a known account (`-C invalid-user`). */
  readonly invalidUser?: boolean;
}

/** A `ListenAddress host[:port]` (the port, when absent, is each of `ports`). */
export interface SshdListenAddress {
  readonly host: string;
  readonly port?: number;
}

/** `MaxStartups begin:rate:full` (sshd default 10:30:100). */
export interface SshdMaxStartups {
  /** Unauthenticated connections allowed before random early drop starts. */
  readonly begin: number;
  /** Percentage of new connections dropped once `begin` is reached (rising linearly to 100 at `full`). */
  readonly rate: number;
  /** Every new connection is refused at this many unauthenticated connections. */
  readonly full: number;
}

/** `PerSourceNetBlockSize ipv4[:ipv6]` (default 32:128): how sources are grouped for PerSourceMaxStartups and penalties. */
export interface SshdNetBlockSize {
  readonly ipv4: number;
  readonly ipv6: number;
}

/**
 * `PerSourcePenalties` as sshd 10 has it. Durations in seconds. Default:
 * crash:90 authfail:5 noauth:1 grace-exceeded:10 refuseconnection:10
 * max:600 min:15 max-sources4:65536 max-sources6:65536 overflow:permissive
 * overflow6:(same as overflow).
 */
export interface SshdPerSourcePenalties {
  /** `PerSourcePenalties no` turns them off (`yes`, or any field given, turns them on; default on). */
  readonly enabled: boolean;
  /** `crash:`: a session that crashed the server (sshd-session exits by a signal or fatally). */
  readonly crash: number;
  /** `authfail:`: the connection failed authentication (MaxAuthTries reached, or closed after a failure). */
  readonly authfail: number;
  /** `noauth:`: the connection closed without attempting authentication. */
  readonly noauth: number;
  /** `grace-exceeded:`: LoginGraceTime ran out. */
  readonly graceExceeded: number;
  /** `refuseconnection:`: the connection was refused by RefuseConnection. */
  readonly refuseConnection: number;
  /** `max:`: a source's penalty never grows past this. */
  readonly max: number;
  /** `min:`: penalties shorter than this do not block (they accumulate first). */
  readonly min: number;
  /** `max-sources4:`: IPv4 blocks tracked at once. */
  readonly maxSources4: number;
  /** `max-sources6:`: IPv6 blocks tracked at once. */
  readonly maxSources6: number;
  /** `overflow:` deny-all|permissive: what happens when the IPv4 table is full. */
  readonly overflow: 'deny-all' | 'permissive';
  /** `overflow6:`: the same for IPv6 (defaults to `overflow`). */
  readonly overflow6: 'deny-all' | 'permissive';
}

/** One PermitOpen / PermitListen entry: `host:port`, either part may be `*` (PermitListen also takes a bare port). */
export interface SshdPermitRule {
  /** A host name or address (no brackets), or `*` for any (a PermitListen entry given as a bare port has host `*`). */
  readonly host: string;
  /** A port number, or '*' for any. */
  readonly port: number | '*';
}

/** `PermitOpen` / `PermitListen`: 'any' (default), 'none', or a list of rules. */
export type SshdPermitList = 'any' | 'none' | readonly SshdPermitRule[];

/** sshd's log levels; `DEBUG1` is read as `DEBUG` (the same level, the name sshd prints), so settings never hold `DEBUG1`. */
export type SshdLogLevel = 'QUIET' | 'FATAL' | 'ERROR' | 'INFO' | 'VERBOSE' | 'DEBUG' | 'DEBUG1' | 'DEBUG2' | 'DEBUG3';

export type SshdSyslogFacility =
  | 'DAEMON' | 'USER' | 'AUTH' | 'AUTHPRIV'
  | 'LOCAL0' | 'LOCAL1' | 'LOCAL2' | 'LOCAL3' | 'LOCAL4' | 'LOCAL5' | 'LOCAL6' | 'LOCAL7';

/** `AllowTcpForwarding` / `AllowStreamLocalForwarding` (`all` is read as `yes`, as sshd does). */
export type SshdForwardingPermission = 'yes' | 'no' | 'local' | 'remote';

/** `PubkeyAuthOptions` (default none: both false). */
export interface SshdPubkeyAuthOptions {
  /** `touch-required`: a security-key signature must show a touch, even where authorized_keys says `no-touch-required`. */
  readonly touchRequired: boolean;
  /** `verify-required`: a security-key signature must show user verification (a PIN or biometric). */
  readonly verifyRequired: boolean;
}

/** The effective sshd configuration for one connection (or for none: the global values). */
export interface SshdSettings {
  // ---- listening ----
  /** `Port` (accumulates; default [22]). */
  readonly ports: readonly number[];
  /** `ListenAddress` (accumulates; default []: every address of `addressFamily` on each port). */
  readonly listenAddresses: readonly SshdListenAddress[];
  /** `AddressFamily` any|inet|inet6 (default any). */
  readonly addressFamily: 'any' | 'inet' | 'inet6';

  // ---- host keys and algorithms ----
  /** `HostKey` (accumulates; default /etc/ssh/ssh_host_rsa_key, _ecdsa_key, _ed25519_key, used only when no HostKey line is given: `HostKey none` gives []). */
  readonly hostKeys: readonly string[];
  /** `HostCertificate` (accumulates; default []). */
  readonly hostCertificates: readonly string[];
  /** `HostKeyAlgorithms`, resolved against Nacre's defaults (+/-/^ applied). */
  readonly hostKeyAlgorithms: readonly string[];
  /** `KexAlgorithms`, resolved likewise. */
  readonly kexAlgorithms: readonly string[];
  /** `Ciphers`, resolved likewise. */
  readonly ciphers: readonly string[];
  /** `MACs`, resolved likewise. */
  readonly macs: readonly string[];
  /** `PubkeyAcceptedAlgorithms` (user keys and certificates), resolved likewise. */
  readonly pubkeyAcceptedAlgorithms: readonly string[];
  /** `CASignatureAlgorithms`: what a CA may sign a user certificate with, resolved likewise (default leaves out ssh-rsa). */
  readonly caSignatureAlgorithms: readonly string[];
  /** `Compression` (default yes; `delayed` is yes): false offers only `none`. */
  readonly compression: boolean;

  // ---- authentication ----
  /** `PermitRootLogin` (default prohibit-password; `without-password` is read as prohibit-password). */
  readonly permitRootLogin: 'yes' | 'prohibit-password' | 'forced-commands-only' | 'no';
  /** `PubkeyAuthentication` (default yes). */
  readonly pubkeyAuthentication: boolean;
  /**
   * `RequiredRSASize` in bits (default 1024): RSA user keys (plain or in a
   * certificate) and RSA host keys with a smaller modulus are refused. RSA
   * keys under 1024 bits are refused whatever it says, as in sshd.
   */
  readonly requiredRsaSize: number;
  /** `PubkeyAuthOptions` (default none). */
  readonly pubkeyAuthOptions: SshdPubkeyAuthOptions;
  /** `PasswordAuthentication` (default yes, as sshd; nacred checks passwords against `passwordFile`). */
  readonly passwordAuthentication: boolean;
  /** `KbdInteractiveAuthentication` (default yes; `ChallengeResponseAuthentication` is its old name). */
  readonly kbdInteractiveAuthentication: boolean;
  /**
   * `AuthenticationMethods`: lists of methods, each list one way to log in
   * (`publickey,password publickey,keyboard-interactive` is
   * [['publickey','password'],['publickey','keyboard-interactive']]; a method
   * may carry a submethod, `keyboard-interactive:pam`). Default `any`: [].
   */
  readonly authenticationMethods: readonly (readonly string[])[];
  /**
   * `AuthorizedKeysFile` patterns (default .ssh/authorized_keys
   * .ssh/authorized_keys2; `none`: []). Relative paths are relative to the
   * user's home; expand with expandAuthorizedPath.
   */
  readonly authorizedKeysFiles: readonly string[];
  /** `AuthorizedPrincipalsFile` (default none: null); %-tokens as AuthorizedKeysFile. */
  readonly authorizedPrincipalsFile: string | null;
  /** `TrustedUserCAKeys` (default none: null). */
  readonly trustedUserCAKeys: string | null;
  /** `RevokedKeys` (default none: null). */
  readonly revokedKeys: string | null;
  /** `StrictModes` (default yes). */
  readonly strictModes: boolean;
  /** `MaxAuthTries` (default 6). */
  readonly maxAuthTries: number;
  /** `LoginGraceTime` in seconds (default 120; 0: no limit). */
  readonly loginGraceTime: number;
  /** `AllowUsers` patterns, `user` or `user@host` (default []: everyone). */
  readonly allowUsers: readonly string[];
  /** `DenyUsers` patterns (default []). */
  readonly denyUsers: readonly string[];
  /** `AllowGroups` patterns (default []: every group). */
  readonly allowGroups: readonly string[];
  /** `DenyGroups` patterns (default []). */
  readonly denyGroups: readonly string[];
  /**
   * `PasswordFile` — Nacre only, not an sshd keyword: the scrypt password
   * file password authentication checks (default /etc/nacre/passwd).
   * `nacred -T` prints it; leave it out of files that sshd also reads.
   */
  readonly passwordFile: string;

  // ---- admission ----
  /** `MaxSessions` per connection (default 10). */
  readonly maxSessions: number;
  /** `MaxStartups` (default 10:30:100). */
  readonly maxStartups: SshdMaxStartups;
  /** `PerSourceMaxStartups` (default none: Infinity). */
  readonly perSourceMaxStartups: number;
  /** `PerSourceNetBlockSize` (default 32:128). */
  readonly perSourceNetBlockSize: SshdNetBlockSize;
  /** `PerSourcePenalties` (see the type for defaults). */
  readonly perSourcePenalties: SshdPerSourcePenalties;
  /** `PerSourcePenaltyExemptList`: address/CIDR patterns never penalised (default none: []). */
  readonly perSourcePenaltyExemptList: readonly string[];
  /** `RefuseConnection` (default no): refuse every connection this configuration applies to. */
  readonly refuseConnection: boolean;
  /** `ClientAliveInterval` in seconds (default 0: off). */
  readonly clientAliveInterval: number;
  /** `ClientAliveCountMax` (default 3). */
  readonly clientAliveCountMax: number;

  // ---- sessions ----
  /** `ForceCommand` (default none: null). */
  readonly forceCommand: string | null;
  /** `PermitTTY` (default yes). */
  readonly permitTTY: boolean;
  /** `PermitUserEnvironment`: yes, no (default), or a pattern list of variable names allowed from ~/.ssh/environment and environment=. */
  readonly permitUserEnvironment: boolean | readonly string[];
  /** `AcceptEnv` patterns (accumulates; a Match block's list replaces the global one; default []). */
  readonly acceptEnv: readonly string[];
  /** `SetEnv NAME=value ...` (default []; the first SetEnv line wins, and in it the first value of a name). */
  readonly setEnv: readonly { readonly name: string; readonly value: string }[];
  /**
   * `Subsystem name command...` (default none): name -> command line (arguments
   * re-quoted as sshd prints them). A repeated name keeps the first; a Match
   * block that sets any Subsystem replaces the whole global set (as sshd 10.0).
   */
  readonly subsystems: ReadonlyMap<string, string>;
  /** `Banner` file (default none: null). */
  readonly banner: string | null;
  /**
   * `ChrootDirectory` (default none: null), tokens (%h, %u, %U, %%) not yet
   * expanded. nacred applies it to internal-sftp sessions only (other
   * sessions are refused while it is set).
   */
  readonly chrootDirectory: string | null;
  /** `PrintMotd` (default yes). */
  readonly printMotd: boolean;
  /** `PermitUserRC` (default yes): run ~/.ssh/rc. */
  readonly permitUserRC: boolean;

  // ---- forwarding ----
  /** `AllowTcpForwarding` (default yes). */
  readonly allowTcpForwarding: SshdForwardingPermission;
  /** `AllowStreamLocalForwarding` (default yes). */
  readonly allowStreamLocalForwarding: SshdForwardingPermission;
  /** `AllowAgentForwarding` (default yes). */
  readonly allowAgentForwarding: boolean;
  /** `GatewayPorts` (default no). */
  readonly gatewayPorts: 'yes' | 'no' | 'clientspecified';
  /** `PermitOpen` (default any). */
  readonly permitOpen: SshdPermitList;
  /** `PermitListen` (default any). */
  readonly permitListen: SshdPermitList;
  /** `DisableForwarding` (default no): overrides every forwarding permission above. */
  readonly disableForwarding: boolean;

  // ---- process ----
  /** `PidFile` (default /run/nacred.pid; `none`: null). sshd's default is /run/sshd.pid: nacred does not share it. */
  readonly pidFile: string | null;
  /** `LogLevel` (default INFO). */
  readonly logLevel: SshdLogLevel;
  /** `SyslogFacility` (default AUTH; nacred logs to stderr, the facility is kept for -T). */
  readonly syslogFacility: SshdSyslogFacility;
}
