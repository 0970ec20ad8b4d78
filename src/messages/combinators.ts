// Fields built from other fields, for the shapes the SFTP, agent and
// certificate formats use: counted lists (SFTP NAME, agent IDENTITIES_ANSWER),
// lists that run to the end of their string (certificate principals and
// options), fixed groups (EXT_INFO's name/value pairs), a string whose content
// is itself a schema (a certificate inside a key blob), and groups present
// when a bit of a flags word is set (SFTP ATTRS). Every count from the wire is
// compared with the bytes left before anything is built for it.
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { checkOnlyLastToEnd, subPath, type Field } from './struct.js';

const DEFAULT_STRING_LIMIT = 256 * 1024;

function needsBoundedItems(what: string, item: Field<unknown>): void {
  if (item.toEnd) throw new TypeError(`${what}: an item that takes the rest of the input cannot repeat`);
  // a zero-byte item would let a count (or a loop) grow without consuming input
  if (item.minBytes < 1) throw new TypeError(`${what}: items must take at least one byte`);
}

export interface ListField<T> extends Field<T[]> {
  readonly kind: 'list';
  readonly item: Field<T>;
  readonly max: number;
}

/** `uint32 count` then `count` items. `max` caps the count a decoder accepts. */
export function list<T>(item: Field<T>, max = Number.POSITIVE_INFINITY): ListField<T> {
  needsBoundedItems('list', item);
  return {
    kind: 'list',
    item,
    max,
    minBytes: 4,
    toEnd: false,
    read(r, path) {
      const count = r.uint32(`${path} count`);
      if (count > max) throw new ProtocolError(`${path}: ${count} entries, over the limit of ${max}`);
      if (count > r.remaining / item.minBytes) {
        throw new ProtocolError(`${path}: ${count} entries cannot fit in the ${r.remaining} bytes left`);
      }
      const out: T[] = [];
      for (let i = 0; i < count; i++) out.push(item.read(r, `${path}[${i}]`));
      return out;
    },
    write(w, items) {
      if (items.length > max) throw new RangeError(`list of ${items.length} entries is over its limit of ${max}`);
      w.uint32(items.length);
      for (const v of items) item.write(w, v);
    },
  };
}

export interface RepeatedField<T> extends Field<T[]> {
  readonly kind: 'repeated';
  readonly item: Field<T>;
  readonly max: number;
}

/** Items one after another until the input ends (no count): the last field only. */
export function repeated<T>(item: Field<T>, max = Number.POSITIVE_INFINITY): RepeatedField<T> {
  needsBoundedItems('repeated', item);
  return {
    kind: 'repeated',
    item,
    max,
    minBytes: 0,
    toEnd: true,
    read(r, path) {
      const out: T[] = [];
      while (r.remaining > 0) {
        if (out.length >= max) throw new ProtocolError(`${path}: more than ${max} entries`);
        out.push(item.read(r, `${path}[${out.length}]`));
      }
      return out;
    },
    write(w, items) {
      if (items.length > max) throw new RangeError(`repeated field of ${items.length} entries is over its limit of ${max}`);
      for (const v of items) item.write(w, v);
    },
  };
}

type TupleValue<T extends readonly Field<unknown>[]> = { -readonly [K in keyof T]: T[K] extends Field<infer V> ? V : never };

export interface TupleField<T extends readonly Field<unknown>[]> extends Field<TupleValue<T>> {
  readonly kind: 'tuple';
  readonly items: T;
}

/** Unnamed fields in a row, read as a TypeScript tuple (e.g. a name/value pair). */
export function tuple<T extends readonly Field<unknown>[]>(...items: T): TupleField<T> {
  checkOnlyLastToEnd('tuple', items.map((fd, i) => [String(i), fd] as const));
  return {
    kind: 'tuple',
    items,
    minBytes: items.reduce((n, fd) => n + fd.minBytes, 0),
    toEnd: items.length > 0 && items[items.length - 1]!.toEnd,
    read(r, path) {
      return items.map((fd, i) => fd.read(r, `${path}[${i}]`)) as TupleValue<T>;
    },
    write(w, value) {
      const v = value as readonly unknown[];
      items.forEach((fd, i) => fd.write(w, v[i]));
    },
  };
}

export interface WrappedField<T> extends Field<T> {
  readonly kind: 'wrapped';
  readonly inner: Field<T>;
}

