// A 大厅管理员 at an office PC (1366×768) sets up a window's hall tablet in the console: makes
// one (its address shown once), puts a staff member on duty with a photo, checks the tablet's
// page, then withdraws it; a bad 工号 is refused in words with nothing changed.
// usage: node e2e/kiosk-console.mjs <base> <account> <password> <code> <photo.png> <screenshot-dir>
// Prints one JSON line of what it saw; exits non-zero on any failure.
import { script, bodyText } from "./browser.mjs";

const [base, name, password, code, photo, shots] = process.argv.slice(2);
await script(async ({ browser, seen, check, at }) => {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  const page = await ctx.newPage();
  at.step = "login";
  await page.goto(`${base}/console/login`);
  await page.locator("input[name=name]").fill(name);
  await page.locator("input[name=password]").fill(password);
  await Promise.all([page.waitForNavigation(), page.locator("button[type=submit]").click()]);

  at.step = "a tablet";
  await page.goto(`${base}/console/codes/${code}`);
  check((await bodyText(page)).includes("此窗口还没有评价平板"), "no tablet yet");
  await page.locator("#tablets input[name=label]").fill("7号窗口评价器");
  await Promise.all([page.waitForNavigation(), page.locator("#tablets button:has-text('新建评价平板')").click()]);
  const flash = await bodyText(page);
  const url = (flash.match(/https?:\/\/\S+\/kiosk\/[A-Z2-7]{26}/) || [])[0];
  check(url, `the address is shown once: ${flash.slice(0, 300)}`);
  seen.url_shape = url.replace(/[A-Z2-7]{26}$/, "<token>");
  check((await fetch(url)).status === 200, "the tablet's page opens");
  await page.goto(`${base}/console/codes/${code}`);
  check(!(await bodyText(page)).includes(url), "and never again");

  at.step = "on duty";
  const form = page.locator("form[action$='/duty']:has(input[name=staff_no])");
  await form.locator("input[name=name]").fill("王芳");
  await form.locator("input[name=staff_no]").fill("HZ 0107");
  // The browser's own pattern check would stop it: the edge's check is what is tested.
  await form.evaluate((f) => (f.noValidate = true));
  await Promise.all([page.waitForNavigation(), form.locator("button").click()]);
  const refused = await bodyText(page);
  check(/工号/.test(refused) && /没有任何改动/.test(refused), `a bad 工号 refused in words: ${refused.slice(0, 200)}`);
  await page.goto(`${base}/console/codes/${code}`);
  await form.locator("input[name=name]").fill("王芳");
  await form.locator("input[name=staff_no]").fill("HZ-0107");
  await form.locator("input[name=photo]").setInputFiles(photo);
  await Promise.all([page.waitForNavigation(), form.locator("button").click()]);
  seen.duty = (await page.locator("#tablets").innerText()).match(/平板显示：.*/)?.[0];
  check(/王芳（工号 HZ-0107），有照片/.test(seen.duty || ""), `on duty: ${seen.duty}`);
  await page.screenshot({ path: `${shots}/console-tablets.png`, fullPage: true });
  const state = await (await fetch(`${url}/state`)).json();
  check(state.staff && state.staff.name === "王芳" && state.staff.photo, `the tablet sees them: ${JSON.stringify(state)}`);
  const img = await fetch(`${base}${state.staff.photo}`);
  check(img.status === 200 && img.headers.get("content-type") === "image/png", `the photo: ${img.status}`);

  at.step = "withdrawn";
  await Promise.all([page.waitForNavigation(), page.locator("form[action$='/kiosks/revoke'] button").click()]);
  seen.withdrawn = (await bodyText(page)).match(/已停用评价平板.*/)?.[0];
  check(seen.withdrawn, `said: ${(await bodyText(page)).slice(0, 900)}`);
  const gone = await fetch(url);
  check(gone.status === 410, `the tablet's page: ${gone.status}`);
  check((await page.locator("#tablets").innerText()).includes("已停用（"), "listed as withdrawn");
});
