// How a receiver checks a forwarded rating, in plain Node with no dependency: the reference for
// integrators (README, "For integrators"), and a second, independent implementation of the
// signature that `cargo xtask test` runs over every envelope case of wire/vectors/vectors.json.
// usage: node e2e/verify-envelope.mjs wire/vectors/vectors.json
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

/** RFC 4648 base32 without padding (the secret part of `zspk1:upstream:<kid>:<BASE32>`; also
 *  what `wire::base32` writes for challenges). */
export function base32(text) {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const c of text) {
    const v = abc.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

/** Keys by id from a keyring text: `zspk1:upstream:<kid>:<BASE32>`, comma or space separated. */
export function keyring(text) {
  const keys = new Map();
  for (const k of text.split(/[,\s]+/).filter(Boolean)) {
    const [prefix, purpose, kid, secret] = k.split(":");
    if (prefix !== "zspk1" || purpose !== "upstream") throw new Error(`not an upstream key: ${k}`);
    keys.set(Number(kid), base32(secret));
  }
  return keys;
}

/**
 * Checks `Zsp-Signature: t=<unix>,k=<kid>,v2=<hex>` over the request: HMAC-SHA256 with the key
 * `kid` of [0x0f ‖ "zsp-envelope-v2" ‖ t ‖ "." ‖ Idempotency-Key ‖ "." ‖ Zsp-Revision ‖ "." ‖
 * body], the body as raw bytes. Returns "verified" or an error code (the same codes as
 * wire::envelope::verify).
 */
export function verify(keys, header, idempotencyKey, revision, body, now, toleranceSecs = 300) {
  const f = {};
  for (const part of header.split(",")) {
    const [k, v, ...rest] = part.trim().split("=");
    if (v === undefined || rest.length || !["t", "k", "v2"].includes(k) || k in f) {
      return "envelope.malformed_header";
    }
    f[k] = v;
  }
  if (!/^\d+$/.test(f.t ?? "") || !/^\d+$/.test(f.k ?? "") || !/^[0-9a-f]{64}$/.test(f.v2 ?? "")
    || !/^\d{1,9}$/.test(revision ?? "")) {
    return "envelope.malformed_header";
  }
  const key = keys.get(Number(f.k));
  if (!key) return "envelope.unknown_key";
  const domain = Buffer.from("zsp-envelope-v2");
  const mac = createHmac("sha256", key)
    .update(Buffer.from([domain.length]))
    .update(domain)
    .update(`${f.t}.${idempotencyKey}.${revision}.`)
    .update(body)
    .digest();
  if (!timingSafeEqual(mac, Buffer.from(f.v2, "hex"))) return "envelope.bad_signature";
  if (Math.abs(now - Number(f.t)) > toleranceSecs) return "envelope.stale";
  return "verified";
}

/**
 * What a receiver does with a verified revision, given the highest revision of the same rating
 * it has taken (`taken`, undefined or null for none): "verified" (take it), "envelope.duplicate"
 * (seen: acknowledge, take nothing) or "envelope.out_of_order" (answer 409: revision 1 first).
 */
export function admit(taken, revision) {
  const r = Number(revision);
  if (taken != null) return r <= taken ? "envelope.duplicate" : "verified";
  return r === 1 ? "verified" : "envelope.out_of_order";
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const v = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const keys = keyring(v.keys.upstream.join(","));
  let failed = 0;
  for (const c of v.envelope) {
    let got = verify(keys, c.signature, c.idempotency_key, c.revision, Buffer.from(c.body, "utf8"), c.now);
    if (got === "verified") got = admit(c.taken, c.revision);
    const want = c.expect.ok ?? c.expect.error;
    console.log(`${got === want ? "ok  " : "FAIL"} ${c.name}: ${got}${got === want ? "" : ` (want ${want})`}`);
    if (got !== want) failed++;
  }
  console.log(`${v.envelope.length - failed} of ${v.envelope.length} envelope cases agree`);
  process.exitCode = failed ? 1 : 0;
}
