// Reading DER (X.690): the elements directly inside a constructed value, each
// bounds-checked. Enough to walk the few fixed structures Nacre looks into
// (a DH SubjectPublicKeyInfo, an encrypted PKCS#8 header).

export interface DerElement {
  readonly tag: number;
  readonly body: Uint8Array;
}

/** The elements `bytes` holds one after another, or null when a length runs past the end. */
export function derChildren(bytes: Uint8Array): DerElement[] | null {
  const out: DerElement[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (i + 2 > bytes.length) return null;
    const tag = bytes[i++]!;
    let len = bytes[i++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || i + n > bytes.length) return null;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + bytes[i++]!;
    }
    if (i + len > bytes.length) return null;
    out.push({ tag, body: bytes.subarray(i, i + len) });
    i += len;
  }
  return out;
}
