/**
 * npm run keygen: prints a new random API key (32 bytes, base64url) and its SHA-256 hex hash.
 * Give the key to the client; put the hash in API_KEY_HASHES (comma-separated for several keys).
 * The server only ever holds the hash.
 */
import { generateKey } from "../src/api/security/keys.js";

const { key, hash } = generateKey();
process.stdout.write(`key:  ${key}\nhash: ${hash}\n\n`);
process.stderr.write(
  `Give the key to the client (Authorization: Bearer <key> or X-API-Key: <key>).\nAdd the hash to the server: API_KEY_HASHES=${hash}\n`,
);
