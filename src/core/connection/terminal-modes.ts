// Encoded terminal modes, the `modes` string of a "pty-req" (RFC 4254 §8,
// IUTF8 from RFC 8160). The encoding is a list of (opcode byte, argument)
// pairs ended by TTY_OP_END; opcodes 1..159 take a uint32 argument.

import { Reader } from '../../wire/reader.js';
import { Writer } from '../../wire/writer.js';

/** Opcode of each named mode (RFC 4254 §8, RFC 8160). */
export const TerminalModeOpcodes: Readonly<Record<string, number>> = {
  VINTR: 1,
  VQUIT: 2,
  VERASE: 3,
  VKILL: 4,
  VEOF: 5,
  VEOL: 6,
  VEOL2: 7,
  VSTART: 8,
  VSTOP: 9,
  VSUSP: 10,
  VDSUSP: 11,
  VREPRINT: 12,
  VWERASE: 13,
  VLNEXT: 14,
  VFLUSH: 15,
  VSWTCH: 16,
  VSTATUS: 17,
  VDISCARD: 18,
  IGNPAR: 30,
  PARMRK: 31,
  INPCK: 32,
  ISTRIP: 33,
  INLCR: 34,
  IGNCR: 35,
  ICRNL: 36,
  IUCLC: 37,
  IXON: 38,
  IXANY: 39,
  IXOFF: 40,
  IMAXBEL: 41,
  IUTF8: 42,
  ISIG: 50,
  ICANON: 51,
  XCASE: 52,
  ECHO: 53,
  ECHOE: 54,
  ECHOK: 55,
  ECHONL: 56,
  NOFLSH: 57,
  TOSTOP: 58,
  IEXTEN: 59,
  ECHOCTL: 60,
  ECHOKE: 61,
  PENDIN: 62,
  OPOST: 70,
  OLCUC: 71,
  ONLCR: 72,
  OCRNL: 73,
  ONOCR: 74,
  ONLRET: 75,
  CS7: 90,
  CS8: 91,
  PARENB: 92,
  PARODD: 93,
  TTY_OP_ISPEED: 128,
  TTY_OP_OSPEED: 129,
};

const TTY_OP_END = 0;
/** Opcodes from here up have no defined argument, so nothing after one can be parsed. */
const FIRST_UNPARSEABLE = 160;

const nameOf = new Map<number, string>(Object.entries(TerminalModeOpcodes).map(([k, v]) => [v, k]));

function opcodeOf(key: string): number {
  const named = TerminalModeOpcodes[key];
  if (named !== undefined) return named;
  // Opcodes without a name travel under their decimal number, so decode→encode round-trips.
  if (/^[0-9]{1,3}$/.test(key)) {
    const n = Number(key);
    if (n >= 1 && n < FIRST_UNPARSEABLE) return n;
  }
  throw new RangeError(`unknown terminal mode ${JSON.stringify(key)}`);
}

/**
 * Encodes modes given by name (`{ ECHO: 1, TTY_OP_ISPEED: 38400 }`) or by
 * decimal opcode (`{ '44': 1 }`); values are uint32. Ends with TTY_OP_END.
 */
export function encodeTerminalModes(modes: Readonly<Record<string, number>>): Uint8Array {
  const w = new Writer(Object.keys(modes).length * 5 + 1);
  for (const [key, value] of Object.entries(modes)) {
    const op = opcodeOf(key);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`terminal mode ${key} needs a uint32 value, got ${value}`);
    }
    w.byte(op).uint32(value);
  }
  w.byte(TTY_OP_END);
  return w.finish();
}

/**
 * Decodes a modes string into names (or decimal opcodes for unnamed ones);
 * a repeated opcode keeps its last value. Parsing stops at TTY_OP_END, at the
 * end of the bytes (a missing TTY_OP_END is tolerated), or at an opcode of 160
 * or more: RFC 4254 leaves their arguments undefined, so nothing after one
 * can be located and the rest is ignored (as OpenSSH does). A truncated
 * argument is a ProtocolError.
 */
export function decodeTerminalModes(bytes: Uint8Array): Record<string, number> {
  const r = new Reader(bytes, 0, 'terminal modes');
  const out: Record<string, number> = {};
  while (r.remaining > 0) {
    const op = r.byte('opcode');
    if (op === TTY_OP_END || op >= FIRST_UNPARSEABLE) break;
    const value = r.uint32(`argument of opcode ${op}`);
    out[nameOf.get(op) ?? String(op)] = value;
  }
  return out;
}
