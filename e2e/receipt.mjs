// A citizen's 差评 followed through its private status link, in Debian's chromium: the citizen
// on a 360×640 phone inside WeChat rates 不满意 and gets the link and its code; a 差评处理人 at
// 1366×768 takes the case step by step in the console, and each step shows on the citizen's page;
// the published reply shows; after 办结 the citizen's 追评 仍不满意 reopens the case; a second
// 追评 is refused; the typed code finds the same page; a rescan links it. Screenshots at phone
// width of the status page and of a hall's public results.
// usage: node e2e/receipt.mjs <config.json> <screenshot-dir>
//   config.json: {"base", "url": printed code URL, "handler": [name, pw], "hall": hall name}
// Prints one JSON line of what it saw; exits non-zero naming the first failed check.
import { launch, WECHAT_UA, bodyText, caseStep } from "./browser.mjs";
import { readFileSync } from "node:fs";

const [configFile, shots] = process.argv.slice(2);
const cfg = JSON.parse(readFileSync(configFile, "utf8"));
const browser = await launch();
const out = {};
let step = "start";
function check(ok, what) {
  if (!ok) throw new Error(`${step}: ${what}`);
}
const body = bodyText;
const act = caseStep;

try {
  step = "citizen: a 差评";
  const phone = await browser.newContext({ viewport: { width: 360, height: 640 }, locale: "zh-CN", userAgent: WECHAT_UA });
  const citizen = await phone.newPage();
  await citizen.goto(cfg.url);
  await citizen.locator("button.toggle").waitFor({ timeout: 10000 });
  await citizen.locator("label.level-2").click();
  await citizen.locator(".tag-group:not([hidden]) label.chip", { hasText: "服务态度生硬" }).click();
  await citizen.locator("#comment").fill("等了很久，窗口人员态度生硬");
  await citizen.waitForTimeout(1200);
  await citizen.locator("#submit").click();
  await citizen.locator("#receipt").waitFor({ timeout: 20000 });
  const href = await citizen.locator("#receipt a").getAttribute("href");
  const code = await citizen.locator("#receipt b").innerText();
  check(/^\/s\/[A-Z2-7]{12}$/.test(href) && /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/.test(code), `link ${href}, code ${code}`);
  check(href.slice(3) === code.replaceAll("-", ""), "the code is the link's token");
  out.thanks = await citizen.locator("#thanks").innerText();
  out.token = href.slice(3);
  await citizen.screenshot({ path: `${shots}/thanks.png`, fullPage: true });

  const status = async (want, absent = []) => {
    const r = await citizen.goto(`${cfg.base}${href}`);
    check(r.headers()["cache-control"] === "no-store" && r.headers()["referrer-policy"] === "no-referrer", "no-store, no-referrer");
    const t = await body(citizen);
    for (const w of want) check(t.includes(w), `status shows ${w}: ${t}`);
    for (const a of absent) check(!t.includes(a), `status does not show ${a}: ${t}`);
    return t;
  };
  step = "citizen: received";
  let t = await status(["已收到您的差评", "已回访"], ["等了很久", "138"]);
  check((await citizen.locator("li.done").count()) === 1, "only 已收到 done");

  step = "rescan";
  await citizen.goto(cfg.url);
  await citizen.locator("#status-link a").waitFor({ timeout: 10000 });
  check((await citizen.locator("#status-link a").getAttribute("href")) === href, "a rescan links the status");

  step = "typed code";
  await citizen.goto(`${cfg.base}/s`);
  await citizen.fill("input[name=code]", code.toLowerCase());
  await Promise.all([citizen.waitForNavigation(), citizen.click("button[type=submit]")]);
  check(new URL(citizen.url()).pathname === href, `the typed code finds the page, not ${citizen.url()}`);

  step = "handler";
  const office = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  const console_ = await office.newPage();
  await console_.goto(`${cfg.base}/console/login`);
  await console_.fill("input[name=name]", cfg.handler[0]);
  await console_.fill("input[name=password]", cfg.handler[1]);
  await Promise.all([console_.waitForNavigation(), console_.click("button[type=submit]")]);
  await console_.goto(`${cfg.base}/console/cases`);
  const caseHref = await console_.locator("table a[href^='/console/cases/']").first().getAttribute("href");
  await console_.goto(`${cfg.base}${caseHref}`);
  await act(console_, "callback", { value: "reached", note: "内部备注：评价人情绪激动" });
  await status(["已回访"], ["内部备注"]);
  check((await citizen.locator("li.done").count()) === 2, "已回访 done");
  await act(console_, "check", { value: "true", about: "staff", track: "complex" });
  await status(["正在整改"]);
  await act(console_, "fixed", { value: "对窗口人员进行服务规范培训" });
  await status(["已整改"], ["服务规范培训"]);
  await act(console_, "replied", { value: "已对窗口人员进行培训，感谢您的监督。", publish: "1" });
  await status(["办理答复", "已对窗口人员进行培训"]);
  await act(console_, "close", {});
  t = await status(["已办结", "您对整改结果满意吗"]);
  await citizen.screenshot({ path: `${shots}/status.png`, fullPage: true });

  step = "citizen: 仍不满意";
  await Promise.all([citizen.waitForNavigation(), citizen.click("button[value=unsatisfied]")]);
  t = await body(citizen);
  check(t.includes("将重新办理") && t.includes("仍不满意"), `reopened: ${t}`);
  out.reopened = t.split("\n")[1];
  await console_.reload();
  check((await body(console_)).includes("评价人追评：仍不满意"), "the case shows the 追评");

  step = "second 追评";
  // The page shows no form any more; a hand-made post (the page's CSP allows no script) is
  // refused in words.
  check((await citizen.locator("button[value=satisfied]").count()) === 0, "no second 追评 form");
  const again = await citizen.request.post(`${cfg.base}${href}`, { form: { choice: "satisfied" } });
  check(again.status() === 409 && (await again.text()).includes("只能追评一次"), `refused: ${again.status()}`);

  step = "results at phone width";
  await citizen.goto(`${cfg.base}/results?hall=${encodeURIComponent(cfg.hall)}`);
  t = await body(citizen);
  check(t.includes("满意率") && t.includes("回访率"), "the results page");
  await citizen.screenshot({ path: `${shots}/results.png`, fullPage: true });
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
