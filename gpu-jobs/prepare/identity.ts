// Review identity: `user_id|parent_asin|timestamp` where the upload has them, else a hash of the content; plus a
// 96-bit hash of it for dedupe and split keys, computed from the identity alone so that it never depends on format.
import { createHash } from "node:crypto";

export interface IdentityParts {
  userId: string | undefined;
  /** parent_asin, else asin. */
  productId: string | undefined;
  timestamp: number | undefined;
  title: string;
  text: string;
  rating: number;
}

/** The identity string that `PreparedReview.id` holds. */
export function reviewIdentity(p: IdentityParts): string {
  if (p.userId !== undefined && p.productId !== undefined && p.timestamp !== undefined) {
    return `${p.userId}|${p.productId}|${p.timestamp}`;
  }
  // Partial ids still take part, so two users' identical short reviews stay apart when user ids exist.
  const content = JSON.stringify([
    p.userId ?? null,
    p.productId ?? null,
    p.timestamp ?? null,
    p.title,
    p.text,
    p.rating,
  ]);
  return `sha256:${createHash("sha256").update(content).digest("hex").slice(0, 32)}`;
}

/** Three 32-bit MurmurHash3 words of a string's UTF-16 code units, with different seeds: 96 bits in all. */
export function hash96(s: string, out: Uint32Array = new Uint32Array(3)): Uint32Array {
  out[0] = murmur3(s, 0x9747b28c);
  out[1] = murmur3(s, 0x1b873593);
  out[2] = murmur3(s, 0x85ebca6b);
  return out;
}

export function murmur3(s: string, seed: number): number {
  let h = seed >>> 0;
  const n = s.length;
  let i = 0;
  // Two UTF-16 code units per 32-bit block.
  for (; i + 1 < n; i += 2) {
    let k = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  return fmix32(h);
}

export function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A number in [0, 1) from a review's hash and the seed: the order stratified splitting and ties of the
 * chronological split use. It depends on the identity and the seed only, not on the file's row order or format.
 */
export function splitKey(h0: number, h1: number, seed: number): number {
  const s = fmix32(seed ^ 0x5bd1e995);
  const hi = fmix32(h0 ^ s) >>> 11; // 21 bits
  const lo = fmix32(h1 ^ Math.imul(s, 0x27d4eb2d)); // 32 bits
  return (hi * 4294967296 + lo) / 9007199254740992;
}
