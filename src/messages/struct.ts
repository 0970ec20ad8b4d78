// The one mechanism under every schema: a field knows how to read and write
// one value, and `struct` reads and writes a sequence of named fields.
// `message()` is a struct behind a message-number byte; the channel and
// global request tails are plain structs; the combinators in `combinators.ts`
// nest structs inside lists, flag groups and strings.
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';

export interface Field<T> {
  /** What the field is on the wire; composite fields also expose their parts. */
  readonly kind: string;
  /**
   * The fewest bytes any encoding of this field takes. A count read from the
   * wire is checked against `remaining / minBytes` before anything is built.
   */
  readonly minBytes: number;
  /** True when the field takes everything left, so it can only come last. */
  readonly toEnd: boolean;
  /** `path` names the field in errors (`names[2].attrs.size`). */
  read(r: Reader, path: string): T;
  write(w: Writer, value: T): void;
}

export type Fields = Readonly<Record<string, Field<unknown>>>;
export type FieldsValue<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never };
/** The value type a field reads and writes. */
export type ValueOf<X> = X extends Field<infer T> ? T : never;

/** A sequence of named fields, usable alone (`encode`/`decode`) or inside another schema. */
export interface Struct<F extends Fields> extends Field<FieldsValue<F>> {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: F;
  encode(value: FieldsValue<F>): Uint8Array;
  /** Throws ProtocolError when the bytes are malformed or have bytes left over. */
  decode(bytes: Uint8Array): FieldsValue<F>;
}

/** `a.b` for nested field names; the top level has no prefix. */
export function subPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Rejects declarations that cannot be parsed: a field that takes the rest of
 * the input must be the last. A mistake in a declaration, so a TypeError.
 */
export function checkOnlyLastToEnd(what: string, parts: readonly (readonly [string, Field<unknown>])[]): void {
  parts.forEach(([key, fd], i) => {
    if (fd.toEnd && i !== parts.length - 1) throw new TypeError(`${what}: ${key} takes the rest of the input, so it must come last`);
  });
}

/** Runs a decode, naming the schema in errors raised below it that do not already. */
export function decoding<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof ProtocolError && !e.message.startsWith(`${name}:`)) {
      throw new ProtocolError(`${name}: ${e.message}`, e.reason, { cause: e });
    }
    throw e;
  }
}

export function struct<F extends Fields>(fields: F, name = 'struct'): Struct<F> {
  const entries = Object.entries(fields) as [string, Field<unknown>][];
  checkOnlyLastToEnd(name, entries);
  const read = (r: Reader, path: string): FieldsValue<F> => {
    const out: Record<string, unknown> = {};
    for (const [key, fd] of entries) out[key] = fd.read(r, subPath(path, key));
    return out as FieldsValue<F>;
  };
  const write = (w: Writer, value: FieldsValue<F>): void => {
    const v = value as Record<string, unknown>;
    for (const [key, fd] of entries) fd.write(w, v[key]);
  };
  return {
    kind: 'struct',
    name,
    fields,
    minBytes: entries.reduce((n, [, fd]) => n + fd.minBytes, 0),
    toEnd: entries.length > 0 && entries[entries.length - 1]![1].toEnd,
    read,
    write,
    encode(value) {
      const w = new Writer(64);
      write(w, value);
      return w.finish();
    },
    decode(bytes) {
      return decoding(name, () => {
        const r = new Reader(bytes, 0, name);
        const out = read(r, '');
        r.end();
        return out;
      });
    },
  };
}
