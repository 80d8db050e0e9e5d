// The 差评 ledger in Debian's chromium at an office PC's 1366×768, by its real pages against a
// real worker: a 差评处理人 takes a case from 待回访 to 办结 (the callback phone shown once and
// audited), registers a staff member's appeal on another, and cannot open another hall's case by
// URL; the 大厅管理员 overturns the appeal (kept, marked, out of the statistics) and adds an alert
// route; the 市级管理员 loads a year's calendar (a bad date refused by entry) and exports the
// ledger; the audit log shows each step. Screenshots of every page.
// usage: node e2e/ledger.mjs <config.json> <screenshot-dir> <download-dir>
//   config.json: {"base", "handler": [name, pw], "hall": [name, pw], "city": [name, pw],
//                 "other_case": id, "route_url": url}
// Prints one JSON line of what it saw; exits non-zero naming the first failed check.
import { launch, bodyText, caseStep } from "./browser.mjs";
import { readFileSync } from "node:fs";

const [configFile, shots, downloads] = process.argv.slice(2);
const cfg = JSON.parse(readFileSync(configFile, "utf8"));
const browser = await launch();
const out = {};
let step = "start";
function check(ok, what) {
  if (!ok) throw new Error(`${step}: ${what}`);
}
const office = () => browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN", acceptDownloads: true });
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const body = bodyText;
const act = caseStep;
const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);

async function login(name, pw) {
  const ctx = await office();
  const page = await ctx.newPage();
  await page.goto(`${cfg.base}/console/login`);
  await page.fill("input[name=name]", name);
  await page.fill("input[name=password]", pw);
  await submit(page, "button[type=submit]");
  return { ctx, page };
}

