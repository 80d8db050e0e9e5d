// The admin console in Debian's chromium at an office PC's 1366×768, by its real pages against a
// real worker: login and lockout, every page (screenshots), a directory upload previewed and
// applied, a malformed upload refused in words, a code revoked, a filtered .xlsx and CSV export,
// retry, a scoped token made, a hall admin kept to their hall, a cross-site form refused, the
// cookie's flags, and the audit log showing each of these.
// usage: node e2e/console.mjs <config.json> <screenshot-dir> <download-dir>
//   config.json: {"base", "city": [name, pw], "hall": [name, pw], "victim": name,
//                 "directory2": path, "bad_directory": path, "revoke_staff": name,
//                 "other_code": code, "printed": url}
// Prints one JSON line of what it measured; exits non-zero naming the first failed check.
import { launch } from "./browser.mjs";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";

const [configFile, shots, downloads] = process.argv.slice(2);
const cfg = JSON.parse(readFileSync(configFile, "utf8"));
const browser = await launch();
const out = {};
let step = "start";
function check(ok, what) {
  if (!ok) throw new Error(`${step}: ${what}`);
}
const office = () => browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN", acceptDownloads: true });
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png` });
const body = (page) => page.locator("body").innerText();

async function login(page, name, pw) {
  await page.goto(`${cfg.base}/console/login`);
  // By keyboard alone: the name field has focus; Tab to the password, Enter submits.
  await page.waitForFunction(() => document.activeElement && document.activeElement.name === "name");
  await page.keyboard.type(name);
  await page.keyboard.press("Tab");
  await page.keyboard.type(pw);
  const t0 = Date.now();
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  await page.waitForLoadState("load");
  return Date.now() - t0;
}

try {
  // ---- lockout ----
  step = "lockout";
  let ctx = await office();
  let page = await ctx.newPage();
  await page.goto(`${cfg.base}/console/ratings`);
  check(page.url().endsWith("/console/login"), `no session goes to the login page, not ${page.url()}`);
  await shot(page, "login");
  for (let i = 1; i <= 5; i++) {
    await login(page, cfg.victim, `wrong-password-${i}`);
    const t = await body(page);
    if (i < 5) check(t.includes("账户名或密码不正确"), `failure ${i} said: ${t}`);
    else check(t.includes("已暂时锁定"), `the 5th failure locks: ${t}`);
  }
  await login(page, cfg.victim, cfg.victim_pw);
  check((await body(page)).includes("已暂时锁定"), "the right password is refused while locked");
  await ctx.close();

  // ---- the city admin ----
  step = "login";
  ctx = await office();
  page = await ctx.newPage();
  const ms = [];
  ms.push(await login(page, cfg.city[0], cfg.city[1]));
  check(page.url().includes("/console/ratings"), `logged in lands on ratings, not ${page.url()}`);
  const cookie = (await ctx.cookies()).find((c) => c.name === "zsp_console");
  check(cookie && cookie.httpOnly && cookie.sameSite === "Strict" && !cookie.secure, `cookie flags ${JSON.stringify(cookie)}`);
  out.cookie = { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, secure: cookie.secure };
  await shot(page, "ratings");

  step = "filter";
  await page.selectOption("select[name=level]", "very_dissatisfied");
  await Promise.all([page.waitForNavigation(), page.click("form[method=get] button")]);
  const filtered = await body(page);
  check(/共 \d+ 条/.test(filtered), "a count");
  out.very_dissatisfied = Number(filtered.match(/共 (\d+) 条/)[1]);
  check(!filtered.includes("满意度\n满意\n"), "only the chosen level");

  step = "export";
  for (const [format, phones] of [["xlsx", "full"], ["csv", "masked"]]) {
    await page.selectOption("select[name=format]", format);
    await page.selectOption("select[name=phones]", phones);
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("form[action='/console/export'] button")]);
    const path = `${downloads}/ratings.${format}`;
    await dl.saveAs(path);
    out[format] = path;
  }

  step = "directory";
  await page.goto(`${cfg.base}/console/directory`);
  await shot(page, "directory");
  await page.setInputFiles("input[type=file]", cfg.bad_directory);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/console/directory'] button")]);
  const refusal = await body(page);
  check(refusal.includes("没有任何改动") && /entry 1: region|第 \d+ 项/.test(refusal), `a malformed upload names the entry: ${refusal}`);
  out.bad_upload = refusal.split("\n").find((l) => l.includes("没有任何改动"));
  await shot(page, "directory-refused");
  await page.goto(`${cfg.base}/console/directory`);
  await page.setInputFiles("input[type=file]", cfg.directory2);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/console/directory'] button")]);
  const preview = await body(page);
  check(preview.includes("新增 2") && preview.includes("删除 2") && preview.includes("A02 → 上城区市民中心 A05") && preview.includes("人员调动"), `preview: ${preview}`);
  await shot(page, "directory-preview");
  await Promise.all([page.waitForNavigation(), page.click("text=确认生效")]);
  check((await body(page)).includes("已生效"), "applied");

  step = "codes";
  await page.goto(`${cfg.base}/console/codes?q=${encodeURIComponent(cfg.revoke_staff)}`);
  await shot(page, "codes");
  await Promise.all([page.waitForNavigation(), page.locator("td a.mono").first().click()]);
  check(await page.locator("svg[role=img]").count() === 1, "the card shows its QR");
  await shot(page, "code-card");
  await page.selectOption("select[name=reason]", "卡片遗失");
  await Promise.all([page.waitForNavigation(), page.click("form[action$='/revoke'] button")]);
  check((await body(page)).includes("已作废"), "revoked");
  const landing = await page.goto(cfg.printed);
  check(landing.status() === 410, `the printed code is refused at once: ${landing.status()}`);

  step = "status";
  await page.goto(`${cfg.base}/console/status`);
  await Promise.all([page.waitForNavigation(), page.click("text=立即重试转发")]);
  check((await body(page)).includes("立即重试"), "retry done");
  await shot(page, "status");

  step = "accounts";
  await page.goto(`${cfg.base}/console/accounts`);
  await page.fill("input[name=name]", "新处理人");
  await page.selectOption("select[name=role]", "handler");
  await page.fill("textarea[name=scope]", "330102 上城区市民中心");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/console/accounts'] button")]);
  check((await body(page)).includes("初始密码"), "a new account's password is shown once");
  await shot(page, "accounts");

  step = "tokens";
  await page.goto(`${cfg.base}/console/tokens`);
  await page.fill("input[name=name]", "排队系统");
  await page.selectOption("select[name=role]", "hall");
  await page.fill("textarea[name=scope]", "330102 上城区市民中心");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/console/tokens'] button")]);
  out.token = (await page.locator(".secret").innerText()).trim();
  check(out.token.startsWith("zspt_"), "a token");
  await shot(page, "tokens");

  step = "audit";
  await page.goto(`${cfg.base}/console/audit`);
  const audit = await body(page);
  for (const a of ["login.failed", "login.locked", "login", "export.unmasked", "export", "directory.apply", "code.revoke", "retry", "account.add", "token.add"]) {
    check(audit.includes(a), `the audit log shows ${a}`);
  }
  await shot(page, "audit");
  await page.fill("input[name=action]", "code.revoke");
  await Promise.all([page.waitForNavigation(), page.click("form[method=get] button")]);
  check((await page.locator("tbody tr").count()) === 1, "filtered to the one revocation");

  step = "logout";
  await Promise.all([page.waitForNavigation(), page.click("text=退出")]);
  await page.goto(`${cfg.base}/console/ratings`);
  check(page.url().endsWith("/console/login"), "logged out");
  await ctx.close();

  // ---- the hall admin ----
  step = "hall admin";
  ctx = await office();
  page = await ctx.newPage();
  ms.push(await login(page, cfg.hall[0], cfg.hall[1]));
  const own = await body(page);
  check(!own.includes("拱墅区") && !own.includes("账户\n"), `only their hall, no accounts page: ${own.slice(0, 300)}`);
  let r = await page.goto(`${cfg.base}/console/codes/${cfg.other_code}`);
  check(r.status() === 404, `another hall's code by URL: ${r.status()}`);
  r = await page.goto(`${cfg.base}/console/accounts`);
  check(r.status() === 403, `accounts: ${r.status()}`);
  r = await page.goto(`${cfg.base}/console/ratings?hall=${encodeURIComponent("拱墅区行政服务中心")}`);
  check((await body(page)).includes("共 0 条"), "another hall's ratings by filter: none");

  // ---- a cross-site form ----
  step = "cross-site";
  const evil = http.createServer((req, res) => {
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    res.end(`<form id=f method=post action="${cfg.base}/console/codes/${cfg.own_code}/revoke">
      <input name=reason value=x><input name=csrf value=guess></form><script>f.submit()</script>`);
  });
  await new Promise((ok) => evil.listen(0, "127.0.0.1", ok));
  const evilUrl = `http://localhost:${evil.address().port}/`;
  const answer = page.waitForResponse((res) => res.url().includes("/revoke"));
  await page.goto(evilUrl);
  const res = await answer;
  await page.waitForLoadState("load");
  check(res.status() === 403, `a cross-site post: ${res.status()}`);
  out.cross_site = { status: res.status(), said: (await body(page)).split("\n").find((l) => l.trim()) };
  evil.close();
  await ctx.close();
  out.login_ms = ms;
} catch (e) {
  console.log(JSON.stringify(out));
  console.error(String(e.stack || e));
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(JSON.stringify(out));
