// Declarative message schemas: each SSH message is declared once, as a list of
// typed fields, and both its TypeScript type and its codec come from that
// declaration (the x/crypto/ssh `sshtype` idea, with types inferred). A
// message is a `struct` (struct.ts) behind its message-number byte.
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { flagged, ifSet, list, repeated, tuple, wrapped } from './combinators.js';
import { decoding, struct, type Field, type Fields, type FieldsValue, type Struct } from './struct.js';

export type { Field, Fields, FieldsValue, Struct, ValueOf } from './struct.js';
export type { FlagGroup, FlaggedField, FlaggedValue, ListField, RepeatedField, TupleField, WrappedField } from './combinators.js';
export { struct } from './struct.js';

function primitive<T>(kind: string, minBytes: number, read: (r: Reader, path: string) => T, write: (w: Writer, v: T) => void): Field<T> {
  return { kind, minBytes, toEnd: false, read, write };
}

export interface FixedField extends Field<Uint8Array> {
  readonly kind: 'fixed';
  readonly size: number;
}

function fixed(size: number): FixedField {
  return {
    kind: 'fixed',
    size,
    minBytes: size,
    toEnd: false,
    read: (r, path) => r.raw(size, path),
    write(w, v) {
      if (v.length !== size) throw new RangeError(`fixed field needs ${size} bytes, got ${v.length}`);
      w.raw(v);
    },
  };
}

/** Field constructors: one per RFC 4251 data type, then the combinators. */
export const f = {
  byte: () => primitive<number>('byte', 1, (r, p) => r.byte(p), (w, v) => void w.byte(v)),
  boolean: () => primitive<boolean>('boolean', 1, (r, p) => r.boolean(p), (w, v) => void w.boolean(v)),
  uint32: () => primitive<number>('uint32', 4, (r, p) => r.uint32(p), (w, v) => void w.uint32(v)),
  uint64: () => primitive<bigint>('uint64', 8, (r, p) => r.uint64(p), (w, v) => void w.uint64(v)),
  /** Binary `string`. */
  bytes: (limit = 256 * 1024) => primitive<Uint8Array>('bytes', 4, (r, p) => r.string(p, limit), (w, v) => void w.string(v)),
  /** UTF-8 `string`. */
  text: (limit = 256 * 1024) => primitive<string>('text', 4, (r, p) => r.text(p, limit), (w, v) => void w.string(v)),
  nameList: () => primitive<string[]>('name-list', 4, (r, p) => r.nameList(p), (w, v) => void w.nameList(v)),
  mpint: () => primitive<bigint>('mpint', 4, (r, p) => r.mpint(p), (w, v) => void w.mpint(v)),
  /** Exactly `size` raw bytes. */
  fixed,
  /** All remaining bytes (for messages whose tail depends on a method or type name); last field only. */
  rest: (): Field<Uint8Array> => ({ kind: 'rest', minBytes: 0, toEnd: true, read: (r) => r.rest(), write: (w, v) => void w.raw(v) }),
  /** Named fields inline (a group inside a list or a flag group). */
  struct,
  /** `uint32 count` then that many items. */
  list,
  /** Items until the input ends, without a count; last field only. */
  repeated,
  /** Unnamed fields in a row, as a TypeScript tuple. */
  tuple,
  /** A `string` whose content is itself a field (usually a struct). */
  wrapped,
  /** `uint32 flags` then members, some present only when their bit is set. */
  flagged,
  /** A `flagged` member present when `bit` is set. */
  ifSet,
} as const;

export interface MessageSchema<F extends Fields> {
  readonly number: number;
  readonly name: string;
  readonly fields: F;
  /** The fields after the message number, as a struct of their own. */
  readonly body: Struct<F>;
  encode(value: FieldsValue<F>): Uint8Array;
  /** Throws ProtocolError when the payload is not this message or is malformed. */
  decode(payload: Uint8Array): FieldsValue<F>;
}

export type MessageOf<S> = S extends MessageSchema<infer F> ? FieldsValue<F> : S extends Struct<infer F> ? FieldsValue<F> : never;

/**
 * A message: the number byte, then `fields`. Take `number` from the module's
 * message-number table so each number is written once.
 */
export function message<F extends Fields>(number: number, name: string, fields: F): MessageSchema<F> {
  const body = struct(fields, name);
  return {
    number,
    name,
    fields,
    body,
    encode(value) {
      const w = new Writer(64);
      w.byte(number);
      body.write(w, value);
      return w.finish();
    },
    decode(payload) {
      return decoding(name, () => {
        const r = new Reader(payload, 0, name);
        const got = r.byte('message number');
        if (got !== number) throw new ProtocolError(`expected ${name} (${number}), got message ${got}`);
        const out = body.read(r, '');
        r.end();
        return out;
      });
    },
  };
}
