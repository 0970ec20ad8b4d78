// A KRL's contents as `ssh-keygen -Q -l` prints them (OpenSSH's krl_dump):
// a header, then the explicit keys (by SHA256 fingerprint), the SHA256 and
// SHA1 hash lists (hex), and one block per CA with its serials (merged into
// ranges) and key ids, each list sorted as OpenSSH's trees keep them. The text
// is close to ssh-keygen -k's spec format, so it can be edited and fed back.
import { blobKeyType } from './blob.js';
import { fingerprintSha256 } from './fingerprint.js';
import type { Krl } from './krl.js';

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

/** Control characters as OpenSSH's vis(VIS_OCTAL) writes them, so a comment cannot break the listing. */
function safeText(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Sorted, without repeats (OpenSSH keeps each list in a tree). */
function uniqueSorted(blobs: Uint8Array[]): Uint8Array[] {
  const sorted = [...blobs].sort(compareBytes);
  return sorted.filter((b, i) => i === 0 || compareBytes(sorted[i - 1]!, b) !== 0);
}

/** Serial ranges merged where they overlap or touch, in order. */
function mergeRanges(ranges: [bigint, bigint][]): [bigint, bigint][] {
  const sorted = [...ranges].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && (last[1] === UINT64_MAX || lo <= last[1] + 1n)) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

interface CaBlock {
  readonly caKey: Uint8Array | null;
  readonly ranges: [bigint, bigint][];
  readonly keyIds: Set<string>;
}

/**
 * The listing `ssh-keygen -Q -l -f krl` prints (without the per-key lines
 * that follow it). `localTimestamp` formats the generation date as
 * ssh-keygen does, `YYYYMMDDTHHMMSS` in local time; the default uses the
 * process's time zone.
 */
export function formatKrl(krl: Krl, localTimestamp: (seconds: bigint) => string = defaultTimestamp): string {
  const lines: string[] = [`# KRL version ${krl.version}`, `# Generated at ${localTimestamp(krl.generatedDate)}`];
  if (krl.comment !== '') lines.push(`# Comment: ${safeText(krl.comment)}`);
  lines.push('');
  const keys: Uint8Array[] = [];
  const sha256: Uint8Array[] = [];
  const sha1: Uint8Array[] = [];
  const blocks: CaBlock[] = [];
  const blockFor = (caKey: Uint8Array | null): CaBlock => {
    let block = blocks.find((b) => (b.caKey === null || caKey === null ? b.caKey === caKey : compareBytes(b.caKey, caKey) === 0));
    if (!block) {
      block = { caKey, ranges: [], keyIds: new Set() };
      blocks.push(block);
    }
    return block;
  };
  for (const section of krl.sections) {
    if (section.type === 'explicit-keys') keys.push(...section.keys);
    else if (section.type === 'sha256') sha256.push(...section.hashes);
    else if (section.type === 'sha1') sha1.push(...section.hashes);
    else if (section.type === 'certificates') {
      const block = blockFor(section.caKey);
      for (const rule of section.rules) {
        if (rule.type === 'serial-list') for (const s of rule.serials) block.ranges.push([s, s]);
        else if (rule.type === 'serial-range') block.ranges.push([rule.min, rule.max]);
        else if (rule.type === 'serial-bitmap') {
          for (let byte = 0; byte < rule.bitmap.length; byte++) {
            const value = rule.bitmap[rule.bitmap.length - 1 - byte]!;
            for (let bit = 0; bit < 8; bit++) {
              if (value & (1 << bit)) {
                const serial = rule.offset + BigInt(byte * 8 + bit);
                block.ranges.push([serial, serial]);
              }
            }
          }
        } else if (rule.type === 'key-ids') for (const id of rule.keyIds) block.keyIds.add(id);
      }
    }
  }
  for (const k of uniqueSorted(keys)) lines.push(`hash: ${fingerprintSha256(k)} # ${blobKeyType(k)}`);
  for (const h of uniqueSorted(sha256)) lines.push(`hash: SHA256:${hex(h)}`);
  // ssh-keygen -k has no keyword for a raw SHA1 hash, so they are listed as comments
  for (const h of uniqueSorted(sha1)) lines.push(`# hash SHA1:${hex(h)}`);
  for (const block of blocks) {
    lines.push('');
    lines.push(block.caKey === null ? '# Wildcard CA' : `# CA key ${blobKeyType(block.caKey)} ${fingerprintSha256(block.caKey)}`);
    for (const [lo, hi] of mergeRanges(block.ranges)) lines.push(lo === hi ? `serial: ${lo}` : `serial: ${lo}-${hi}`);
    const ids = [...block.keyIds].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const id of ids) lines.push(`id: ${safeText(id)}`);
  }
  return lines.map((l) => l + '\n').join('');
}

function defaultTimestamp(seconds: bigint): string {
  if (seconds > BigInt(8.64e12)) return '<INVALID>';
  const d = new Date(Number(seconds) * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}T${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}
