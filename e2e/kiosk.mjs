// A hall tablet in kiosk mode at a window, 1280×800: standby shows the window and the staff
// member on duty; an unarmed tap does nothing; the staff member's "请评价" arms it for one rating,
// after which it returns to standby with nothing of the citizen left; an untouched arming
// returns to standby after the idle time; three ratings made offline are delivered when the
// network returns; the queue system arms it for a 办件; a withdrawn tablet stops.
// usage: node e2e/kiosk.mjs <tablet-url> <base> <queue-token> <code> <matter> <admin-token> <tablet-id> <shots>
// Prints one JSON line of what it saw; exits non-zero on any failure.
import { script, bodyText } from "./browser.mjs";

const [url, base, queueToken, code, matter, adminToken, tabletId, shots] = process.argv.slice(2);
await script(async ({ browser, seen, check, at }) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
  // No camera, ever: any attempt to reach one is counted.
  await ctx.addInitScript(() => {
    window.__camera = 0;
    const md = navigator.mediaDevices;
    if (md) {
      md.getUserMedia = () => { window.__camera++; return Promise.reject(new Error("no camera")); };
      md.enumerateDevices = () => { window.__camera++; return Promise.resolve([]); };
    }
  });
  const page = await ctx.newPage();
  const visible = (sel) => page.locator(sel).isVisible();
  const standby = () => page.locator("#standby").waitFor({ state: "visible", timeout: 20000 });
  const outbox = () => page.evaluate(() => (localStorage.getItem("zsp.kiosk.outbox") || "").split("\n").filter(Boolean).length);
  // Everything the tablet keeps, but the queue of undelivered ratings.
  const kept = () => page.evaluate(() => Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter((k) => k !== "zsp.kiosk.outbox"));
  const rate = async (level, tag, comment) => {
    await page.locator("#arm").click();
    await page.locator("#rating").waitFor({ state: "visible" });
    await page.locator(`label.level-${level}`).click();
    if (tag) await page.locator(`.chip:has(input[value="${tag}"])`).click();
    if (comment) await page.locator("#comment").fill(comment);
    await page.locator("#submit").click();
    await page.locator("#done").waitFor({ state: "visible", timeout: 5000 });
  };

  at.step = "standby";
  const res = await page.goto(url);
  check(res.status() === 200, `status ${res.status()}`);
  seen.permissions = res.headers()["permissions-policy"];
  check(/camera=\(\)/.test(seen.permissions || ""), `camera off by policy: ${seen.permissions}`);
  await standby();
  // The staff member on duty, as the queue system set them, arrives with the first state.
  await page.waitForFunction(() => document.querySelector("#duty-name").textContent.includes("王芳"), null, { timeout: 10000 });
  seen.standby = (await page.locator("#standby").innerText()).replace(/\s+/g, " ");
  check(/工号\s*HZ-0107/.test(seen.standby), `工号 shown: ${seen.standby}`);
  check(await visible("#duty-photo"), "the photo shows");
  check(!(await visible("#rating")), "no rating form on standby");
  check(await page.evaluate(() => document.documentElement.classList.contains("big")), "large text by default");
  await page.screenshot({ path: `${shots}/kiosk-standby.png` });

  at.step = "an unarmed tap";
  await page.locator("#duty-name").click();
  await page.mouse.click(640, 700);
  await page.mouse.click(100, 400);
  await page.waitForTimeout(500);
  check(!(await visible("#rating")) && (await visible("#standby")), "taps do nothing until armed");
  seen.unarmed = "standby kept";

  at.step = "armed";
  await page.locator("#arm").click();
  await page.locator("#rating").waitFor({ state: "visible" });
  await page.locator("label.level-5").click();
  await page.screenshot({ path: `${shots}/kiosk-armed.png` });
  await page.locator(".chip:has(input[value=\"517\"])").click();
  await page.locator("#comment").fill("窗口服务很耐心");
  await page.screenshot({ path: `${shots}/kiosk-armed-full.png`, fullPage: true });
  await page.locator("#submit").click();
  await page.locator("#done").waitFor({ state: "visible", timeout: 5000 });
  await page.screenshot({ path: `${shots}/kiosk-thanks.png` });
  await standby();
  seen.after = (await bodyText(page)).replace(/\s+/g, " ");
  check(!seen.after.includes("窗口服务很耐心"), "nothing of the citizen on screen");
  await page.waitForFunction(() => !localStorage.getItem("zsp.kiosk.outbox"), null, { timeout: 10000 });
  check((await kept()).length === 0, `nothing kept in storage: ${await kept()}`);
  // Armed again, the form is empty.
  await page.locator("#arm").click();
  check((await page.locator("input[name=level]:checked").count()) === 0, "no level left chosen");
  check((await page.locator("#comment").inputValue()) === "", "no comment left");
  await page.locator("#cancel").click();
  await standby();

  at.step = "idle";
  await page.locator("#arm").click();
  await page.locator("label.level-2").click();
  await page.locator("#comment").fill("等了很久");
  const t0 = Date.now();
  await standby();
  seen.idle_secs = Math.round((Date.now() - t0) / 1000);
  check(!(await bodyText(page)).includes("等了很久"), "the idle citizen's draft is gone");
  await page.locator("#arm").click();
  check((await page.locator("input[name=level]:checked").count()) === 0, "no level left after idling");
  await page.locator("#cancel").click();

  at.step = "offline";
  await ctx.setOffline(true);
  for (const [i, level] of [[1, 4], [2, 3], [3, 1]]) {
    await rate(level, level === 1 ? "115" : null, `离线评价${i}`);
    await standby();
  }
  await page.locator("#offline").waitFor({ state: "visible", timeout: 10000 });
  seen.offline_mark = await page.locator("#offline").innerText();
  check(/3/.test(seen.offline_mark), `the mark counts 3 waiting: ${seen.offline_mark}`);
  check((await outbox()) === 3, `3 queued: ${await outbox()}`);
  await page.screenshot({ path: `${shots}/kiosk-offline.png` });
  // A reload while offline would lose the page, not the queue: it is in local storage.
  await ctx.setOffline(false);
  await page.waitForFunction(() => !localStorage.getItem("zsp.kiosk.outbox"), null, { timeout: 30000 });
  await page.locator("#offline").waitFor({ state: "hidden", timeout: 10000 });
  seen.offline = "3 delivered";

  at.step = "armed by the queue system";
  const minted = await fetch(`${base}/api/v1/links`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${queueToken}` },
    body: JSON.stringify({ code, matter, project_no: "BJ-2026-K001", kiosk: true }),
  });
  check(minted.status === 201, `minted: ${minted.status}`);
  await page.locator("#rating").waitFor({ state: "visible", timeout: 10000 });
  seen.case = await page.locator("#case").innerText();
  check(/BJ-2026-K001/.test(seen.case), `the 办件号 shown: ${seen.case}`);
  check(await page.locator("#matter").isDisabled(), "the matter is fixed");
  await page.screenshot({ path: `${shots}/kiosk-queue-armed.png` });
  await page.locator("label.level-5").click();
  await page.locator("#submit").click();
  await standby();
  await page.waitForFunction(() => !localStorage.getItem("zsp.kiosk.outbox"), null, { timeout: 10000 });
  seen.camera = await page.evaluate(() => window.__camera);
  check(seen.camera === 0, "the camera was never asked for");

  at.step = "withdrawn";
  const revoked = await fetch(`${base}/admin/kiosks/${tabletId}/revoke`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  check(revoked.status === 200, `revoked: ${revoked.status}`);
  await page.waitForFunction(() => document.body.innerText.includes("已停用"), null, { timeout: 15000 });
  seen.withdrawn = (await bodyText(page)).replace(/\s+/g, " ").slice(0, 80);
  check(!(await page.locator("#arm").count()), "no way to arm a withdrawn tablet");
  await page.screenshot({ path: `${shots}/kiosk-withdrawn.png` });
});
