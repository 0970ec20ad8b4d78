// `nacred -T`: the effective settings in `sshd -T`'s format (servconf.c's
// dump_config): lower-case keywords, sshd's spellings of values and sshd's
// order, for the keywords nacred supports, then Nacre's own PasswordFile.
// Also expandAuthorizedPath, the %-expansion of AuthorizedKeysFile and
// AuthorizedPrincipalsFile.
import type { SshdListenAddress, SshdPermitList, SshdSettings } from './sshd-config-types.js';
import { parseAddress } from '../keys/address-match.js';
import { SshdConfigError } from './sshd-config-types.js';

const yn = (b: boolean) => (b ? 'yes' : 'no');

function hostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The `listenaddress` lines: each ListenAddress once per port when it has
 * none; with no ListenAddress, the wildcard address of each family
 * AddressFamily allows. (sshd resolves host names here; nacred prints a
 * name as written.)
 */
export function listenEndpoints(s: SshdSettings): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  const add = (la: SshdListenAddress) => {
    for (const port of la.port !== undefined ? [la.port] : s.ports) out.push({ host: la.host, port });
  };
  if (s.listenAddresses.length === 0) {
    for (const port of s.ports) {
      if (s.addressFamily !== 'inet') out.push({ host: '::', port });
      if (s.addressFamily !== 'inet6') out.push({ host: '0.0.0.0', port });
    }
  } else {
    for (const la of s.listenAddresses) {
      const addr = parseAddress(la.host);
      // An address of the other family than AddressFamily allows is left out, as getaddrinfo does for sshd.
      if (addr !== null && ((addr.length === 4 && s.addressFamily === 'inet6') || (addr.length === 16 && s.addressFamily === 'inet'))) continue;
      add(la);
    }
  }
  return out;
}

function permitText(list: SshdPermitList): string {
  if (typeof list === 'string') return list;
  return list.map((r) => hostPort(r.host, r.port)).join(' ');
}

