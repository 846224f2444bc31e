// The public benchmark page in a real browser: headless Chromium loads the pages of
// groups from a running server (started with data by tests/tests/benchmark_page.rs),
// axe-core reports no WCAG 2.1 A/AA violation, a person sees every metric at 320 and
// 1280 CSS pixels without scrolling sideways (Dutch, English, embedded), the keyboard
// reaches a visible skip link, the page works without JavaScript, and screenshots are
// kept as artifacts.
//
// node benchmark.mjs <group page URL>... <artifacts dir>
// CHROMIUM names the browser (default /usr/bin/chromium).

import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");

const args = process.argv.slice(2);
const artifacts = args.pop();
const pages = args;
if (pages.length === 0 || !artifacts) {
  console.error("usage: node benchmark.mjs <group page URL>... <artifacts dir>");
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
  // As root in CI there is no user namespace for the sandbox.
  args: ["--no-sandbox", "--disable-gpu", "--font-render-hinting=none"],
});

try {
  for (const [k, pageUrl] of pages.entries()) {
    const views = [
      { name: "nl", url: pageUrl, skip: true },
      { name: "en", url: `${pageUrl}?lang=en`, skip: true },
      { name: "embed", url: `${pageUrl}?embed=1`, skip: false },
    ];
    for (const view of views) {
      for (const width of [320, 1280]) {
        const page = await browser.newPage();
        // The page's CSP allows no script at all; axe is injected from outside it.
        await page.setBypassCSP(true);
        await page.setViewport({ width, height: 900 });
        const response = await page.goto(view.url, { waitUntil: "load" });
        const label = `group${k}-${view.name}-${width}`;
        if (response.status() !== 200) fail(`${label}: status ${response.status()}`);
        await page.screenshot({ path: path.join(artifacts, `benchmark-${label}.png`), fullPage: true });

        // What a person sees: no sideways scrolling, the heading, every metric's title
        // and its range (when shown) inside the viewport's width.
        const seen = await page.evaluate(() => {
          const inside = (el) => {
            const r = el.getBoundingClientRect();
            return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth + 0.5;
          };
          const all = (sel) => [...document.querySelectorAll(sel)];
          return {
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth: window.innerWidth,
            h1: inside(document.querySelector("h1")),
            metrics: all("section.metric").length,
            titles: all("section.metric h3").every(inside),
            ranges: all("section.metric svg.range").every(inside),
            fontPx: parseFloat(getComputedStyle(document.body).fontSize),
          };
        });
        if (seen.scrollWidth > seen.innerWidth) {
          fail(`${label}: the page scrolls sideways (${seen.scrollWidth} > ${seen.innerWidth})`);
        }
        for (const key of ["h1", "titles", "ranges"]) {
          if (!seen[key]) fail(`${label}: not all ${key} are visible within the width`);
        }
        if (seen.metrics === 0) fail(`${label}: no metrics`);
        if (seen.fontPx < 16) fail(`${label}: body text under 16px`);

        // Keyboard: the first Tab reaches a visible, focused link (the skip link; when
        // embedded, the first link of the page).
        if (width === 320) {
          await page.keyboard.press("Tab");
          const focus = await page.evaluate(() => {
            const el = document.activeElement;
            const r = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            return {
              tag: el.tagName,
              skip: el.classList.contains("skip"),
              visible: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0,
              outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
            };
          });
          const focusable = ["A", "DIV"].includes(focus.tag);
          if (!focusable || !focus.visible || !focus.outline || (view.skip && !focus.skip)) {
            fail(`${label}: the first Tab does not show the focused ${view.skip ? "skip link" : "link"}: ${JSON.stringify(focus)}`);
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
        console.log(`${label}: ${seen.metrics} metrics, width ${seen.scrollWidth}/${seen.innerWidth}, axe: ${result.violations.length} violations, ${result.passes.length} rules passed`);
        await page.close();
      }
    }

    // Without JavaScript the page is the same page.
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(false);
    await page.goto(pageUrl, { waitUntil: "load" });
    const metrics = await page.evaluate(() => document.querySelectorAll("section.metric").length);
    if (metrics === 0) fail(`group${k} without JavaScript: no metrics`);
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
