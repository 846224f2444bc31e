// The public thermometer page in a real browser: headless Chromium loads the page from
// a running server (started with data by tests/tests/thermometer_page.rs), axe-core
// reports no WCAG 2.1 A/AA violation, a person sees the figures at 320 and 1280 CSS
// pixels without scrolling sideways, the keyboard reaches a visible skip link, the page
// works without JavaScript, and screenshots are kept as artifacts.
//
// node thermometer.mjs <page URL without query> <query> <artifacts dir>
// CHROMIUM names the browser (default /usr/bin/chromium).

import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");

const [pageUrl, query, artifacts] = process.argv.slice(2);
if (!pageUrl || !artifacts) {
  console.error("usage: node thermometer.mjs <page URL> <query> <artifacts dir>");
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
  const views = [
    { name: "nl", url: `${pageUrl}?${query}` },
    { name: "en", url: `${pageUrl}?${query}&lang=en` },
    { name: "embed", url: `${pageUrl}?${query}&embed=1` },
  ];
  for (const view of views) {
    for (const width of [320, 1280]) {
      const page = await browser.newPage();
      // The page's CSP allows no script at all; axe is injected from outside it.
      await page.setBypassCSP(true);
      await page.setViewport({ width, height: 900 });
      const response = await page.goto(view.url, { waitUntil: "load" });
      if (response.status() !== 200) fail(`${view.name} ${width}: status ${response.status()}`);
      const label = `${view.name}-${width}`;
      await page.screenshot({ path: path.join(artifacts, `thermometer-${label}.png`), fullPage: true });

      // What a person sees: no sideways scrolling of the page, the heading, every
      // norm's promise, share and status inside the viewport's width.
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
          norms: all("section.norm").length,
          promises: all("section.norm h3").every(inside),
          shares: all("section.norm .share").every(inside),
          statuses: all("section.norm dd.status").every(inside),
          bars: all("section.norm .bar").every(inside),
          fontPx: parseFloat(getComputedStyle(document.body).fontSize),
        };
      });
      if (seen.scrollWidth > seen.innerWidth) {
        fail(`${label}: the page scrolls sideways (${seen.scrollWidth} > ${seen.innerWidth})`);
      }
      for (const key of ["h1", "promises", "shares", "statuses", "bars"]) {
        if (!seen[key]) fail(`${label}: not all ${key} are visible within the width`);
      }
      if (seen.norms === 0) fail(`${label}: no norms`);
      if (seen.fontPx < 16) fail(`${label}: body text under 16px`);

      // Keyboard: the first Tab reaches a visible, focused link (the skip link, or
      // the first period link when embedded).
      if (width === 320) {
        await page.keyboard.press("Tab");
        const focus = await page.evaluate(() => {
          const el = document.activeElement;
          const r = el.getBoundingClientRect();
          const style = getComputedStyle(el);
          return {
            tag: el.tagName,
            visible: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0,
            outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
          };
        });
        if (focus.tag !== "A" || !focus.visible || !focus.outline) {
          fail(`${label}: the first Tab does not show a focused link: ${JSON.stringify(focus)}`);
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
      console.log(`${label}: ${seen.norms} norms, width ${seen.scrollWidth}/${seen.innerWidth}, axe: ${result.violations.length} violations, ${result.passes.length} rules passed`);
      await page.close();
    }
  }

  // Without JavaScript the page is the same page.
  const page = await browser.newPage();
  await page.setJavaScriptEnabled(false);
  await page.goto(`${pageUrl}?${query}`, { waitUntil: "load" });
  const norms = await page.evaluate(() => document.querySelectorAll("section.norm").length);
  if (norms === 0) fail("without JavaScript: no norms");
  await page.close();
} finally {
  await browser.close();
}

if (failures.length > 0) {
  console.error(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`all browser checks passed; screenshots in ${artifacts}`);
