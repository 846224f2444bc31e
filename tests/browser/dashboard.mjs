// The managers' dashboard in a real browser: headless Chromium loads the dashboard from
// a running server (started with data by crates/midoffice/tests/demo.rs, test `browser_on_the_demo`, in development
// mode, which opens the dashboard to loopback), axe-core reports no WCAG 2.1 A/AA
// violation, the page body does not scroll sideways at 320 and 1280 CSS pixels (a chart
// or table wider than the screen scrolls inside its own box), the keyboard reaches a
// visibly focused control, and screenshots are kept as artifacts.
//
// node dashboard.mjs <dashboard URL without query> <query> <artifacts dir>
// CHROMIUM names the browser (default /usr/bin/chromium). DASHBOARD_AUTHORIZATION, when
// set, is sent as the Authorization header (for a server with credentials).

import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");

const [pageUrl, query, artifacts] = process.argv.slice(2);
if (!pageUrl || !artifacts) {
  console.error("usage: node dashboard.mjs <dashboard URL> <query> <artifacts dir>");
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
  ];
  for (const view of views) {
    for (const width of [320, 1280]) {
      const page = await browser.newPage();
      if (process.env.DASHBOARD_AUTHORIZATION) {
        await page.setExtraHTTPHeaders({ Authorization: process.env.DASHBOARD_AUTHORIZATION });
      }
      // The page's CSP allows no script at all; axe is injected from outside it.
      await page.setBypassCSP(true);
      await page.setViewport({ width, height: 900 });
      const response = await page.goto(view.url, { waitUntil: "load" });
      const label = `${view.name}-${width}`;
      if (response.status() !== 200) fail(`${label}: status ${response.status()}`);
      await page.screenshot({ path: path.join(artifacts, `dashboard-${label}.png`), fullPage: true });

      // What a person sees: the body does not scroll sideways; every chart, and every
      // table's scroll box, lies within the width; a wide table scrolls in its box.
      const seen = await page.evaluate(() => {
        const inside = (el) => {
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= window.innerWidth + 0.5;
        };
        const all = (sel) => [...document.querySelectorAll(sel)];
        const boxes = all("section.family table").map((t) => t.parentElement);
        return {
          scrollWidth: document.documentElement.scrollWidth,
          bodyScrollWidth: document.body.scrollWidth,
          innerWidth: window.innerWidth,
          h1: inside(document.querySelector("h1")),
          form: inside(document.querySelector("form")),
          charts: all("section.family svg").length,
          chartsInside: all("section.family svg").filter((el) => !inside(el)).map((el) => el.getAttribute("aria-label")),
          tables: boxes.length,
          boxesInside: boxes.filter((el) => !inside(el)).length,
          // A table wider than its box must be scrollable in that box.
          wideUnscrollable: boxes.filter((box) => {
            const style = getComputedStyle(box);
            return box.scrollWidth > box.clientWidth + 0.5 && !["auto", "scroll"].includes(style.overflowX);
          }).length,
          fontPx: parseFloat(getComputedStyle(document.body).fontSize),
        };
      });
      if (seen.scrollWidth > seen.innerWidth || seen.bodyScrollWidth > seen.innerWidth) {
        fail(`${label}: the page scrolls sideways (${seen.scrollWidth}, body ${seen.bodyScrollWidth} > ${seen.innerWidth})`);
      }
      if (!seen.h1) fail(`${label}: the heading is not within the width`);
      if (!seen.form) fail(`${label}: the filter is not within the width`);
      if (seen.charts < 9) fail(`${label}: ${seen.charts} charts, expected 9`);
      if (seen.tables !== seen.charts) fail(`${label}: ${seen.tables} tables for ${seen.charts} charts`);
      if (seen.chartsInside.length > 0) fail(`${label}: charts outside the width: ${seen.chartsInside.join(", ")}`);
      if (seen.boxesInside > 0) fail(`${label}: ${seen.boxesInside} table boxes outside the width`);
      if (seen.wideUnscrollable > 0) fail(`${label}: ${seen.wideUnscrollable} wide tables do not scroll in their box`);
      if (seen.fontPx < 16) fail(`${label}: body text under 16px`);

      // Keyboard: the first Tab reaches a control with a visible focus indicator.
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
        if (focus.tag === "BODY" || !focus.visible || !focus.outline) {
          fail(`${label}: the first Tab does not show a focused control: ${JSON.stringify(focus)}`);
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
      console.log(`dashboard ${label}: ${seen.charts} charts, width ${seen.scrollWidth}/${seen.innerWidth}, axe: ${result.violations.length} violations, ${result.passes.length} rules passed`);
      await page.close();
    }
  }
} finally {
  await browser.close();
}

if (failures.length > 0) {
  console.error(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`all dashboard browser checks passed; screenshots in ${artifacts}`);
