// The one way the e2e scripts start a browser: Debian's chromium through playwright-core (no
// downloaded browser), headless, with everything that would reach the network on its own off.
import { chromium } from "playwright-core";

/** A cheap Android phone's WeChat: the user agent every citizen-side script uses. */
export const WECHAT_UA = "Mozilla/5.0 (Linux; Android 10; M2006C3LC) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0 Mobile Safari/537.36 MicroMessenger/8.0.47";

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
  });
}

/**
 * Runs one browser script: `body({ browser, seen, check, at })` fills `seen` with what it saw and
 * names its current step in `at.step`; `check(ok, what)` fails it there. Prints `seen` as one JSON
 * line either way; on a failure also the error, and the exit code is 1.
 */
export async function script(body) {
  const browser = await launch();
  const seen = {};
  const at = { step: "start" };
  const check = (ok, what) => {
    if (!ok) throw new Error(`${at.step}: ${what}`);
  };
  try {
    await body({ browser, seen, check, at });
    console.log(JSON.stringify(seen));
  } catch (e) {
    console.log(JSON.stringify(seen));
    console.error(String(e && e.stack ? e.stack : e));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

/** A page's visible text. */
export const bodyText = (page) => page.locator("body").innerText();

/**
 * Takes a step on a console case page: fills the form whose hidden `action` is `action` (select
 * or text fields), submits it, and returns the page's text; throws if the console refused it.
 */
export async function caseStep(page, action, fields) {
  const form = page.locator(`form:has(input[name=action][value=${action}])`);
  for (const [name, value] of Object.entries(fields)) {
    const el = form.locator(`[name=${name}]`);
    if ((await el.evaluate((e) => e.tagName)) === "SELECT") await el.selectOption(value);
    else await el.fill(value);
  }
  await Promise.all([page.waitForNavigation(), form.locator("button").click()]);
  const t = await bodyText(page);
  if (t.includes("没有任何改动")) throw new Error(`${action} refused: ${t}`);
  return t;
}