/**
 * A `string` whose content is itself a schema (a certificate in a key blob,
 * a key inside an agent message). The content must be used up exactly.
 */
export function wrapped<T>(inner: Field<T>, limit = DEFAULT_STRING_LIMIT): WrappedField<T> {
  return {
    kind: 'wrapped',
    inner,
    minBytes: 4,
    toEnd: false,
    read(r, path) {
      const content = new Reader(r.string(path, limit), 0, path);
      const value = inner.read(content, '');
      content.end();
      return value;
    },
    write(w, value) {
      const content = new Writer(64);
      inner.write(content, value);
      w.string(content.finish());
    },
  };
}

/** A member of `flagged` that is on the wire only when `bit` is set in the flags word. */
export interface FlagGroup<T> {
  readonly kind: 'if-set';
  readonly bit: number;
  readonly field: Field<T>;
}

export function ifSet<T>(bit: number, field: Field<T>): FlagGroup<T> {
  // one bit per group, so encode can say exactly which groups follow
  if (!Number.isInteger(bit) || bit <= 0 || bit > 0x80000000 || (bit & (bit - 1)) !== 0) {
    throw new TypeError(`ifSet: ${bit} is not a single bit of a uint32`);
  }
  return { kind: 'if-set', bit, field };
}

type Members = Readonly<Record<string, Field<unknown> | FlagGroup<unknown>>>;
type Flatten<T> = { [K in keyof T]: T[K] };
export type FlaggedValue<M extends Members> = Flatten<
  { -readonly [K in keyof M as M[K] extends FlagGroup<unknown> ? K : never]?: M[K] extends FlagGroup<infer T> ? T : never } & {
    -readonly [K in keyof M as M[K] extends FlagGroup<unknown> ? never : K]: M[K] extends Field<infer T> ? T : never;
  }
>;

export interface FlaggedField<M extends Members> extends Field<FlaggedValue<M>> {
  readonly kind: 'flagged';
  readonly members: M;
}

function isGroup(m: Field<unknown> | FlagGroup<unknown>): m is FlagGroup<unknown> {
  return m.kind === 'if-set';
}

/**
 * `uint32 flags` then the members in order, those declared with `ifSet` only
 * when their bit is set (SFTP's ATTRS). Encoding sets exactly the bits of the
 * groups whose value is present; decoding refuses bits it has no group for,
 * since their fields could not be skipped.
 */
export function flagged<M extends Members>(members: M): FlaggedField<M> {
  const entries = Object.entries(members) as [string, Field<unknown> | FlagGroup<unknown>][];
  checkOnlyLastToEnd('flagged', entries.map(([k, m]) => [k, isGroup(m) ? m.field : m] as const));
  let known = 0;
  for (const [key, m] of entries) {
    if (!isGroup(m)) continue;
    if (known & m.bit) throw new TypeError(`flagged: ${key} reuses bit 0x${m.bit.toString(16)}`);
    known = (known | m.bit) >>> 0;
  }
  const last = entries[entries.length - 1]?.[1];
  return {
    kind: 'flagged',
    members,
    minBytes: 4 + entries.reduce((n, [, m]) => n + (isGroup(m) ? 0 : m.minBytes), 0),
    toEnd: last !== undefined && (isGroup(last) ? last.field.toEnd : last.toEnd),
    read(r, path) {
      const flags = r.uint32(subPath(path, 'flags'));
      const unknown = (flags & ~known) >>> 0;
      if (unknown !== 0) throw new ProtocolError(`${path || 'flags'}: flag bits 0x${unknown.toString(16)} are not understood`);
      const out: Record<string, unknown> = {};
      for (const [key, m] of entries) {
        if (!isGroup(m)) out[key] = m.read(r, subPath(path, key));
        else if (flags & m.bit) out[key] = m.field.read(r, subPath(path, key));
      }
      return out as FlaggedValue<M>;
    },
    write(w, value) {
      const v = value as Record<string, unknown>;
      let flags = 0;
      for (const [key, m] of entries) if (isGroup(m) && v[key] !== undefined) flags |= m.bit;
      w.uint32(flags >>> 0);
      for (const [key, m] of entries) {
        if (!isGroup(m)) m.write(w, v[key]);
        else if (v[key] !== undefined) m.field.write(w, v[key]);
      }
    },
  };
}
