// A 12345 work-order system's side of the bridge, in plain Node with no dependency: the
// reference for integrators (README, "The 12345 work-order bridge") and the stand-in 12345 the
// end-to-end test drives. It receives orders (`zsp.workorder` v1, signed with the route's secret)
// and sends events back (`zsp.case-event` v1, signed with its own key) to
// `POST /api/v1/cases/<case>/events`, naming its route in `Zsp-Bridge`.
//
// usage:
//   node e2e/workorder-bridge.mjs vectors wire/vectors/vectors.json
//     checks every work-order case of the test vectors with this file's own code;
//   ORDER_SECRET=… EVENT_KEY=… node e2e/workorder-bridge.mjs serve
//     listens on 127.0.0.1 (a free port, printed as {"listening":PORT}), prints each order it
//     takes as {"order":…}, and sends each event read from standard input, one JSON line
//     {"bridge":ROUTE,"url":EVENTS_URL,"event":{"id":…,"type":…,…}}, printing
//     {"sent":ID,"status":…,"body":…}.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** `Zsp-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>." + body)>`. */
export function sign(key, body, t = Math.floor(Date.now() / 1000)) {
  const mac = createHmac("sha256", key).update(`${t}.`).update(body).digest("hex");
  return `t=${t},v1=${mac}`;
}

/** "verified", or why not (the codes of wire::workorder::verify). */
export function verify(key, header, body, now = Math.floor(Date.now() / 1000), toleranceSecs = 300) {
  const f = {};
  for (const part of (header ?? "").split(",")) {
    const [k, v, ...rest] = part.trim().split("=");
    if (v === undefined || rest.length || !["t", "v1"].includes(k) || k in f) return "webhook.malformed_header";
    f[k] = v;
  }
  if (!/^\d{1,12}$/.test(f.t ?? "") || !/^[0-9a-f]{64}$/.test(f.v1 ?? "")) return "webhook.malformed_header";
  const mac = createHmac("sha256", key).update(`${f.t}.`).update(body).digest();
  if (!timingSafeEqual(mac, Buffer.from(f.v1, "hex"))) return "webhook.bad_signature";
  if (Math.abs(now - Number(f.t)) > toleranceSecs) return "webhook.stale";
  return "verified";
}

/** What is wrong with an order's body (an empty list: nothing). */
export function checkOrder(text) {
  const b = JSON.parse(text);
  const bad = [];
  const need = (k, test, what) => { if (!test(b[k])) bad.push(`${k}: ${what} (got ${JSON.stringify(b[k])})`); };
  const time = (v) => typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/.test(v);
  need("format", (v) => v === "zsp.workorder", "zsp.workorder");
  need("version", (v) => v === 1, "1");
  need("id", Number.isInteger, "the outbox row, as in Idempotency-Key order-<id>");
  need("kind", (v) => v === "order" || v === "reopened", "order or reopened");
  need("case", (v) => /^C\d{6,}$/.test(v), "C and the case's number");
  need("level", (v) => v === "dissatisfied" || v === "very_dissatisfied", "a 差评's level");
  need("satisfactionGbt39046", (v) => v === (b.level === "very_dissatisfied" ? 5 : 4), "A.8: 5 = 非常不满意");
  need("reasons", (v) => Array.isArray(v) && v.every((r) => Math.floor(r.code / 100) === 6 - b.satisfactionGbt39046 && r.name), "national reasons of the level, named");
  need("comment", (v) => typeof v === "string", "text");
  need("phone", (v) => v === null || /^1\d{10}$/.test(v), "null, or the consented callback phone");
  for (const k of ["rated_at", "callback_due", "fix_due"]) need(k, time, "RFC 3339, +08:00");
  need("events", (v) => typeof v === "string" && v.endsWith(`/api/v1/cases/${b.case}/events`), "the case's events address");
  if (b.kind === "reopened") need("reopened_at", time, "when it was reopened");
  return bad;
}

const TYPES = ["received", "handling", "replied", "closed", "reopened"];

