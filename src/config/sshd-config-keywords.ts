// The keywords sshd 10 knows (servconf.c's table, plus the few Debian's
// build adds), where each may appear, and what nacred does with it:
//  - supported: parsed, resolved and printed by `-T`;
//  - deprecated / ignored: sshd itself only logs them; nacred warns the same;
//  - unsupported: sshd has them but Nacre does not implement them: nacred
//    warns ("Unsupported option") and runs without them, as sshd does for
//    options compiled out;
//  - refused: options whose absence would quietly widen or change who gets
//    in or what they reach (ChrootDirectory, AuthorizedKeysCommand, ...):
//    any value but `none` is an error, so nacred never runs a config whose
//    meaning it would change.
// `passwordfile` is Nacre's own keyword (sshd does not know it).

export type SshdKeywordKind = 'supported' | 'deprecated' | 'ignored' | 'unsupported' | 'refused';

export interface SshdKeyword {
  /** The keyword as written in lower case. */
  readonly name: string;
  /** The keyword it is an alias of (itself when none). */
  readonly canonical: string;
  /** Allowed inside a Match block (sshd's SSHCFG_ALL). */
  readonly inMatch: boolean;
  readonly kind: SshdKeywordKind;
}

type Row = readonly [name: string, canonical: string, inMatch: boolean, kind: SshdKeywordKind];

