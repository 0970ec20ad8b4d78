// The terminal modes of a pty-req (RFC 4254 §8), turned into `stty`
// arguments so the program's pseudo-terminal starts the way the user's own
// terminal is set (sshd applies them with tcsetattr; node-pty offers no
// termios call, so the runner runs `stty` on the new terminal first).
//
// stty refuses the whole command line when one argument is unknown to it, so
// only settings this platform's stty knows are passed, and values that
// would be refused (a speed stty has no name for, a character code above
// 255) are left out rather than sent.

/** Control characters: mode name → stty name. */
const CHARACTERS: Readonly<Record<string, string>> = {
  VINTR: 'intr',
  VQUIT: 'quit',
  VERASE: 'erase',
  VKILL: 'kill',
  VEOF: 'eof',
  VEOL: 'eol',
  VEOL2: 'eol2',
  VSTART: 'start',
  VSTOP: 'stop',
  VSUSP: 'susp',
  VDSUSP: 'dsusp',
  VREPRINT: 'rprnt',
  VWERASE: 'werase',
  VLNEXT: 'lnext',
  VSWTCH: 'swtch',
  VSTATUS: 'status',
  VDISCARD: 'discard',
};

/** Flags: mode name → stty name (`name` sets it, `-name` clears it). */
const FLAGS: Readonly<Record<string, string>> = {
  IGNPAR: 'ignpar',
  PARMRK: 'parmrk',
  INPCK: 'inpck',
  ISTRIP: 'istrip',
  INLCR: 'inlcr',
  IGNCR: 'igncr',
  ICRNL: 'icrnl',
  IUCLC: 'iuclc',
  IXON: 'ixon',
  IXANY: 'ixany',
  IXOFF: 'ixoff',
  IMAXBEL: 'imaxbel',
  IUTF8: 'iutf8',
  ISIG: 'isig',
  ICANON: 'icanon',
  XCASE: 'xcase',
  ECHO: 'echo',
  ECHOE: 'echoe',
  ECHOK: 'echok',
  ECHONL: 'echonl',
  NOFLSH: 'noflsh',
  TOSTOP: 'tostop',
  IEXTEN: 'iexten',
  ECHOCTL: 'echoctl',
  ECHOKE: 'echoke',
  PENDIN: 'pendin',
  OPOST: 'opost',
  OLCUC: 'olcuc',
  ONLCR: 'onlcr',
  OCRNL: 'ocrnl',
  ONOCR: 'onocr',
  ONLRET: 'onlret',
  PARENB: 'parenb',
  PARODD: 'parodd',
};

/** What each platform's stty lacks (Linux: GNU coreutils; the BSDs and macOS: their own). */
const MISSING: Readonly<Record<string, ReadonlySet<string>>> = {
  linux: new Set(['dsusp', 'status', 'pendin']),
  darwin: new Set(['swtch', 'iuclc', 'xcase', 'olcuc', 'iutf8']),
  freebsd: new Set(['swtch', 'iuclc', 'xcase', 'olcuc', 'ocrnl', 'onocr', 'onlret', 'iutf8']),
};

/** Speeds stty accepts by number on every platform above. */
const SPEEDS = new Set([
  0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400,
]);

/** The value OpenSSH sends for a disabled control character (_POSIX_VDISABLE). */
const DISABLED = 255;

/**
 * `stty` arguments that apply `modes` (as decoded from a pty-req, by name) on
 * `platform` (default this process's). Unknown, unsupported or unusable
 * entries are skipped; the result is empty when nothing applies.
 */
export function sttyArguments(modes: Readonly<Record<string, number>>, platform: string = process.platform): string[] {
  const missing = MISSING[platform] ?? MISSING.linux!;
  const known = (name: string): boolean => !missing.has(name);
  const args: string[] = [];
  for (const [mode, value] of Object.entries(modes)) {
    const character = CHARACTERS[mode];
    if (character !== undefined) {
      const spelled = sttyCharacter(value, platform);
      if (known(character) && spelled !== null) args.push(character, spelled);
      continue;
    }
    const flag = FLAGS[mode];
    if (flag !== undefined) {
      if (known(flag)) args.push(value === 0 ? `-${flag}` : flag);
    }
  }
  // Character size: OpenSSH sends CS7 and CS8 as bits of the size field, so
  // an 8-bit terminal has both set; stty has no "-cs8", only the size to use.
  if ((modes.CS8 ?? 0) !== 0) args.push('cs8');
  else if ((modes.CS7 ?? 0) !== 0) args.push('cs7');
  const ispeed = modes.TTY_OP_ISPEED;
  const ospeed = modes.TTY_OP_OSPEED;
  if (ispeed !== undefined && SPEEDS.has(ispeed)) args.push('ispeed', String(ispeed));
  if (ospeed !== undefined && SPEEDS.has(ospeed)) args.push('ospeed', String(ospeed));
  return args;
}

/**
 * How stty is told a control character: `^X` for the C0 controls and `^?`
 * for DEL (every stty reads these), the character itself when printable (a
 * single character is always taken literally, even a digit), `undef` for
 * OpenSSH's "disabled", and a decimal code for 128–254, which only GNU stty
 * reads (three digits, so never mistaken for a literal). Null: not sendable.
 */
function sttyCharacter(value: number, platform: string): string | null {
  if (value === DISABLED) return 'undef';
  if (value < 32) return `^${String.fromCharCode(value + 64)}`;
  if (value === 127) return '^?';
  if (value < 127) return String.fromCharCode(value);
  if (value < DISABLED && platform === 'linux') return String(value);
  return null;
}

/** Single-quotes `s` for /bin/sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that runs `file args` on a terminal set by `sttyArgs`: the
 * program itself when there is nothing to set, otherwise `/bin/sh -c` with
 * `stty` first (its errors are dropped: a terminal that refuses a setting
 * keeps its default, as with sshd) and `exec` of the program, so it keeps the
 * process (and the pid signals are sent to).
 */
export function withTerminalSettings(file: string, args: readonly string[], sttyArgs: readonly string[]): { file: string; args: string[] } {
  if (sttyArgs.length === 0) return { file, args: [...args] };
  const script = `stty ${sttyArgs.map(shellQuote).join(' ')} 2>/dev/null; exec "$0" "$@"`;
  return { file: '/bin/sh', args: ['-c', script, file, ...args] };
}
