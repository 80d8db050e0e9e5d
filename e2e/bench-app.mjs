// `cargo xtask bench app`, browser part: fresh loads of one landing page in Debian's chromium with
// CDP throttling. Prints one JSON object of medians. Each peer URL is loaded the same way and
// only its first paint taken: what the same browser, network and CPU allow a smaller page.
// usage: node e2e/bench-app.mjs <url> <loads> <pow-loads> [peer-url …]
import { createHash } from "node:crypto";
import { launch } from "./browser.mjs";
import { base32 } from "./verify-envelope.mjs";

const [url, loads = "5", powLoads = "15", ...peers] = process.argv.slice(2);
const browser = await launch();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/** A fresh context on `target` at `cpu`× slowdown, on the throttled network if `network`. */
async function open(target, cpu, network) {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 640 }, locale: "zh-CN" });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  // Over HTTPS (every deployment) Chromium asks for brotli; over this local http it would not.
  await cdp.send("Network.setExtraHTTPHeaders", { headers: { "Accept-Encoding": "br, gzip" } });
  if (network) {
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false, latency: 150,
      downloadThroughput: (1.6e6) / 8, uploadThroughput: (750e3) / 8,
    });
  }
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: cpu });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The loader says so (a warning) when the app did not load and the plain form stays.
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") errors.push(m.text()); });
  page.on("requestfailed", (r) => errors.push(`${r.url()}: ${r.failure()?.errorText}`));
  // Requests not finished yet: what a page that never starts its app was waiting for.
  const pending = new Set();
  page.on("request", (r) => pending.add(r.url()));
  page.on("requestfinished", (r) => pending.delete(r.url()));
  page.on("requestfailed", (r) => pending.delete(r.url()));
  const seen = { bytes: 0, errors, pending };
  cdp.on("Network.loadingFinished", (e) => { seen.bytes += e.encodedDataLength; });
  const resp = await page.goto(target, { waitUntil: "load" });
  seen.status = resp?.status();
  return { ctx, page, seen };
}

/** The landing page: first paint, app interactive, proof of work done. */
async function load(cpu, network, nth) {
  const { ctx, page, seen } = await open(url, cpu, network);
  try {
    await page.waitForFunction(() => performance.getEntriesByName("zsp:pow").length > 0, null, { timeout: 60000 });
  } catch (e) {
    // What the page was (an error page has no app), and how far the app got.
    const state = await page.evaluate(() => ({
      title: document.title,
      app: !!document.querySelector("script[src*='/assets/app']"),
      form: document.getElementById("zsp-form")?.className,
      marks: performance.getEntriesByType("mark").map((m) => `${m.name}@${Math.round(m.startTime)}`),
    })).catch((err) => ({ unreadable: err.message }));
    throw new Error(`load ${nth} (${cpu}× CPU${network ? ", throttled network" : ""}) never finished its proof of work: ${e.message}; HTTP ${seen.status}, ` +
      `page ${JSON.stringify(state)}, requests pending: ${JSON.stringify([...seen.pending])}, ` +
      `page errors: ${JSON.stringify(seen.errors)}`);
  }
  const m = await page.evaluate(() => ({
    // The header and the five levels are in the server-rendered HTML: its first paint shows them.
    header: performance.getEntriesByName("first-contentful-paint")[0]?.startTime,
    interactive: performance.getEntriesByName("zsp:interactive")[0]?.startTime,
    pow: performance.getEntriesByName("zsp:pow")[0]?.duration,
    // The app's challenge (the plain form has its own, without proof of work).
    challenge: JSON.parse(document.getElementById("zsp-boot")?.textContent ?? "{}").challenge,
    levels: document.querySelectorAll(".levels .level").length,
  }));
  await ctx.close();
  return { ...m, bytes: seen.bytes };
}

/** A peer page's first paint under the same throttling. */
async function firstPaint(target) {
  const { ctx, page } = await open(target, 4, true);
  await page.waitForFunction(() => performance.getEntriesByName("first-contentful-paint").length > 0);
  const ms = await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0].startTime);
  await ctx.close();
  return ms;
}

// Interleaved, so that a slow spell of the machine falls on the page and its peers alike.
const runs = [];
const paints = peers.map(() => []);
for (let i = 0; i < Number(loads); i++) {
  runs.push(await load(4, true, i + 1));
  for (const [j, p] of peers.entries()) paints[j].push(await firstPaint(p));
}
const peerPaint = peers.map((p, j) => ({ url: p, first_paint_ms: median(paints[j]) }));
/** How many counters the page tried: it counts up from 0 to the first that solves (see
 *  `wire::challenge`: SHA-256 of the 54 bytes and the counter, big-endian; byte 37 the difficulty). */
function tries(text) {
  const bytes = base32(text); const difficulty = bytes[37]; const counter = Buffer.alloc(4);
  for (let c = 0; ; c++) {
    counter.writeUInt32BE(c);
    const h = createHash("sha256").update(bytes).update(counter).digest();
    let zeros = 0;
    for (const b of h) { if (b) { zeros += Math.clz32(b) - 24; break; } zeros += 8; }
    if (zeros >= difficulty) return { tries: c + 1, difficulty };
  }
}
// A solve's time is the time of one try times a count that is luck (geometric, mean 2^difficulty):
// fifteen draws give a median that swings by a third. So each solve is also divided by its count,
// and the median citizen's solve (ln 2 × 2^difficulty tries) is the median time a try.
const pows = [];
const perTry = [];
let difficulty;
for (let i = 0; i < Number(powLoads); i++) {
  const r = await load(6, false, i + 1);
  const t = tries(r.challenge);
  difficulty = t.difficulty;
  pows.push(r.pow);
  perTry.push(r.pow / t.tries);
}
await browser.close();
if (runs.some((r) => r.levels !== 5 || r.header === undefined || r.interactive === undefined)) {
  console.error(JSON.stringify(runs));
  process.exit(1);
}
console.log(JSON.stringify({
  header_ms: median(runs.map((r) => r.header)),
  interactive_ms: median(runs.map((r) => r.interactive)),
  transfer_bytes: median(runs.map((r) => r.bytes)),
  pow_6x_median_ms: median(pows),
  pow_6x_max_ms: Math.max(...pows),
  pow_difficulty: difficulty,
  pow_6x_try_us: median(perTry) * 1000,
  pow_6x_median_citizen_ms: median(perTry) * Math.LN2 * 2 ** difficulty,
  peers: peerPaint,
  loads: runs.length,
  pow_loads: pows.length,
}));
