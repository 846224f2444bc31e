// The reference console in a real browser: headless Chromium walks a referral and a
// return visit with the keyboard alone (look up by BSN, start a contact, a completion
// refused and corrected, complete as referred, look up again, start again: the contact
// shows "referred before" and the story already told), on a server started by
// tests/tests/console_page.rs. Every screen has no WCAG 2.1 A/AA violation (axe-core),
// no sideways scrolling at 320 px, and a screenshot kept as an artifact; the BSN typed
// never appears in a URL or a request header (Referer included). The record form, opened,
// has its start and end filled in with now and the klantbeeld-seen box unticked.
//
// node console.mjs <server URL> <tenant> <BSN> <artifacts dir>
// CHROMIUM names the browser (default /usr/bin/chromium).

import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");

const [server, tenant, bsn, artifacts] = process.argv.slice(2);
if (!server || !tenant || !bsn || !artifacts) {
  console.error("usage: node console.mjs <server URL> <tenant> <BSN> <artifacts dir>");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const failures = [];
const fail = (what) => {
  failures.push(what);
  console.error(`FAIL ${what}`);
};

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--font-render-hinting=none"],
});

// Every request the browser makes: the BSN is never in its URL or its headers.
const watch = (page) =>
  page.on("request", (r) => {
    if (r.url().includes(bsn)) fail(`the BSN in a URL: ${r.url()}`);
    for (const [name, value] of Object.entries(r.headers())) {
      if (String(value).includes(bsn)) fail(`the BSN in the request header ${name}`);
    }
  });

