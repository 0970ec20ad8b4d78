// The local terminal's settings as a pty-req carries them (RFC 4254 §8,
// RFC 8160's IUTF8), read from the text `stty -a` prints. Node has no
// tcgetattr, and `stty -a` is there on every Unix; its output is the one
// readable, documented form of the termios state (the `-g` form is a
// different private encoding per platform). Both layouts are parsed: GNU
// coreutils (Linux) and the BSDs/macOS. Pure: text in, modes out.

/** stty's name of each control character → the mode name (both spellings of "reprint"). */
const CHARACTERS: Readonly<Record<string, string>> = {
  intr: 'VINTR',
  quit: 'VQUIT',
  erase: 'VERASE',
  kill: 'VKILL',
  eof: 'VEOF',
  eol: 'VEOL',
  eol2: 'VEOL2',
  start: 'VSTART',
  stop: 'VSTOP',
  susp: 'VSUSP',
  dsusp: 'VDSUSP',
  rprnt: 'VREPRINT',
  reprint: 'VREPRINT',
  werase: 'VWERASE',
  lnext: 'VLNEXT',
  swtch: 'VSWTCH',
  status: 'VSTATUS',
  discard: 'VDISCARD',
};

/** stty's flag names → mode names; `-name` in the output means off. */
const FLAGS: Readonly<Record<string, string>> = {
  ignpar: 'IGNPAR',
  parmrk: 'PARMRK',
  inpck: 'INPCK',
  istrip: 'ISTRIP',
  inlcr: 'INLCR',
  igncr: 'IGNCR',
  icrnl: 'ICRNL',
  iuclc: 'IUCLC',
  ixon: 'IXON',
  ixany: 'IXANY',
  ixoff: 'IXOFF',
  imaxbel: 'IMAXBEL',
  iutf8: 'IUTF8',
  isig: 'ISIG',
  icanon: 'ICANON',
  xcase: 'XCASE',
  echo: 'ECHO',
  echoe: 'ECHOE',
  echok: 'ECHOK',
  echonl: 'ECHONL',
  noflsh: 'NOFLSH',
  tostop: 'TOSTOP',
  iexten: 'IEXTEN',
  echoctl: 'ECHOCTL',
  echoke: 'ECHOKE',
  pendin: 'PENDIN',
  opost: 'OPOST',
  olcuc: 'OLCUC',
  onlcr: 'ONLCR',
  ocrnl: 'OCRNL',
  onocr: 'ONOCR',
  onlret: 'ONLRET',
  parenb: 'PARENB',
  parodd: 'PARODD',
};

/** What OpenSSH sends for a disabled control character. */
const DISABLED = 255;

export interface LocalTerminalSettings {
  /** Modes by RFC 4254 name, ready for `PtyOptions.modes`. */
  readonly modes: Record<string, number>;
  readonly rows?: number;
  readonly cols?: number;
}

/**
 * A control character as stty shows it: `^C`, `^?`, `M-^C`/`M-x` (meta,
 * +128), a single character, or `<undef>`/`undef` (disabled). Null when
 * the text is none of these.
 */
export function parseControlCharacter(text: string): number | null {
  if (text === '<undef>' || text === 'undef') return DISABLED;
  let meta = 0;
  let rest = text;
  if (rest.length > 2 && rest.startsWith('M-')) {
    meta = 128;
    rest = rest.slice(2);
  }
  if (rest === '^?') return meta + 127;
  if (rest.length === 2 && rest[0] === '^') {
    const c = rest.charCodeAt(1);
    if (c >= 0x40 && c <= 0x5f) return meta + (c - 0x40);
    if (c >= 0x61 && c <= 0x7a) return meta + (c - 0x60);
    return null;
  }
  if (rest.length === 1) {
    const c = rest.charCodeAt(0);
    return c < 128 ? meta + c : null;
  }
  return null;
}

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,9}$/.test(text)) return undefined;
  return Number(text);
}

/** Parses `stty -a` output (GNU or BSD layout); unknown words are ignored, so any text gives a result. */
export function parseSttyAll(text: string): LocalTerminalSettings {
  const modes: Record<string, number> = {};
  // Control characters: `name = value;` in both layouts.
  for (const m of text.matchAll(/(?:^|[\s;])([a-z0-9]+) = (\S+?);/g)) {
    const name = CHARACTERS[m[1]!];
    if (name === undefined) continue;
    const value = parseControlCharacter(m[2]!);
    if (value !== null) modes[name] = value;
  }
  // Flags: the words that are `[-]name`, with the `name = value;` pairs removed first.
  const words = text.replace(/[a-z0-9]+ = \S+?;/g, ' ').split(/[\s;]+/);
  let charSize: number | undefined;
  for (const word of words) {
    const m = /^(-?)([a-z0-9]+)$/.exec(word);
    if (!m) continue;
    const name = FLAGS[m[2]!];
    if (name !== undefined) modes[name] = m[1] === '-' ? 0 : 1;
    else if (m[1] === '' && /^cs[5-8]$/.test(m[2]!)) charSize = Number(m[2]!.slice(2));
  }
  // OpenSSH sends CS7 and CS8 as the bits of the size field on Linux: an
  // 8-bit terminal has both set.
  if (charSize !== undefined) {
    modes.CS7 = charSize >= 7 ? 1 : 0;
    modes.CS8 = charSize === 8 ? 1 : 0;
  }
  const ispeed = positiveInt(/(?:^|[\s;])(?:i?speed) ([0-9]+) baud/.exec(text)?.[1]);
  const ospeed = positiveInt(/(?:^|[\s;])(?:o?speed) ([0-9]+) baud/.exec(text)?.[1]);
  if (ispeed !== undefined) modes.TTY_OP_ISPEED = ispeed;
  if (ospeed !== undefined) modes.TTY_OP_OSPEED = ospeed;
  // GNU: "rows 24; columns 80;"; BSD: "24 rows; 80 columns;".
  const rows = positiveInt(/(?:^|[\s;])rows ([0-9]+)/.exec(text)?.[1] ?? /([0-9]+) rows/.exec(text)?.[1]);
  const cols = positiveInt(/(?:^|[\s;])columns ([0-9]+)/.exec(text)?.[1] ?? /([0-9]+) columns/.exec(text)?.[1]);
  return { modes, ...(rows !== undefined ? { rows } : {}), ...(cols !== undefined ? { cols } : {}) };
}
