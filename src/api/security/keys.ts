/**
 * API keys. The server holds only SHA-256 digests (API_KEY_HASHES); a presented key is hashed and
 * its digest compared with every configured digest using crypto.timingSafeEqual. The loop never
 * stops early, so the time taken does not say which digest (if any) matched or how much of it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** SHA-256 hex digest of a key, as it goes into API_KEY_HASHES. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** A new random key (32 bytes, base64url: 43 characters) and its hash. */
export function generateKey(): { key: string; hash: string } {
  const key = randomBytes(32).toString("base64url");
  return { key, hash: hashKey(key) };
}

/** Longest key we bother hashing; anything longer cannot be one of ours. */
const MAX_KEY_LENGTH = 1024;

export class KeyRing {
  private readonly digests: Buffer[];
  private readonly hex: string[];

  constructor(hashes: string[]) {
    this.hex = hashes.map((h) => h.toLowerCase());
    this.digests = this.hex.map((h) => Buffer.from(h, "hex"));
  }

  /** True when no key is configured: the API is open (and main.ts binds to loopback only). */
  get open(): boolean {
    return this.digests.length === 0;
  }

  /** The configured hash (lower-case hex) the key matches, or null. Empty keys never match. */
  match(key: string | null | undefined): string | null {
    if (!key || key.length > MAX_KEY_LENGTH) return null;
    const d = createHash("sha256").update(key, "utf8").digest();
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) {
      // No early exit: every configured digest is compared.
      if (timingSafeEqual(d, this.digests[i]) && found < 0) found = i;
    }
    return found >= 0 ? this.hex[found] : null;
  }
}
