// ssh(1)'s escape sequences as a pure state machine: the bytes typed on the
// local terminal go in; what to send to the session and which escape actions
// to take come out, in the order they were typed. As in OpenSSH, the escape
// character counts only at the start of a line (the start of the session, or
// right after a CR or LF), `~~` sends one `~`, and a `~` followed by a
// character with no meaning sends both. No I/O here: the session runner
// (interactive.ts) carries the actions out.

/** What an escape sequence asks for. */
export type EscapeAction =
  | 'disconnect' // ~.
  | 'suspend' // ~^Z
  | 'break' // ~B
  | 'rekey' // ~R
  | 'verbosity-down' // ~V
  | 'verbosity-up' // ~v
  | 'background' // ~&
  | 'list' // ~#
  | 'help' // ~?
  | 'command-line'; // ~C

export type EscapeEvent =
  | { readonly kind: 'data'; readonly bytes: Uint8Array }
  | { readonly kind: 'action'; readonly action: EscapeAction };

const CR = 0x0d;
const LF = 0x0a;
const CTRL_Z = 0x1a;

const ACTIONS: ReadonlyMap<number, EscapeAction> = new Map([
  [0x2e, 'disconnect'], // .
  [CTRL_Z, 'suspend'],
  [0x42, 'break'], // B
  [0x52, 'rekey'], // R
  [0x56, 'verbosity-down'], // V
  [0x76, 'verbosity-up'], // v
  [0x26, 'background'], // &
  [0x23, 'list'], // #
  [0x3f, 'help'], // ?
  [0x43, 'command-line'], // C
]);

/**
 * The escape filter of one session. `escapeChar` is a byte (0..255), or
 * null for EscapeChar none, when every byte passes through untouched.
 */
export class EscapeFilter {
  /** True at the start of a line, where the escape character counts. */
  private atLineStart = true;
  /** The previous byte was an escape character at the start of a line. */
  private pending = false;

  /**
   * `unavailable`: actions this session cannot carry out, whose sequences
   * then mean nothing and pass through (`~&` where nacre cannot go to the
   * background, as ssh's mux client passes it).
   */
  constructor(
    readonly escapeChar: number | null,
    private readonly unavailable: ReadonlySet<EscapeAction> = new Set(),
  ) {
    if (escapeChar !== null && (!Number.isInteger(escapeChar) || escapeChar < 0 || escapeChar > 255)) {
      throw new RangeError(`escape character must be a byte, got ${escapeChar}`);
    }
  }

  /** True while an escape character waits for the next byte (nothing of it was sent yet). */
  get escapePending(): boolean {
    return this.pending;
  }

  /**
   * Filters `chunk` up to and including the first escape action (so what
   * follows it can go elsewhere, e.g. to the `~C` prompt): `events` are the
   * data to send (never empty; consecutive plain bytes as one event) and at
   * most one action, last; `rest` is the part of the chunk not looked at
   * yet. A sequence split across chunks is recognised: the state carries over.
   */
  feed(chunk: Uint8Array): { events: EscapeEvent[]; rest: Uint8Array } {
    const esc = this.escapeChar;
    const none = new Uint8Array(0);
    if (esc === null) return { events: chunk.length > 0 ? [{ kind: 'data', bytes: chunk }] : [], rest: none };
    const events: EscapeEvent[] = [];
    let out: number[] = [];
    const flush = (): void => {
      if (out.length > 0) events.push({ kind: 'data', bytes: Uint8Array.from(out) });
      out = [];
    };
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.pending) {
        this.pending = false;
        const action = byte === esc ? undefined : ACTIONS.get(byte);
        if (action !== undefined && !this.unavailable.has(action)) {
          flush();
          events.push({ kind: 'action', action });
          // The line start stays as it was (ssh's `continue`): `~?~.` works there too.
          return { events, rest: chunk.subarray(i + 1) };
        }
        // `~~` sends one escape character; `~x` sends both.
        if (byte !== esc) out.push(esc);
      } else if (this.atLineStart && byte === esc) {
        this.pending = true;
        continue;
      }
      this.atLineStart = byte === CR || byte === LF;
      out.push(byte);
    }
    flush();
    return { events, rest: none };
  }

  /** Filters the whole chunk, actions and all, in order. */
  feedAll(chunk: Uint8Array): EscapeEvent[] {
    const all: EscapeEvent[] = [];
    let rest = chunk;
    do {
      const r = this.feed(rest);
      all.push(...r.events);
      rest = r.rest;
    } while (rest.length > 0);
    return all;
  }
}

/**
 * Parses an EscapeChar value or `ssh -e` argument as ssh does: one
 * character, `^X` (the control character, `X & 31`), or `none` (null).
 * Throws RangeError with ssh's wording for anything else.
 */
export function parseEscapeChar(value: string): number | null {
  if (value === 'none') return null;
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 1) return bytes[0]!;
  if (bytes.length === 2 && bytes[0] === 0x5e) return bytes[1]! & 31;
  throw new RangeError(`Bad escape character '${value}'.`);
}

/** The escape character as ssh echoes it (the byte itself). */
function shown(escapeChar: number): string {
  return String.fromCharCode(escapeChar);
}

/**
 * The line ssh writes to stderr when it recognises an escape (raw mode is
 * on, so lines end with CR LF); empty for the actions that print their own
 * and for `~R`, which OpenSSH 10 carries out silently.
 */
export function escapeEcho(escapeChar: number, action: EscapeAction): string {
  const e = shown(escapeChar);
  switch (action) {
    case 'disconnect':
      return `${e}.\r\n`;
    case 'suspend':
      return `${e}^Z [suspend ssh]\r\n`;
    case 'break':
      return `${e}B\r\n`;
    case 'list':
      return `${e}#\r\n`;
    case 'background':
      return `${e}& [backgrounded]\r\n`;
    default:
      return '';
  }
}

/** `~V`/`~v`'s line once the level changed. */
export function verbosityEcho(escapeChar: number, action: 'verbosity-down' | 'verbosity-up', levelName: string): string {
  return `${shown(escapeChar)}${action === 'verbosity-down' ? 'V' : 'v'} [LogLevel ${levelName}]\r\n`;
}

/**
 * `~?`: ssh's help, in its wording (a session that is not a mux client's);
 * `~C` is listed only when the command line is enabled (OpenSSH 10 leaves it
 * out under its default EnableEscapeCommandline no), `~&` only when the
 * session can go to the background (ssh leaves it out where it cannot: for
 * a mux client).
 */
export function escapeHelp(escapeChar: number, commandLine = true, background = true): string {
  const e = shown(escapeChar);
  const rows: Array<[string, string]> = [
    ['.', 'terminate connection (and any multiplexed sessions)'],
    ['B', 'send a BREAK to the remote system'],
    ...(commandLine ? [['C', 'open a command line'] as [string, string]] : []),
    ['R', 'request rekey'],
    ['V/v', 'decrease/increase verbosity (LogLevel)'],
    ['^Z', 'suspend ssh'],
    ['#', 'list forwarded connections'],
    ...(background ? [['&', 'background ssh (when waiting for connections to terminate)'] as [string, string]] : []),
    ['?', 'this message'],
  ];
  return (
    `${e}?\r\nSupported escape sequences:\r\n` +
    rows.map(([cmd, text]) => ` ${e}${cmd.padEnd(3)} - ${text}\r\n`).join('') +
    ` ${e}${e}   - send the escape character by typing it twice\r\n` +
    '(Note that escapes are only recognized immediately after newline.)\r\n'
  );
}
