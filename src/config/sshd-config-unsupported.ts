// The sshd keywords Nacre does not implement, read as far as sshd reads
// them: their values are checked with sshd's wording (so `nacred -t` refuses
// what `sshd -t` refuses), and a value under which sshd behaves as Nacre
// does anyway (`UsePAM no`, `X11Forwarding no` ...) is accepted without a
// warning. Every other line of these keywords gets "Unsupported option".
import type { ConfigLine } from './ssh-config-lex.js';
import { SshdValueError, parseTime } from './sshd-config-numbers.js';

type Check = 'flag' | 'int' | 'time-or-none' | readonly string[];

/** What sshd accepts for each; keywords not listed take any value. */
const CHECKS: Readonly<Record<string, Check>> = {
  usepam: 'flag',
  x11forwarding: 'flag',
  x11uselocalhost: 'flag',
  x11displayoffset: 'int',
  printlastlog: 'flag',
  tcpkeepalive: 'flag',
  keepalive: 'flag',
  ignorerhosts: ['yes', 'no', 'shosts-only'],
  ignoreuserknownhosts: 'flag',
  hostbasedauthentication: 'flag',
  hostbasedusesnamefrompacketonly: 'flag',
  permitemptypasswords: 'flag',
  usedns: 'flag',
  permittunnel: ['no', 'point-to-point', 'ethernet', 'yes'],
  streamlocalbindunlink: 'flag',
  exposeauthinfo: 'flag',
  gssapiauthentication: 'flag',
  gssapicleanupcredentials: 'flag',
  gssapistrictacceptorcheck: 'flag',
  kerberosauthentication: 'flag',
  unusedconnectiontimeout: 'time-or-none',
};

/**
 * Values under which sshd does what nacred does without the feature (no PAM,
 * no X11, no tunnels, no host-based or Kerberos/GSSAPI logins, no DNS, no
 * rhosts); `*` when the keyword only tunes a feature Nacre lacks.
 */
const SAME_AS_NACRE: Readonly<Record<string, string>> = {
  usepam: 'no',
  x11forwarding: 'no',
  x11uselocalhost: '*',
  x11displayoffset: '*',
  xauthlocation: '*',
  permittunnel: 'no',
  hostbasedauthentication: 'no',
  hostbasedusesnamefrompacketonly: '*',
  hostbasedacceptedalgorithms: '*',
  ignoreuserknownhosts: '*',
  ignorerhosts: 'yes',
  permitemptypasswords: 'no',
  usedns: 'no',
  exposeauthinfo: 'no',
  gssapiauthentication: 'no',
  gssapicleanupcredentials: '*',
  gssapistrictacceptorcheck: '*',
  kerberosauthentication: 'no',
  kerberosorlocalpasswd: '*',
  kerberosticketcleanup: '*',
  kerberosgetafstoken: '*',
  pamservicename: '*',
};

function fail(message: string): never {
  throw new SshdValueError(message);
}

/**
 * Checks an unsupported keyword's line as sshd would; returns true when the
 * line changes nothing for nacred (no warning needed). Throws SshdValueError.
 */
export function checkUnsupportedLine(keyword: string, line: ConfigLine, written: string): boolean {
  const check = CHECKS[keyword];
  const arg = line.args[0];
  if (check !== undefined) {
    if (arg === undefined || arg === '') fail('missing argument.');
    if (check === 'flag' || Array.isArray(check)) {
      const allowed: readonly string[] = check === 'flag' ? ['yes', 'no'] : check;
      // PermitTunnel is compared with case, and complained about in its own words.
      if (keyword === 'permittunnel' && !allowed.includes(arg)) fail(`bad ${written} argument ${arg}`);
      if (!allowed.includes(arg.toLowerCase())) fail(`unsupported option "${arg}".`);
    } else if (check === 'int') {
      if (/^-\d+$/.test(arg)) fail(`${written} integer value too small.`);
      if (!/^\d+$/.test(arg)) fail(`${written} integer value invalid.`);
    } else if (arg.toLowerCase() !== 'none' && parseTime(arg) === null) {
      fail('invalid time value.');
    }
    if (line.args.length > 1) fail(`keyword ${written} extra arguments at end of line`);
  }
  const same = SAME_AS_NACRE[keyword];
  return same === '*' || (same !== undefined && arg !== undefined && arg.toLowerCase() === same);
}
