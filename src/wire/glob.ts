// OpenSSH's wildcard match (match.c's match_pattern): `*` any run, `?` one
// character, everything else literal. Shared by known_hosts, allowed_signers,
// host certificates' principals and authorized_keys' from=/permitopen=.
/** True when `s` matches the glob `pattern`. Backtracks only to the last `*`, so the cost is at most |s|·|pattern|. */
export function globMatch(s: string, pattern: string): boolean {
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const p = pattern[pi];
    if (p === '*') {
      starP = pi++;
      starS = si;
    } else if (p !== undefined && (p === '?' || p === s[si])) {
      pi++;
      si++;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pattern[pi] === '*') pi++;
  return pi === pattern.length;
}
