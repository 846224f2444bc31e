// The checks every public page (the thermometer, the benchmark) gets in a real browser:
// headless Chromium loads each view at 320 and 1280 CSS pixels; axe-core must report no
// WCAG 2.1 A/AA violation, the page must not scroll sideways, the elements a person must
// see must be within the width, the body text at least 16px, the first Tab must show a
// focused control (the skip link, unless the view is embedded), and the page must work
// without JavaScript. Screenshots are kept as artifacts.
//
// CHROMIUM names the browser (default /usr/bin/chromium).

import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");

/**
 * Runs the checks and exits: 0 when all pass, 1 otherwise.
 *
 * name: the screenshots' prefix; artifacts: their folder;
 * views: [{ label, url, embedded }]; items: the selector of the page's main items (at
 * least one must be there, also without JavaScript); visible: { key: selector } of what
 * must be within the width (the key "h1" and every element of each selector).
 */
export async function checkPublicPage({ name, artifacts, views, items, visible }) {
  mkdirSync(artifacts, { recursive: true });
  const failures = [];
  const fail = (what) => {
    failures.push(what);
    console.error(`FAIL ${what}`);
  };
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // As root in CI there is no user namespace for the sandbox.
    args: ["--no-sandbox", "--disable-gpu", "--font-render-hinting=none"],
  });
  try {
    for (const view of views) {
      for (const width of [320, 1280]) {
        const label = `${view.label}-${width}`;
        const page = await browser.newPage();
        // The page's CSP allows no script at all; axe is injected from outside it.
        await page.setBypassCSP(true);
        await page.setViewport({ width, height: 900 });
        const response = await page.goto(view.url, { waitUntil: "load" });
        if (response.status() !== 200) fail(`${label}: status ${response.status()}`);
        await page.screenshot({ path: path.join(artifacts, `${name}-${label}.png`), fullPage: true });

        const seen = await page.evaluate(
          (items, visible) => {
            const inside = (el) => {
              const r = el.getBoundingClientRect();
              return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth + 0.5;
            };
            const within = {};
            for (const [key, sel] of Object.entries(visible)) {
              within[key] = [...document.querySelectorAll(sel)].every(inside);
            }
            return {
              scrollWidth: document.documentElement.scrollWidth,
              innerWidth: window.innerWidth,
              h1: inside(document.querySelector("h1")),
              items: document.querySelectorAll(items).length,
              within,
              fontPx: parseFloat(getComputedStyle(document.body).fontSize),
            };
          },
          items,
          visible,
        );
        if (seen.scrollWidth > seen.innerWidth) {
          fail(`${label}: the page scrolls sideways (${seen.scrollWidth} > ${seen.innerWidth})`);
        }
        if (!seen.h1) fail(`${label}: the heading is not within the width`);
        for (const [key, ok] of Object.entries(seen.within)) {
          if (!ok) fail(`${label}: not all ${key} are visible within the width`);
        }
        if (seen.items === 0) fail(`${label}: no ${items}`);
        if (seen.fontPx < 16) fail(`${label}: body text under 16px`);

        // Keyboard: the first Tab shows a focused control: the skip link, or when
        // embedded (no skip link) the first link or scrollable region.
        if (width === 320) {
          await page.keyboard.press("Tab");
          const focus = await page.evaluate(() => {
            const el = document.activeElement;
            const r = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            return {
              tag: el.tagName,
              skip: el.classList.contains("skip"),
              focusable: el.tagName === "A" || el.hasAttribute("tabindex"),
              visible: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0,
              outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
            };
          });
          const skipped = view.embedded || focus.skip;
          if (!focus.focusable || !focus.visible || !focus.outline || !skipped) {
            fail(`${label}: the first Tab does not show a focused ${view.embedded ? "control" : "skip link"}: ${JSON.stringify(focus)}`);
          }
        }

        // axe-core: WCAG 2.0/2.1 level A and AA.
        await page.addScriptTag({ path: axePath });
        const result = await page.evaluate(async () =>
          // eslint-disable-next-line no-undef
          axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
          }),
        );
        for (const v of result.violations) {
          fail(`${label}: axe ${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        }
        console.log(`${label}: ${seen.items} × ${items}, width ${seen.scrollWidth}/${seen.innerWidth}, axe: ${result.violations.length} violations, ${result.passes.length} rules passed`);
        await page.close();
      }
    }

    // Without JavaScript each page is the same page.
    for (const view of views.filter((v) => !v.embedded)) {
      const page = await browser.newPage();
      await page.setJavaScriptEnabled(false);
      await page.goto(view.url, { waitUntil: "load" });
      const count = await page.evaluate((items) => document.querySelectorAll(items).length, items);
      if (count === 0) fail(`${view.label} without JavaScript: no ${items}`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
  if (failures.length > 0) {
    console.error(`${failures.length} failure(s)`);
    process.exit(1);
  }
  console.log(`all browser checks passed; screenshots in ${artifacts}`);
}