const ROWS: readonly Row[] = [
  ['acceptenv', 'acceptenv', true, 'supported'],
  ['addressfamily', 'addressfamily', false, 'supported'],
  ['afstokenpassing', 'afstokenpassing', false, 'unsupported'],
  ['allowagentforwarding', 'allowagentforwarding', true, 'supported'],
  ['allowgroups', 'allowgroups', true, 'supported'],
  ['allowstreamlocalforwarding', 'allowstreamlocalforwarding', true, 'supported'],
  ['allowtcpforwarding', 'allowtcpforwarding', true, 'supported'],
  ['allowusers', 'allowusers', true, 'supported'],
  ['authenticationmethods', 'authenticationmethods', true, 'supported'],
  ['authorizedkeyscommand', 'authorizedkeyscommand', true, 'refused'],
  ['authorizedkeyscommanduser', 'authorizedkeyscommanduser', true, 'unsupported'],
  ['authorizedkeysfile', 'authorizedkeysfile', true, 'supported'],
  ['authorizedkeysfile2', 'authorizedkeysfile2', true, 'deprecated'],
  ['authorizedprincipalscommand', 'authorizedprincipalscommand', true, 'refused'],
  ['authorizedprincipalscommanduser', 'authorizedprincipalscommanduser', true, 'unsupported'],
  ['authorizedprincipalsfile', 'authorizedprincipalsfile', true, 'supported'],
  ['banner', 'banner', true, 'supported'],
  ['casignaturealgorithms', 'casignaturealgorithms', true, 'supported'],
  ['challengeresponseauthentication', 'kbdinteractiveauthentication', true, 'supported'],
  ['channeltimeout', 'channeltimeout', true, 'unsupported'],
  ['checkmail', 'checkmail', false, 'deprecated'],
  ['chrootdirectory', 'chrootdirectory', true, 'supported'],
  ['ciphers', 'ciphers', false, 'supported'],
  ['clientalivecountmax', 'clientalivecountmax', true, 'supported'],
  ['clientaliveinterval', 'clientaliveinterval', true, 'supported'],
  ['compression', 'compression', false, 'supported'],
  ['denygroups', 'denygroups', true, 'supported'],
  ['denyusers', 'denyusers', true, 'supported'],
  ['disableforwarding', 'disableforwarding', true, 'supported'],
  ['dsaauthentication', 'pubkeyauthentication', false, 'supported'],
  ['exposeauthinfo', 'exposeauthinfo', true, 'unsupported'],
  ['fingerprinthash', 'fingerprinthash', false, 'unsupported'],
  ['forcecommand', 'forcecommand', true, 'supported'],
  ['gatewayports', 'gatewayports', true, 'supported'],
  ['gssapiauthentication', 'gssapiauthentication', true, 'unsupported'],
  ['gssapicleanupcredentials', 'gssapicleanupcredentials', false, 'unsupported'],
  ['gssapistrictacceptorcheck', 'gssapistrictacceptorcheck', false, 'unsupported'],
  ['hostbasedacceptedalgorithms', 'hostbasedacceptedalgorithms', true, 'unsupported'],
  ['hostbasedacceptedkeytypes', 'hostbasedacceptedalgorithms', true, 'unsupported'],
  ['hostbasedauthentication', 'hostbasedauthentication', true, 'unsupported'],
  ['hostbasedusesnamefrompacketonly', 'hostbasedusesnamefrompacketonly', true, 'unsupported'],
  ['hostcertificate', 'hostcertificate', false, 'supported'],
  ['hostdsakey', 'hostkey', false, 'supported'],
  ['hostkey', 'hostkey', false, 'supported'],
  ['hostkeyagent', 'hostkeyagent', false, 'unsupported'],
  ['hostkeyalgorithms', 'hostkeyalgorithms', false, 'supported'],
  ['ignorerhosts', 'ignorerhosts', true, 'unsupported'],
  ['ignoreuserknownhosts', 'ignoreuserknownhosts', false, 'unsupported'],
  ['include', 'include', true, 'supported'],
  ['ipqos', 'ipqos', true, 'unsupported'],
  ['kbdinteractiveauthentication', 'kbdinteractiveauthentication', true, 'supported'],
  ['keepalive', 'tcpkeepalive', false, 'unsupported'],
  ['kerberosauthentication', 'kerberosauthentication', true, 'unsupported'],
  ['kerberosgetafstoken', 'kerberosgetafstoken', false, 'unsupported'],
  ['kerberosorlocalpasswd', 'kerberosorlocalpasswd', false, 'unsupported'],
  ['kerberostgtpassing', 'kerberostgtpassing', false, 'unsupported'],
  ['kerberosticketcleanup', 'kerberosticketcleanup', false, 'unsupported'],
  ['kexalgorithms', 'kexalgorithms', false, 'supported'],
  ['keyregenerationinterval', 'keyregenerationinterval', false, 'deprecated'],
  ['listenaddress', 'listenaddress', false, 'supported'],
  ['logingracetime', 'logingracetime', false, 'supported'],
  ['loglevel', 'loglevel', true, 'supported'],
  ['logverbose', 'logverbose', true, 'unsupported'],
  ['macs', 'macs', false, 'supported'],
  ['match', 'match', true, 'supported'],
  ['maxauthtries', 'maxauthtries', true, 'supported'],
  ['maxsessions', 'maxsessions', true, 'supported'],
  ['maxstartups', 'maxstartups', false, 'supported'],
  ['modulifile', 'modulifile', false, 'unsupported'],
  ['pamauthenticationviakbdint', 'pamauthenticationviakbdint', false, 'deprecated'],
  ['pamservicename', 'pamservicename', true, 'unsupported'],
  ['passwordauthentication', 'passwordauthentication', true, 'supported'],
  ['permitemptypasswords', 'permitemptypasswords', true, 'unsupported'],
  ['permitlisten', 'permitlisten', true, 'supported'],
  ['permitopen', 'permitopen', true, 'supported'],
  ['permitrootlogin', 'permitrootlogin', true, 'supported'],
  ['permittty', 'permittty', true, 'supported'],
  ['permittunnel', 'permittunnel', true, 'unsupported'],
  ['permituserenvironment', 'permituserenvironment', false, 'supported'],
  ['permituserrc', 'permituserrc', true, 'supported'],
  ['persourcemaxstartups', 'persourcemaxstartups', false, 'supported'],
  ['persourcenetblocksize', 'persourcenetblocksize', false, 'supported'],
  ['persourcepenalties', 'persourcepenalties', false, 'supported'],
  ['persourcepenaltyexemptlist', 'persourcepenaltyexemptlist', false, 'supported'],
  ['pidfile', 'pidfile', false, 'supported'],
  ['port', 'port', false, 'supported'],
  ['printlastlog', 'printlastlog', false, 'unsupported'],
  ['printmotd', 'printmotd', false, 'supported'],
  ['protocol', 'protocol', false, 'ignored'],
  ['pubkeyacceptedalgorithms', 'pubkeyacceptedalgorithms', true, 'supported'],
  ['pubkeyacceptedkeytypes', 'pubkeyacceptedalgorithms', true, 'supported'],
  ['pubkeyauthentication', 'pubkeyauthentication', true, 'supported'],
  ['pubkeyauthoptions', 'pubkeyauthoptions', true, 'supported'],
  ['rdomain', 'rdomain', true, 'refused'],
  ['refuseconnection', 'refuseconnection', true, 'supported'],
  ['rekeylimit', 'rekeylimit', true, 'unsupported'],
  ['requiredrsasize', 'requiredrsasize', true, 'supported'],
  ['reversemappingcheck', 'reversemappingcheck', false, 'deprecated'],
  ['revokedkeys', 'revokedkeys', true, 'supported'],
  ['rhostsauthentication', 'rhostsauthentication', false, 'deprecated'],
  ['rhostsrsaauthentication', 'rhostsrsaauthentication', true, 'deprecated'],
  ['rsaauthentication', 'rsaauthentication', true, 'deprecated'],
  ['securitykeyprovider', 'securitykeyprovider', false, 'unsupported'],
  ['serverkeybits', 'serverkeybits', false, 'deprecated'],
  ['setenv', 'setenv', true, 'supported'],
  ['skeyauthentication', 'kbdinteractiveauthentication', true, 'supported'],
  ['sshdauthpath', 'sshdauthpath', false, 'unsupported'],
  ['sshdsessionpath', 'sshdsessionpath', false, 'unsupported'],
  ['streamlocalbindmask', 'streamlocalbindmask', true, 'unsupported'],
  ['streamlocalbindunlink', 'streamlocalbindunlink', true, 'unsupported'],
  ['strictmodes', 'strictmodes', false, 'supported'],
  ['subsystem', 'subsystem', true, 'supported'],
  ['syslogfacility', 'syslogfacility', false, 'supported'],
  ['tcpkeepalive', 'tcpkeepalive', false, 'unsupported'],
  ['trustedusercakeys', 'trustedusercakeys', true, 'supported'],
  ['unusedconnectiontimeout', 'unusedconnectiontimeout', true, 'unsupported'],
  ['usedns', 'usedns', false, 'unsupported'],
  ['uselogin', 'uselogin', false, 'deprecated'],
  ['usepam', 'usepam', false, 'unsupported'],
  ['useprivilegeseparation', 'useprivilegeseparation', false, 'deprecated'],
  ['verifyreversemapping', 'verifyreversemapping', false, 'deprecated'],
  ['versionaddendum', 'versionaddendum', false, 'unsupported'],
  ['x11displayoffset', 'x11displayoffset', true, 'unsupported'],
  ['x11forwarding', 'x11forwarding', true, 'unsupported'],
  ['x11uselocalhost', 'x11uselocalhost', true, 'unsupported'],
  ['xauthlocation', 'xauthlocation', false, 'unsupported'],
  ['debianbanner', 'debianbanner', false, 'unsupported'],
  ['gssapikeyexchange', 'gssapikeyexchange', false, 'unsupported'],
  ['gssapistorecredentialsonrekey', 'gssapistorecredentialsonrekey', false, 'unsupported'],
  ['gssapikexalgorithms', 'gssapikexalgorithms', false, 'unsupported'],
  ['passwordfile', 'passwordfile', false, 'supported'],
];

const TABLE: ReadonlyMap<string, SshdKeyword> = new Map(
  ROWS.map(([name, canonical, inMatch, kind]) => [name, { name, canonical, inMatch, kind }]),
);

/** The keyword entry for `name` (any case), or undefined for an unknown keyword. */
export function lookupSshdKeyword(name: string): SshdKeyword | undefined {
  return TABLE.get(name.toLowerCase());
}

/** The canonical names nacred supports (for documentation and tests). */
export function supportedSshdKeywords(): string[] {
  return [...new Set(ROWS.filter((r) => r[3] === 'supported').map((r) => r[1]))].sort();
}
