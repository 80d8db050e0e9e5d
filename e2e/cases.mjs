// The page's cases in Debian's chromium (playwright-core, no downloaded browser), each in its own
// browser context (a fresh phone: its own device id and storage), all as a WeChat user on 360×640:
// every level's happy path; 差评 gating, phone and consent, then the same-day amend; a network
// failure then retry with the same idempotency key; JavaScript off; 大字模式 with the 适老化
// numbers measured; English.
// usage: node e2e/cases.mjs <cases.json> <screenshot-dir>
//   cases.json: {"levels": {"5": url, …, "1": url}, "gating": url, "retry": url, "nojs": url,
//                "large": url, "en": url}
// Prints one JSON line of what it measured; exits non-zero naming the first failed check.
import { launch, WECHAT_UA } from "./browser.mjs";
import { readFileSync } from "node:fs";

const [casesFile, shots] = process.argv.slice(2);
const urls = JSON.parse(readFileSync(casesFile, "utf8"));
const browser = await launch();
const seen = {};
let step = "start";

function check(ok, what) {
  if (!ok) throw new Error(`${step}: ${what}`);
}

async function phone(opts = {}) {
  const ctx = await browser.newContext({
    viewport: { width: 360, height: 640 }, locale: "zh-CN", userAgent: WECHAT_UA, ...opts,
  });
  const page = await ctx.newPage();
  return { ctx, page };
}

const text = (page, sel) => page.locator(sel).first().innerText();
// The app has taken over the form when its 大字模式 switch is there.
const ready = (page) => page.locator("button.toggle").waitFor({ timeout: 10000 });
const chips = (page) => page.locator(".tag-group:not([hidden]) label.chip");
const chosen = (page, n) => page.locator(`label.level-${n} input`).isChecked();
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
// The edge wants a human dwell time (1 s in this test's worker) between landing and submitting.
const dwell = (page) => page.waitForTimeout(1200);
// Submits after the dwell time; the thank-you's text.
async function rate(page) {
  await dwell(page);
  await page.locator("#submit").click();
  await page.locator("#thanks").waitFor({ timeout: 20000 });
  return text(page, "#thanks");
}

