// AllowUsers, DenyUsers, AllowGroups and DenyGroups as sshd applies them
// (auth.c's allowed_user): DenyUsers first, then AllowUsers (when set, the
// user must be listed), then DenyGroups and AllowGroups against all the
// user's groups. A `user@host` pattern also tests the client: the host part
// is a list of addresses/CIDR networks and host name patterns (`!`
// negating), compared with the client's address and its name (sshd uses the
// address as the name, UseDNS being off).
import { globMatch } from '../wire/glob.js';
import { addressListMatch } from './sshd-config-match.js';
import { matchPatternList } from './ssh-config-match.js';
import type { SshdSettings } from './sshd-config-types.js';

/** Who is logging in, from where. */
export interface SshdLoginSubject {
  readonly user: string;
  /** All the user's groups by name (primary first). */
  readonly groups: readonly string[];
  /** The client's address. */
  readonly addr: string;
  /** The client's host name; default its address (sshd with UseDNS no). */
  readonly host?: string;
}

export type SshdAccessVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** match_host_and_ip: 1 when the client matches the host part, 0 otherwise. */
function hostAndAddressMatch(host: string, addr: string, patterns: string): boolean {
  const byAddress = addressListMatch(addr, patterns);
  if (byAddress === -1 || byAddress === -2) return false;
  const byName = matchPatternList(host, patterns, true);
  if (byName === -1) return false;
  return byName === 1 || byAddress === 1;
}

/** match_user: `pattern` is `user` or `user@host-patterns` (split at the last @). */
export function sshdUserPatternMatches(pattern: string, who: SshdLoginSubject): boolean {
  const at = pattern.lastIndexOf('@');
  if (at < 0) return globMatch(who.user, pattern);
  if (!globMatch(who.user, pattern.slice(0, at))) return false;
  return hostAndAddressMatch((who.host ?? who.addr).toLowerCase(), who.addr, pattern.slice(at + 1));
}

/**
 * Whether `who` may try to log in under these settings, and if not, sshd's
 * log reason ("User alice from 192.0.2.1 not allowed because listed in
 * DenyUsers").
 */
export function sshdUserAccess(s: SshdSettings, who: SshdLoginSubject): SshdAccessVerdict {
  const from = `User ${who.user} from ${who.host ?? who.addr} not allowed because`;
  if (s.denyUsers.some((p) => sshdUserPatternMatches(p, who))) return { allowed: false, reason: `${from} listed in DenyUsers` };
  if (s.allowUsers.length > 0 && !s.allowUsers.some((p) => sshdUserPatternMatches(p, who))) return { allowed: false, reason: `${from} not listed in AllowUsers` };
  if (s.denyGroups.length > 0 || s.allowGroups.length > 0) {
    if (who.groups.length === 0) return { allowed: false, reason: `${from} not in any group` };
    const listed = (patterns: readonly string[]) => who.groups.some((g) => patterns.some((p) => globMatch(g, p)));
    if (s.denyGroups.length > 0 && listed(s.denyGroups)) return { allowed: false, reason: `${from} a group is listed in DenyGroups` };
    if (s.allowGroups.length > 0 && !listed(s.allowGroups)) return { allowed: false, reason: `${from} none of user's groups are listed in AllowGroups` };
  }
  return { allowed: true };
}
