// The 疑似刷评 queue in Debian's chromium at an office PC's 1366×768: a 大厅管理员 opens it from
// the bar, reads what held each rating, releases one and rejects one by their buttons, finds the
// rejected one listed as such, then rejects the rest at once by the rule that held them.
// Screenshots: held, held-decided, held-bulk.
// usage: node e2e/held.mjs <config.json> <screenshot-dir>
//   config.json: {"base", "admin": [name, pw]}
// Prints one JSON line of what it measured; exits non-zero naming the first failed check.
import { launch } from "./browser.mjs";
import { readFileSync } from "node:fs";

const [configFile, shots] = process.argv.slice(2);
const cfg = JSON.parse(readFileSync(configFile, "utf8"));
const browser = await launch();
const out = {};
let step = "start";
function check(ok, what) {
  if (!ok) throw new Error(`${step}: ${what}`);
}
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });
const body = (page) => page.locator("body").innerText();
const count = (t) => Number((t.match(/共 (\d+) 条，按时间倒序/) || [])[1]);

try {
  step = "login";
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  const page = await ctx.newPage();
  await page.goto(`${cfg.base}/console/login`);
  await page.fill("input[name=name]", cfg.admin[0]);
  await page.fill("input[name=password]", cfg.admin[1]);
  await Promise.all([page.waitForNavigation(), page.click("form button")]);

  step = "queue";
  await Promise.all([page.waitForNavigation(), page.click("header nav >> text=疑似刷评")]);
  let t = await body(page);
  check(t.includes("不计入统计、不发提醒、不上报省平台"), `the queue says what holding means: ${t}`);
  check(t.includes("同一二维码评价过密"), `each row says what held it: ${t}`);
  out.held_before = count(t);
  check(out.held_before > 2, `held ratings listed: ${out.held_before}`);
  await shot(page, "held");

  step = "release";
  await Promise.all([page.waitForNavigation(), page.locator("table form[action$='/release'] button").first().click()]);
  t = await body(page);
  check(t.includes("已放行：这条评价"), `released: ${t}`);
  step = "reject";
  await Promise.all([page.waitForNavigation(), page.locator("table form[action$='/reject'] button").first().click()]);
  t = await body(page);
  check(t.includes("已驳回：这条评价"), `rejected: ${t}`);
  out.held_after = count(t);
  check(out.held_after === out.held_before - 2, `two fewer held: ${out.held_before} → ${out.held_after}`);
  await shot(page, "held-decided");

  step = "bulk";
  await page.selectOption("form[action='/console/held/reject'] select[name=signal]", "rate");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/console/held/reject'] >> text=全部驳回")]);
  t = await body(page);
  const m = t.match(/共 (\d+) 条，记入审计日志一条/);
  check(m, `the bulk rejection says how many: ${t}`);
  out.bulk_rejected = Number(m[1]);
  out.held_left = count(t);
  check(out.bulk_rejected > 0 && out.held_left < out.held_after, `fewer held: ${out.held_after} → ${out.held_left}`);
  await shot(page, "held-bulk");

  step = "rejected list";
  await page.goto(`${cfg.base}/console/ratings?hold=rejected`);
  t = await body(page);
  check(t.includes("已驳回（不上报）"), `the rejected one is listed as such: ${t}`);
  out.rejected = count(t);
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(String(e && e.stack ? e.stack : e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
