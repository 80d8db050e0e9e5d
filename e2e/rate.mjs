// Drives Debian's chromium (playwright-core, no downloaded browser) through one citizen's rating.
// usage: node e2e/rate.mjs <url> <screenshot-dir> [revoked-url]
// Prints one JSON line of what it saw; exits non-zero on any failure.
import { launch, WECHAT_UA } from "./browser.mjs";

const [url, shots, revoked] = process.argv.slice(2);
const browser = await launch();
const seen = {};
try {
  // A cheap phone inside WeChat: 360×640, MicroMessenger user agent.
  const ctx = await browser.newContext({
    viewport: { width: 360, height: 640 },
    locale: "zh-CN",
    userAgent: WECHAT_UA,
  });
  const page = await ctx.newPage();
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(new URL(url).origin)) foreign.push(r.url()); });
  await page.goto(url);
  seen.header = await page.locator("#who").innerText();
  await page.screenshot({ path: `${shots}/1-landing.png`, fullPage: true });
  // The app takes over the plain form (its switch appears), then the citizen rates.
  await page.locator("button.toggle").waitFor({ timeout: 10000 });
  await page.locator("label.level-2").click();
  await page.locator(".tag-group:not([hidden]) label.chip", { hasText: "服务态度生硬" }).click();
  await page.locator("#comment").fill("等了很久，窗口人员态度生硬");
  await page.locator("#phone").fill("13812345678");
  await page.locator(".consent input").check();
  await page.screenshot({ path: `${shots}/2-filled.png`, fullPage: true });
  await page.waitForTimeout(3200); // a person reads before submitting (the edge wants ≥ 3 s)
  await page.locator("#submit").click();
  await page.locator("#thanks").waitFor({ timeout: 20000 });
  seen.thanks = await page.locator("#thanks").innerText();
  await page.screenshot({ path: `${shots}/3-thanks.png`, fullPage: true });
  // A rescan shows 已评价.
  await page.goto(url);
  await page.locator("#already").waitFor({ timeout: 10000 });
  seen.rescan = await page.locator("#already").innerText();
  seen.foreign = foreign;
  if (revoked) {
    await page.goto(revoked);
    seen.revoked = await page.locator("body").innerText();
    await page.screenshot({ path: `${shots}/4-revoked.png`, fullPage: true });
  }
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error("e2e failed:", e.message, JSON.stringify(seen));
  process.exitCode = 1;
} finally {
  await browser.close();
}