try {
  step = "handler: cases";
  let { ctx, page } = await login(...cfg.handler);
  await page.goto(`${cfg.base}/console/cases`);
  let t = await body(page);
  check(t.includes("未办结的案件"), "the open cases");
  const links = await page.locator("table a[href^='/console/cases/']").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  check(links.length === 2, `two open cases in the handler's hall, not ${links.length}`);
  check(t.includes("剩 ") || t.includes("已超期"), "time left shown");
  await shot(page, "cases");

  step = "handler: the callback phone";
  await page.goto(`${cfg.base}${links[0]}`);
  check(!(await body(page)).includes("13812345678"), "the phone is not on the page until asked");
  await submit(page, "form[action$='/phone'] button");
  check((await body(page)).includes("13812345678"), "the phone, once asked");

  step = "handler: to 办结";
  t = await act(page, "callback", { value: "reached", note: "已电话联系评价人" });
  check(t.includes("已回访"), "callback recorded");
  t = await act(page, "check", { value: "true", about: "staff", track: "simple" });
  check(t.includes("整改中") && t.includes("属实；所涉：工作人员；整改类型：简易"), "checked: fixing on the simple track");
  t = await act(page, "fixed", { value: "窗口增设材料样本，组织业务培训" });
  check(t.includes("已整改") && t.includes("窗口增设材料样本"), "fixed with measures");
  t = await act(page, "replied", { value: "已电话告知整改结果，评价人表示认可" });
  t = await act(page, "close", {});
  check(t.includes("办结") && !t.includes("查看回访电话") && !t.includes("13812345678"), "closed: no phone any more");
  for (const s of ["记录回访：已联系", "核实：属实，所涉工作人员，简易整改", "整改措施：", "反馈：", "办结"]) check(t.includes(s), `history has ${s}`);
  await shot(page, "case");

  step = "handler: appeal";
  await page.goto(`${cfg.base}${links[1]}`);
  t = await act(page, "appeal", { value: "malicious", note: "评价人当日与窗口发生争执，当场表示要给差评" });
  check(t.includes("申诉待复核") && t.includes("待大厅管理员或市级管理员复核"), "appealed, awaiting review");
  check((await page.locator("input[name=action][value=review]").count()) === 0, "a handler cannot review");

  step = "handler: another hall's case by URL";
  const r = await page.goto(`${cfg.base}/console/cases/${cfg.other_case}`);
  check(r.status() === 404 && (await body(page)).includes("不在您的范围内"), `refused, not ${r.status()}`);
  await ctx.close();

  step = "hall admin: review";
  ({ ctx, page } = await login(...cfg.hall));
  await page.goto(`${cfg.base}${links[1]}`);
  t = await act(page, "review", { value: "overturned", note: "经调取录像核实，撤销该差评" });
  check(t.includes("复核撤销，不计入统计"), "overturned, kept and marked");
  await page.goto(`${cfg.base}/console/cases`);
  t = await body(page);
  check(t.includes("复核撤销 1 件，不计入以上统计"), `the statistics leave it out: ${t}`);
  out.tally = t.split("\n").find((l) => l.startsWith("近 30 天差评"));

  step = "hall admin: a route";
  await page.goto(`${cfg.base}/console/routes`);
  await page.fill("input[name=name]", "上城区差评群");
  await page.selectOption("select[name=kind]", "wecom");
  await page.fill("input[name=url]", "https://intranet.example.gov.cn/cgi-bin/webhook/send?key=1");
  await submit(page, "form[action='/console/routes'] button[type=submit]");
  t = await body(page);
  check(t.includes("地址：企业微信机器人只能发往"), `a 企业微信 route to another host is refused by field: ${t}`);
  await page.goto(`${cfg.base}/console/routes`);
  await page.fill("input[name=name]", "上城区差评群");
  await page.selectOption("select[name=kind]", "wecom");
  await page.fill("input[name=url]", cfg.route_url.split("?")[0]);
  await submit(page, "form[action='/console/routes'] button[type=submit]");
  t = await body(page);
  check(t.includes("key="), `a 企业微信 address without its key is refused by field: ${t}`);
  await page.goto(`${cfg.base}/console/routes`);
  await page.fill("input[name=name]", "上城区差评群");
  await page.fill("input[name=url]", cfg.route_url);
  await submit(page, "form[action='/console/routes'] button[type=submit]");
  t = await body(page);
  check(t.includes("已添加提醒路由") && !t.includes(cfg.route_url.split("key=")[1]), `added, its key hidden: ${t}`);
  await shot(page, "routes");
  await ctx.close();

  step = "city admin: calendar";
  ({ ctx, page } = await login(...cfg.city));
  await page.goto(`${cfg.base}/console/calendar?year=2027`);
  t = await body(page);
  check(t.includes("2027 年的工作日历未载入"), "a missing year is said in red");
  await page.fill("input[name=source]", "国务院办公厅关于2027年部分节假日安排的通知（测试）");
  await page.fill("textarea[name=holidays]", "2027-01-01\n2027-02-30");
  await submit(page, "form[action='/console/calendar'] button");
  t = await body(page);
  check(t.includes("holidays entry 2") && t.includes("没有任何改动"), `a bad date named by entry: ${t}`);
  await page.goto(`${cfg.base}/console/calendar?year=2027`);
  await page.fill("input[name=source]", "国务院办公厅关于2027年部分节假日安排的通知（测试）");
  await page.fill("textarea[name=holidays]", "2027-01-01\n2027-02-06\n2027-02-07\n2027-02-08");
  await page.fill("textarea[name=workdays]", "2027-01-31");
  await submit(page, "form[action='/console/calendar'] button");
  t = await body(page);
  check(t.includes("已保存 2027 年工作日历"), `saved: ${t}`);
  await page.goto(`${cfg.base}/console/calendar`);
  await shot(page, "calendar");

  step = "city admin: ledger export";
  await page.goto(`${cfg.base}/console/cases`);
  await page.selectOption("select[name=format]", "xlsx");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("form[action='/console/cases/export'] button")]);
  const file = `${downloads}/${dl.suggestedFilename()}`;
  await dl.saveAs(file);
  out.ledger = file;

  step = "city admin: audit";
  await page.goto(`${cfg.base}/console/audit?action=case.`);
  t = await body(page);
  for (const a of ["case.phone", "case.callback", "case.close", "case.appeal", "case.review_overturned"]) check(t.includes(a), `audited: ${a}`);
  await page.goto(`${cfg.base}/console/audit`);
  t = await body(page);
  for (const a of ["route.add", "calendar.save", "cases.export"]) check(t.includes(a), `audited: ${a}`);
  await ctx.close();
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