/** An event's body, as the edge takes it. */
export function event({ id, type, order_no, reply, note }) {
  const e = { format: "zsp.case-event", version: 1, id, type };
  if (order_no) e.order_no = order_no;
  if (reply) e.reply = reply;
  if (note) e.note = note;
  return JSON.stringify(e);
}

/** null, or the field the edge would refuse an event for (as `event.<field>`). */
export function checkEvent(text) {
  let b;
  try { b = JSON.parse(text); } catch { return "event.body"; }
  if (typeof b !== "object" || b === null || Array.isArray(b)) return "event.body";
  if (b.format !== "zsp.case-event") return "event.format";
  if (b.version !== 1) return "event.version";
  const str = (k, max) => b[k] == null || (typeof b[k] === "string" && [...b[k].trim()].length <= max);
  if (typeof b.id !== "string" || !/^[A-Za-z0-9._:-]{1,64}$/.test(b.id.trim())) return "event.id";
  if (!TYPES.includes(b.type)) return "event.type";
  if (!str("order_no", 64)) return "event.order_no";
  if (!str("reply", 500)) return "event.reply";
  if ((b.type === "replied") !== Boolean(b.reply && b.reply.trim())) return "event.reply";
  if (!str("note", 500)) return "event.note";
  return null;
}

function vectors(path) {
  const v = JSON.parse(readFileSync(path, "utf8"));
  let failed = 0;
  for (const c of v.workorder) {
    let got = verify(c.secret, c.signature, Buffer.from(c.body, "utf8"), c.now);
    if (got === "verified" && c.direction === "order") {
      const wrong = checkOrder(c.body);
      if (wrong.length) got = `body: ${wrong.join("; ")}`;
    }
    if (got === "verified" && c.direction === "event") got = checkEvent(c.body) ?? "verified";
    const want = c.expect.ok ?? c.expect.error;
    console.log(`${got === want ? "ok  " : "FAIL"} ${c.name}: ${got}${got === want ? "" : ` (want ${want})`}`);
    if (got !== want) failed++;
  }
  console.log(`${v.workorder.length - failed} of ${v.workorder.length} work-order cases agree`);
  process.exitCode = failed ? 1 : 0;
}

function serve() {
  const secret = process.env.ORDER_SECRET, key = process.env.EVENT_KEY;
  if (!secret || !key) throw new Error("ORDER_SECRET and EVENT_KEY are required");
  const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
  const seen = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const answer = (status, o) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(o)); };
      const why = verify(secret, req.headers["zsp-signature"], body);
      if (why !== "verified") { say({ refused: why }); return answer(401, { error: why }); }
      const wrong = checkOrder(body.toString("utf8"));
      if (wrong.length) { say({ refused: wrong }); return answer(422, { error: wrong }); }
      // An order acknowledged before is acknowledged again, and taken once.
      const idem = req.headers["idempotency-key"];
      if (seen.has(idem)) { say({ duplicate: idem }); return answer(200, { ok: true, duplicate: true }); }
      seen.add(idem);
      say({ order: JSON.parse(body.toString("utf8")), idempotency: idem });
      answer(200, { ok: true });
    });
  });
  server.listen(0, "127.0.0.1", () => say({ listening: server.address().port }));
  const lines = createInterface({ input: process.stdin });
  lines.on("line", async (line) => {
    const { bridge, url, event: e } = JSON.parse(line);
    const body = event(e);
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "zsp-bridge": String(bridge), "zsp-signature": sign(key, body) },
        body,
      });
      const text = await r.text();
      let parsed;
      try { parsed = JSON.parse(text); } catch { parsed = text; }
      say({ sent: e.id, status: r.status, body: parsed });
    } catch (err) {
      say({ sent: e.id, status: 0, body: String(err) });
    }
  });
  // Standard input may end (a demo run without a terminal): the orders are still taken.
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === "vectors") vectors(process.argv[3]);
  else if (process.argv[2] === "serve") serve();
  else { console.error("usage: workorder-bridge.mjs vectors FILE | serve"); process.exitCode = 2; }
}
