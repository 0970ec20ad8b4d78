// Declarative message schemas: each SSH message is declared once, as a list of
// typed fields, and both its TypeScript type and its codec come from that
// declaration (the x/crypto/ssh `sshtype` idea, with types inferred).
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';

export interface Field<T> {
  readonly kind: string;
  read(r: Reader, name: string): T;
  write(w: Writer, value: T): void;
}

function field<T>(kind: string, read: (r: Reader, name: string) => T, write: (w: Writer, v: T) => void): Field<T> {
  return { kind, read, write };
}

/** Field constructors, one per RFC 4251 data type. */
export const f = {
  byte: () => field<number>('byte', (r, n) => r.byte(n), (w, v) => void w.byte(v)),
  boolean: () => field<boolean>('boolean', (r, n) => r.boolean(n), (w, v) => void w.boolean(v)),
  uint32: () => field<number>('uint32', (r, n) => r.uint32(n), (w, v) => void w.uint32(v)),
  uint64: () => field<bigint>('uint64', (r, n) => r.uint64(n), (w, v) => void w.uint64(v)),
  /** Binary `string`. */
  bytes: (limit = 256 * 1024) => field<Uint8Array>('bytes', (r, n) => r.string(n, limit), (w, v) => void w.string(v)),
  /** UTF-8 `string`. */
  text: (limit = 256 * 1024) => field<string>('text', (r, n) => r.text(n, limit), (w, v) => void w.string(v)),
  nameList: () => field<string[]>('name-list', (r, n) => r.nameList(n), (w, v) => void w.nameList(v)),
  mpint: () => field<bigint>('mpint', (r, n) => r.mpint(n), (w, v) => void w.mpint(v)),
  /** Exactly `n` raw bytes. */
  fixed: (size: number) =>
    field<Uint8Array>(
      `fixed${size}`,
      (r, n) => r.raw(size, n),
      (w, v) => {
        if (v.length !== size) throw new RangeError(`fixed field needs ${size} bytes, got ${v.length}`);
        w.raw(v);
      },
    ),
  /** All remaining bytes (for messages whose tail depends on a method name). */
  rest: () => field<Uint8Array>('rest', (r) => r.rest(), (w, v) => void w.raw(v)),
  /** A repeated group until the payload ends (e.g. EXT_INFO's count-prefixed pairs are handled separately). */
} as const;

type Fields = Readonly<Record<string, Field<unknown>>>;
export type FieldsValue<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never };

export interface MessageSchema<F extends Fields> {
  readonly number: number;
  readonly name: string;
  readonly fields: F;
  encode(value: FieldsValue<F>): Uint8Array;
  /** Throws ProtocolError when the payload is not this message or is malformed. */
  decode(payload: Uint8Array): FieldsValue<F>;
}

export type MessageOf<S> = S extends MessageSchema<infer F> ? FieldsValue<F> : never;

export function message<F extends Fields>(number: number, name: string, fields: F): MessageSchema<F> {
  const entries = Object.entries(fields) as [string, Field<unknown>][];
  return {
    number,
    name,
    fields,
    encode(value) {
      const w = new Writer(64);
      w.byte(number);
      const v = value as Record<string, unknown>;
      for (const [key, fd] of entries) fd.write(w, v[key]);
      return w.finish();
    },
    decode(payload) {
      const r = new Reader(payload, 0, name);
      const got = r.byte('message number');
      if (got !== number) throw new ProtocolError(`expected ${name} (${number}), got message ${got}`);
      const out: Record<string, unknown> = {};
      for (const [key, fd] of entries) out[key] = fd.read(r, key);
      r.end();
      return out as FieldsValue<F>;
    },
  };
}