/** `sshd -T`'s output for these settings (lines ending in "\n"). */
export function formatSshdConfig(s: SshdSettings): string {
  const out: string[] = [];
  const line = (k: string, v: string | number) => out.push(`${k} ${v}`);
  for (const p of s.ports) line('port', p);
  line('addressfamily', s.addressFamily);
  for (const e of listenEndpoints(s)) line('listenaddress', hostPort(e.host, e.port));
  line('logingracetime', s.loginGraceTime);
  line('maxauthtries', s.maxAuthTries);
  line('maxsessions', s.maxSessions);
  line('clientaliveinterval', s.clientAliveInterval);
  line('clientalivecountmax', s.clientAliveCountMax);
  line('requiredrsasize', s.requiredRsaSize);
  // sshd prints the first spelling of a value in its table: "without-password" for prohibit-password.
  line('permitrootlogin', s.permitRootLogin === 'prohibit-password' ? 'without-password' : s.permitRootLogin);
  line('pubkeyauthentication', yn(s.pubkeyAuthentication));
  line('passwordauthentication', yn(s.passwordAuthentication));
  line('kbdinteractiveauthentication', yn(s.kbdInteractiveAuthentication));
  line('printmotd', yn(s.printMotd));
  line('permittty', yn(s.permitTTY));
  line('permituserrc', yn(s.permitUserRC));
  line('strictmodes', yn(s.strictModes));
  line('compression', yn(s.compression));
  line('gatewayports', s.gatewayPorts);
  line('allowtcpforwarding', s.allowTcpForwarding);
  line('allowagentforwarding', yn(s.allowAgentForwarding));
  line('disableforwarding', yn(s.disableForwarding));
  line('allowstreamlocalforwarding', s.allowStreamLocalForwarding);
  line('refuseconnection', yn(s.refuseConnection));
  line('pidfile', s.pidFile ?? 'none');
  line('ciphers', s.ciphers.join(','));
  line('macs', s.macs.join(','));
  line('banner', s.banner ?? 'none');
  line('forcecommand', s.forceCommand ?? 'none');
  line('chrootdirectory', s.chrootDirectory ?? 'none');
  line('trustedusercakeys', s.trustedUserCAKeys ?? 'none');
  line('revokedkeys', s.revokedKeys ?? 'none');
  line('authorizedprincipalsfile', s.authorizedPrincipalsFile ?? 'none');
  line('kexalgorithms', s.kexAlgorithms.join(','));
  line('casignaturealgorithms', s.caSignatureAlgorithms.join(','));
  line('hostkeyalgorithms', s.hostKeyAlgorithms.join(','));
  line('pubkeyacceptedalgorithms', s.pubkeyAcceptedAlgorithms.join(','));
  line('persourcepenaltyexemptlist', s.perSourcePenaltyExemptList.length === 0 ? 'none' : s.perSourcePenaltyExemptList.join(','));
  line('loglevel', s.logLevel);
  line('syslogfacility', s.syslogFacility);
  line('authorizedkeysfile', s.authorizedKeysFiles.length === 0 ? 'none' : s.authorizedKeysFiles.join(' '));
  for (const k of s.hostKeys) line('hostkey', k);
  for (const c of s.hostCertificates) line('hostcertificate', c);
  for (const u of s.allowUsers) line('allowusers', u);
  for (const u of s.denyUsers) line('denyusers', u);
  for (const g of s.allowGroups) line('allowgroups', g);
  for (const g of s.denyGroups) line('denygroups', g);
  for (const e of s.acceptEnv) line('acceptenv', e);
  for (const e of s.setEnv) line('setenv', `${e.name}=${e.value}`);
  line('authenticationmethods', s.authenticationMethods.length === 0 ? 'any' : s.authenticationMethods.map((m) => m.join(',')).join(' '));
  for (const [name, command] of s.subsystems) line('subsystem', `${name} ${command}`);
  line('maxstartups', `${s.maxStartups.begin}:${s.maxStartups.rate}:${s.maxStartups.full}`);
  line('persourcemaxstartups', Number.isFinite(s.perSourceMaxStartups) ? s.perSourceMaxStartups : 'none');
  line('persourcenetblocksize', `${s.perSourceNetBlockSize.ipv4}:${s.perSourceNetBlockSize.ipv6}`);
  line('permitopen', permitText(s.permitOpen));
  line('permitlisten', permitText(s.permitListen));
  const pue = s.permitUserEnvironment;
  line('permituserenvironment', typeof pue === 'boolean' ? yn(pue) : pue.join(','));
  const pao = [...(s.pubkeyAuthOptions.touchRequired ? ['touch-required'] : []), ...(s.pubkeyAuthOptions.verifyRequired ? ['verify-required'] : [])];
  line('pubkeyauthoptions', pao.length === 0 ? 'none' : pao.join(' '));
  const p = s.perSourcePenalties;
  line(
    'persourcepenalties',
    p.enabled
      ? `crash:${p.crash} authfail:${p.authfail} noauth:${p.noauth} grace-exceeded:${p.graceExceeded} refuseconnection:${p.refuseConnection} max:${p.max} min:${p.min} max-sources4:${p.maxSources4} max-sources6:${p.maxSources6} overflow:${p.overflow} overflow6:${p.overflow6}`
      : 'no',
  );
  // Nacre's own keyword, last so the lines above compare with sshd's.
  line('passwordfile', s.passwordFile);
  return out.map((l) => l + '\n').join('');
}

/**
 * An AuthorizedKeysFile / AuthorizedPrincipalsFile pattern for one user:
 * %% is %, %u the user name, %h the home directory, %U the numeric uid
 * (when given); a path that is still relative is taken from the home
 * directory, as sshd does. Unknown tokens are an SshdConfigError (sshd refuses them).
 */
export function expandAuthorizedPath(pattern: string, user: { readonly user: string; readonly home: string; readonly uid?: number }): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const t = pattern[++i];
    if (t === '%') out += '%';
    else if (t === 'u') out += user.user;
    else if (t === 'h') out += user.home;
    else if (t === 'U' && user.uid !== undefined) out += String(user.uid);
    else throw new SshdConfigError(`unknown token %${t ?? ''} in "${pattern}"`);
  }
  if (!out.startsWith('/')) out = `${user.home.replace(/\/+$/, '')}/${out}`;
  return out;
}