// axe-core (WCAG 2.0/2.1 A and AA), sideways scrolling and a screenshot of the page as
// it is now, at its current width.
const check = async (page, label) => {
  const width = page.viewport().width;
  await page.screenshot({ path: path.join(artifacts, `console-${label}-${width}.png`), fullPage: true });
  const scroll = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (scroll[0] > scroll[1]) fail(`${label} ${width}: the page scrolls sideways (${scroll[0]} > ${scroll[1]})`);
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    }),
  );
  for (const v of result.violations) {
    fail(`${label} ${width}: axe ${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
  console.log(`${label} ${width}: axe ${result.violations.length} violations, ${result.passes.length} rules passed`);
};

// Presses Tab until the focused element matches `selector`; the walk uses no mouse.
const tabTo = async (page, selector) => {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) {
      const visible = await page.evaluate(() => {
        const el = document.activeElement;
        const r = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && style.outlineStyle !== "none";
      });
      if (!visible) fail(`${selector}: focused but its focus is not visible`);
      return;
    }
  }
  throw new Error(`the keyboard does not reach ${selector} on ${page.url()}`);
};

const submitWith = async (page, key = "Enter") => {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press(key)]);
};

const text = (page) => page.evaluate(() => document.body.innerText);
const expect = async (page, label, words) => {
  const t = await text(page);
  for (const w of words) if (!t.includes(w)) fail(`${label}: "${w}" is not shown`);
};

const visited = [];

try {
  const page = await browser.newPage();
  // The pages' CSP allows no script at all; axe is injected from outside it.
  await page.setBypassCSP(true);
  await page.setViewport({ width: 1280, height: 900 });
  watch(page);
  const base = `${server}/console/${tenant}`;
  await page.goto(base, { waitUntil: "load" });
  visited.push(["lookup", page.url()]);

  // Look up: nobody yet.
  await tabTo(page, "#identifiers-bsn");
  await page.keyboard.type(bsn);
  await submitWith(page);
  if (!page.url().endsWith(`/console/${tenant}/new`)) {
    fail(`after the look-up: ${page.url()}: ${(await text(page)).slice(0, 500)}`);
  }
  visited.push(["new", page.url()]);

  // Start a contact about a parking permit.
  await tabTo(page, "#start-topic");
  await page.keyboard.type("parkeervergunning");
  await submitWith(page);
  if (!page.url().includes("/contact/")) fail(`after the start: ${page.url()}`);
  visited.push(["contact", page.url()]);

  // Referred, without saying where: the form comes back with the violation.
  const story = "Wil een parkeervergunning voor de tweede auto";
  await tabTo(page, "#completion-outcome");
  await page.keyboard.press("ArrowDown");
  const outcome = await page.$eval("#completion-outcome", (el) => el.value);
  if (outcome !== "OUTCOME_REFERRED") fail(`the outcome chosen is ${outcome}`);
  await tabTo(page, "#completion-story");
  await page.keyboard.type(story);
  await tabTo(page, "#completion-department");
  await submitWith(page);
  await expect(page, "refused", ["Controleer het formulier"]);
  if ((await page.$("#completion-referred_to-department-error")) === null) {
    fail("the violation is not beside the referral field");
  }
  if ((await page.$eval("#completion-story", (el) => el.value)) !== story) fail("the story was not kept");
  await check(page, "refused");
  // The summary's link leads to the field; then say where.
  await tabTo(page, "a[href='#completion-referred_to-department']");
  await page.keyboard.press("Enter");
  await tabTo(page, "#completion-referred_to-department");
  await page.keyboard.type("parkeren");
  await submitWith(page);
  await expect(page, "completed", ["Afgerond op"]);

  // The return visit: the look-up by the navigation, then the klantbeeld.
  await tabTo(page, `nav a[href='/console/${tenant}']`);
  await submitWith(page);
  await tabTo(page, "#identifiers-bsn");
  await page.keyboard.type(bsn);
  await submitWith(page);
  if (!page.url().includes("/party/")) fail(`after the second look-up: ${page.url()}`);
  visited.push(["klantbeeld", page.url()]);
  await expect(page, "klantbeeld", ["Lopende zaken", "Doorverwezen: 1 keer", story]);

  // Start again on the same topic: the contact shows the signals.
  await tabTo(page, "#start-topic");
  await page.keyboard.type("parkeervergunning");
  await submitWith(page);
  visited.push(["return-visit", page.url()]);
  await expect(page, "return visit", ["eerder doorverwezen (1 keer)", "Verhaal al verteld", story]);

  // The department's worklist, through its own form.
  await tabTo(page, `nav a[href='/console/${tenant}/worklist']`);
  await submitWith(page);
  await tabTo(page, "#department");
  await page.keyboard.type("parkeren");
  await submitWith(page);
  visited.push(["worklist", page.url()]);

  // The record form, behind its summary, opened with the keyboard: its start and end
  // filled in with now (local time), the klantbeeld-seen box there and unticked; checked
  // while open at both widths.
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(visited.find(([l]) => l === "klantbeeld")[1], { waitUntil: "load" });
  await tabTo(page, "details > summary");
  await page.keyboard.press("Enter");
  const [started, ended, seen] = await page.evaluate(() => [
    document.querySelector("#start-started_at")?.value,
    document.querySelector("#completion-ended_at")?.value,
    document.querySelector("#context_seen")?.checked,
  ]);
  const local = /^\d{4}-\d\d-\d\dT\d\d:\d\d$/;
  if (!local.test(started ?? "") || !local.test(ended ?? "")) {
    fail(`the record form's times are not filled in: ${started} ${ended}`);
  }
  if (seen !== false) fail(`the klantbeeld-seen box is missing or ticked: ${seen}`);
  for (const width of [320, 1280]) {
    await page.setViewport({ width, height: 900 });
    await check(page, "record-form");
  }

  for (const [label, url] of visited) {
    for (const width of [320, 1280]) {
      await page.setViewport({ width, height: 900 });
      await page.goto(url, { waitUntil: "load" });
      await check(page, label);
    }
  }
  await page.close();

  // Without JavaScript the look-up is the same form.
  const plain = await browser.newPage();
  await plain.setJavaScriptEnabled(false);
  await plain.goto(base, { waitUntil: "load" });
  if ((await plain.$("#identifiers-bsn")) === null) fail("without JavaScript: no look-up form");
  await plain.close();
} catch (e) {
  fail(String(e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}

if (failures.length > 0) {
  console.error(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`all console browser checks passed; screenshots in ${artifacts}`);
