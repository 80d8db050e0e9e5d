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

/** A 统一社会信用代码 (GB 32100-2015): 18 characters of its alphabet, the last its check. */
export function usccOk(code) {
  const abc = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  if (typeof code !== "string" || code.length !== 18) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = abc.indexOf(code[i]);
    if (v < 0) return false;
    sum += v * w[i];
  }
  return code[17] === abc[(31 - (sum % 31)) % 31];
}

const LEVELS_ZH = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"];

/**
 * What is wrong with a body under its mapping (an empty list: nothing), checked as a receiver
 * would: the fields each mapping requires, their formats, and both level directions against the
 * national reason codes, whose first digit is the level with 5 = 非常满意.
 */
export function checkBody(mapping, text) {
  const b = JSON.parse(text);
  const bad = [];
  const need = (k, test, what) => { if (!(k in b) || !test(b[k])) bad.push(`${k}: ${what} (got ${JSON.stringify(b[k])})`); };
  const tagsOf = (s) => s === "" ? [] : s.split(",").map(Number);
  if (mapping === "project") {
    need("schema", (v) => v === "zsp.rating", "zsp.rating");
    need("satisfaction_gbt39046", (v) => v === 6 - b.satisfaction_provincial, "6 − the provincial code");
    need("tags", (v) => v.every((t) => Math.floor(t / 100) === b.satisfaction_provincial), "reasons of the level");
  } else if (mapping === "provincial") {
    need("areaCode", (v) => /^\d{6,9}$/.test(v), "6 to 9 digits");
    need("deptCode", usccOk, "a 统一社会信用代码 with its check character");
    need("satisfaction", (v) => /^[1-5]$/.test(v), "1 to 5 as text");
    need("evalDetail", (v) => tagsOf(v).every((t) => Math.floor(t / 100) === Number(b.satisfaction)), "reasons of the level (5 = 非常满意)");
    need("assessTime", (v) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v), "yyyy-MM-dd HH:mm:ss");
    need("assessNumber", (v) => /^[12]$/.test(v), "1 or 2 as text");
    need("pf", (v) => /^[1-7]$/.test(v), "a channel code");
    for (const k of ["userProp", "anonymityFlag", "publicFlag", "status"]) need(k, (v) => /^\d$/.test(v), "a one-digit code");
    for (const k of ["taskCode", "taskName", "proManager", "writingEvaluation"]) need(k, (v) => typeof v === "string", "text");
  } else if (mapping === "gbt39046") {
    need("办件编号", (v) => typeof v === "string" && v.length >= 1 && v.length <= 50, "an..50");
    need("评价渠道", (v) => /^\d{1,2}$/.test(v), "a channel code");
    need("评价人", (v) => typeof v === "string" && v.length >= 1 && v.length <= 30, "..30");
    need("评价时间", (v) => /^\d{8}T\d{6}$/.test(v), "YYYYMMDDThhmmss");
    need("评价次数", (v) => Number.isInteger(v) && v >= 1 && v <= 99, "n..2");
    need("满意度", (v) => LEVELS_ZH.includes(v), "a level's name");
    need("满意度代码", (v) => v === LEVELS_ZH.indexOf(b["满意度"]) + 1, "A.8: 1 = 非常满意, as the name says");
    need("测评内容", (v) => tagsOf(v).every((t) => Math.floor(t / 100) === 6 - b["满意度代码"]), "reasons of the level");
    need("文字评价", (v) => typeof v === "string", "text");
    need("行政区划", (v) => /^\d{6,9}$/.test(v), "n..9");
  } else {
    bad.push(`unknown mapping ${mapping}`);
  }
  return bad;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const v = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const keys = keyring(v.keys.upstream.join(","));
  let failed = 0;
  for (const c of v.envelope) {
    let got = verify(keys, c.signature, c.idempotency_key, c.revision, Buffer.from(c.body, "utf8"), c.now);
    if (got === "verified") got = admit(c.taken, c.revision);
    // A body the receiver would take must be right under its mapping, field by field.
    if (got === "verified") {
      const wrong = checkBody(c.mapping, c.body);
      if (wrong.length) got = `body: ${wrong.join("; ")}`;
    }
    const want = c.expect.ok ?? c.expect.error;
    console.log(`${got === want ? "ok  " : "FAIL"} ${c.name}: ${got}${got === want ? "" : ` (want ${want})`}`);
    if (got !== want) failed++;
  }
  console.log(`${v.envelope.length - failed} of ${v.envelope.length} envelope cases agree`);
  process.exitCode = failed ? 1 : 0;
}