try {
  // Every level's happy path; the good levels without a reason (optional), the bad with one.
  seen.levels = {};
  for (const n of ["5", "4", "3", "2", "1"]) {
    step = `level ${n}`;
    const { ctx, page } = await phone();
    await page.goto(urls.levels[n]);
    await ready(page);
    check(await chips(page).count() === 0, "reasons shown before a level is chosen");
    await page.locator(`label.level-${n}`).click();
    check(await chosen(page, n), "the chosen level is not marked as chosen");
    const shown = await chips(page).count();
    check(shown > 0 && shown < 40, `${shown} reasons shown for one level`);
    check(await page.locator("#phone").isVisible() === (n <= "2"), "the callback phone is shown for the wrong levels");
    if (n <= "3") await chips(page).first().click();
    await page.locator("#comment").fill(`第${n}级测试`);
    check((await text(page, ".counter")).startsWith("5 / 500"), "the comment counter is wrong");
    const thanks = await rate(page);
    check(thanks.includes("感谢您的评价"), `thank-you says ${JSON.stringify(thanks)}`);
    // This worker forwards nowhere: a good rating is said to be recorded by the hall, no more.
    check(thanks.includes(n <= "2" ? "您的差评将在1个工作日内核实处理" : "您的评价已由本大厅记录"),
      `thank-you does not say what happens next: ${JSON.stringify(thanks)}`);
    seen.levels[n] = { chips: shown, thanks };
    await shot(page, `level-${n}-thanks`);
    await ctx.close();
  }

  // 差评 gating: a reason is required, a phone needs consent; then the rescan and the amend.
  step = "差评 gating";
  {
    const { ctx, page } = await phone();
    await page.goto(urls.gating);
    await ready(page);
    await page.locator("label.level-1").click();
    check(await page.locator("#phone").isVisible(), "no callback phone for 非常不满意");
    await page.locator("#submit").click();
    const noTag = await text(page, ".alert");
    check(noTag.length > 0, "a bad rating without a reason was not stopped");
    await shot(page, "gating-1-no-reason");
    await chips(page).nth(1).click();
    await page.locator("#phone").fill("13900001111");
    await page.locator("#submit").click();
    const noConsent = await text(page, ".alert");
    check(/同意|consent/i.test(noConsent), `a phone without consent: ${JSON.stringify(noConsent)}`);
    await shot(page, "gating-2-no-consent");
    await page.locator(".consent input").check();
    check(await page.locator(".alert").count() <= 1, "more than one alert");
    // A number typed into the comment: the page says it will be hidden, before it is sent.
    check(!(await page.locator("#comment-mask").isVisible()), "the masking note before any number");
    await page.locator("#comment").fill("请打我电话１３８-１２３４-５６７８");
    await page.locator("#comment-mask").waitFor({ state: "visible", timeout: 5000 });
    await page.locator("#comment-mask").scrollIntoViewIfNeeded();
    await shot(page, "gating-2b-comment-mask");
    await page.locator("#comment").fill("让我跑了三趟");
    await page.locator("#comment-mask").waitFor({ state: "hidden", timeout: 5000 });
    const thanks = await rate(page);
    check(thanks.includes("工作人员将在1个工作日内与您联系"), `thank-you: ${JSON.stringify(thanks)}`);
    seen.gating = { noTag, noConsent, thanks };

    step = "amend";
    await page.goto(urls.gating);
    await page.locator("#already").waitFor({ timeout: 10000 });
    seen.gating.rescan = await text(page, "#already");
    await page.locator("label.level-3").click();
    check(!(await page.locator("#phone").isVisible()), "a phone is still asked for 基本满意");
    seen.gating.amended = await rate(page);
    check(seen.gating.amended.includes("追评"), `amend thank-you: ${seen.gating.amended}`);
    await shot(page, "gating-3-amended");
    await ctx.close();
  }

  // A failed submission (offline, then a 503) keeps everything and retries with the same key.
  step = "network failure then retry";
  {
    const { ctx, page } = await phone();
    const bodies = [];
    let failures = ["abort", "503"];
    await page.route((url) => url.pathname === "/api/rate", async (route) => {
      bodies.push(JSON.parse(route.request().postData()));
      const f = failures.shift();
      if (f === "abort") return route.abort("internetdisconnected");
      if (f === "503") return route.fulfill({ status: 503, contentType: "application/json", body: "{}" });
      return route.continue();
    });
    await page.goto(urls.retry);
    await ready(page);
    await page.locator("label.level-4").click();
    await page.locator("#comment").fill("网络不好也要评");
    await dwell(page);
    await page.locator("#submit").click();
    await page.locator(".notice[role=status]").waitFor({ timeout: 20000 });
    const notice = await text(page, ".notice[role=status]");
    check(notice.includes("已保留"), `the failure is not explained: ${JSON.stringify(notice)}`);
    check(await page.locator("#comment").inputValue() === "网络不好也要评", "the comment was lost");
    check(await chosen(page, 4), "the level was lost");
    await shot(page, "retry-1-offline");
    // The automatic retry meets the 503; "retry now" then gets through.
    for (let i = 0; failures.length > 0; i++) {
      check(i < 100, "no automatic retry within 20 s");
      await page.waitForTimeout(200);
    }
    await page.locator("#submit").click();
    await page.locator("#thanks").waitFor({ timeout: 20000 });
    const ids = [...new Set(bodies.map((b) => b.id))];
    check(bodies.length >= 3, `only ${bodies.length} attempts were seen`);
    check(ids.length === 1, `retries used ${ids.length} idempotency keys`);
    seen.retry = { attempts: bodies.length, id: ids[0], notice };
    await shot(page, "retry-2-thanks");
    await ctx.close();
  }

  // JavaScript off: the edge's plain form posts and answers with a page.
  step = "JavaScript off";
  {
    const { ctx, page } = await phone({ javaScriptEnabled: false });
    await page.goto(urls.nojs);
    check(await page.locator("#zsp-form").count() === 1, "no plain form without JavaScript");
    seen.nojs = { header: await text(page, "#who") };
    // The form alone shows only the chosen level's reasons, and the callback only for 差评.
    check(await page.locator("label.chip:visible").count() === 0, "reasons shown before a level was chosen");
    check(!(await page.locator(".callback").isVisible()), "the callback shown before a bad level was chosen");
    await page.locator("label.level-2").click();
    seen.nojs.groups = await page.locator(".tag-group:visible").evaluateAll((gs) => gs.map((g) => g.dataset.level));
    check(seen.nojs.groups.join() === "dissatisfied", `reasons shown for 不满意: ${seen.nojs.groups}`);
    check(await page.locator(".callback").isVisible(), "no callback for 不满意");
    await page.locator(".tag-group[data-level=dissatisfied] label.chip").first().click();
    await page.locator("#comment").fill("不用脚本也能评价");
    await shot(page, "nojs-1-filled");
    await dwell(page);
    await Promise.all([page.waitForNavigation(), page.locator("button.submit").click()]);
    seen.nojs.thanks = await text(page, "body");
    check(seen.nojs.thanks.includes("感谢您的评价"), `form answer: ${seen.nojs.thanks}`);
    await shot(page, "nojs-2-thanks");
    await ctx.close();
  }

  // 大字模式 and the 适老化 numbers, measured on the rendered page.
  step = "大字模式";
  {
    const { ctx, page } = await phone();
    await page.goto(urls.large);
    await ready(page);
    await page.locator("button.toggle").click();
    check(await page.evaluate(() => document.documentElement.classList.contains("big")),
      "the switch did not turn 大字模式 on");
    await page.locator("label.level-2").click();
    const m = await page.evaluate(() => {
      const px = (e, p) => parseFloat(getComputedStyle(e)[p]);
      const lum = (c) => {
        const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map((v) => {
          v /= 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const bg = (e) => {
        for (; e; e = e.parentElement) {
          const c = getComputedStyle(e).backgroundColor;
          if (!c.startsWith("rgba") || !c.endsWith(", 0)")) return c;
        }
        return "rgb(255, 255, 255)";
      };
      const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 2 && r.height > 2; };
      let minContrast = 99, worst = "";
      for (const e of document.querySelectorAll("#main *")) {
        if (!visible(e) || ![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
        const [a, b] = [lum(getComputedStyle(e).color), lum(bg(e))];
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (ratio < minContrast) { minContrast = ratio; worst = e.textContent.trim().slice(0, 20); }
      }
      const targets = [...document.querySelectorAll("#main button, #main select, #main textarea, #main input[type=tel], #main label.consent, #main label.level, #main label.chip")]
        .filter(visible)
        .map((e) => { const r = e.getBoundingClientRect(); return { w: r.width, h: r.height, what: (e.id || e.className) + " " + e.textContent.trim().slice(0, 8) }; });
      const smallest = targets.reduce((a, t) => (Math.min(t.w, t.h) < Math.min(a.w, a.h) ? t : a));
      const unlabeled = [...document.querySelectorAll("#main input:not([type=hidden]), #main select, #main textarea")]
        .filter((e) => e.labels.length === 0 && !e.getAttribute("aria-label")).map((e) => e.outerHTML);
      const unnamed = [...document.querySelectorAll("#main button")]
        .filter((e) => !e.innerText.trim() && !e.getAttribute("aria-label")).length;
      const body = document.querySelector("#comment");
      return {
        body: px(document.body, "fontSize"),
        levelText: px(document.querySelector(".level .label"), "fontSize"),
        lineHeight: px(document.body, "lineHeight") / px(document.body, "fontSize"),
        commentLine: px(body, "lineHeight") / px(body, "fontSize"),
        minContrast: Math.round(minContrast * 10) / 10, worst,
        smallestTarget: smallest, targets: targets.length, unlabeled, unnamed,
      };
    });
    await shot(page, "large-1-on");
    check(m.body >= 18, `body text ${m.body} px`);
    check(m.levelText >= 30, `level text ${m.levelText} px`);
    check(m.lineHeight >= 1.3 && m.commentLine >= 1.3, `line spacing ${m.lineHeight}/${m.commentLine}`);
    check(m.minContrast >= 4.5, `contrast ${m.minContrast}:1 at ${JSON.stringify(m.worst)}`);
    check(m.smallestTarget.w >= 60 && m.smallestTarget.h >= 60,
      `a target of ${Math.round(m.smallestTarget.w)}×${Math.round(m.smallestTarget.h)} px: ${m.smallestTarget.what}`);
    check(m.unlabeled.length === 0, `fields without a label: ${m.unlabeled}`);
    check(m.unnamed === 0, `${m.unnamed} buttons without a name`);
    // 200% text (a webview's text zoom: 36 px for the 18 px default) on 360 px: no sideways scroll.
    const zoom = await page.evaluate(() => {
      document.documentElement.style.fontSize = "36px";
      return { scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth };
    });
    await shot(page, "large-2-text-200pct");
    check(zoom.scrollWidth <= zoom.width, `at 200% text the page is ${zoom.scrollWidth} px wide`);
    // The choice is remembered on the next visit.
    await page.reload();
    await ready(page);
    check(await page.evaluate(() => document.documentElement.classList.contains("big")),
      "大字模式 was forgotten on reload");
    seen.large = { ...m, zoom };
    await ctx.close();
  }

  // English by browser language.
  step = "English";
  {
    const { ctx, page } = await phone({ locale: "en-US" });
    await page.goto(urls.en);
    await ready(page);
    seen.en = { level: await text(page, "label.level-5 .label"), lang: await page.getAttribute("html", "lang") };
    check(seen.en.lang === "en" && /satisfied/i.test(seen.en.level), `English: ${JSON.stringify(seen.en)}`);
    await shot(page, "english");
    await ctx.close();
  }
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error("e2e case failed:", e.message, JSON.stringify(seen));
  process.exitCode = 1;
} finally {
  await browser.close();
}
