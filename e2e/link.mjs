// A citizen opens a 一事一评 link (from a queue ticket) in WeChat on a cheap phone, 360×640: the
// matter is fixed and the 办件号 shown; they rate, then open the same link again and amend it.
// usage: node e2e/link.mjs <url> <screenshot-dir>
// Prints one JSON line of what it saw; exits non-zero on any failure.
import { script, WECHAT_UA } from "./browser.mjs";

const [url, shots] = process.argv.slice(2);
await script(async ({ browser, seen, check, at }) => {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 640 }, locale: "zh-CN", userAgent: WECHAT_UA });
  const page = await ctx.newPage();
  for (const [round, level] of [[1, "label.level-5"], [2, "label.level-4"]]) {
    at.step = `round ${round}`;
    await page.goto(url);
    seen.header = await page.locator("#who").innerText();
    check(/办件号/.test(seen.header), `the 办件号 is shown: ${seen.header}`);
    const options = await page.locator("#matter option").allInnerTexts();
    check(options.length === 1, `the matter is fixed: ${options}`);
    seen.matter = options[0];
    await page.locator("button.toggle").waitFor({ timeout: 10000 });
    if (round === 1) await page.screenshot({ path: `${shots}/link-landing.png`, fullPage: true });
    await page.locator(level).click();
    await page.waitForTimeout(3200);
    await page.locator("#submit").click();
    await page.locator("#thanks, .thanks, [data-phase=done]").first().waitFor({ timeout: 20000 });
    const t = await page.locator("body").innerText();
    seen[`round${round}`] = t.split("\n").filter((l) => l.trim()).slice(0, 3).join(" / ");
    if (round === 2) {
      check(/追评|修改|更新/.test(t), `the second rating amends: ${t}`);
      await page.screenshot({ path: `${shots}/link-amended.png`, fullPage: true });
    }
  }
});
