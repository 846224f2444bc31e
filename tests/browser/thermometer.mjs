// The public thermometer page in a real browser (the checks of public-page.mjs): the page
// from a running server (started with data by tests/tests/thermometer_page.rs) in Dutch,
// English and embedded; every norm's promise, share, bar and status within the width.
//
// node thermometer.mjs <page URL without query> <query> <artifacts dir>

import { checkPublicPage } from "./public-page.mjs";

const [pageUrl, query, artifacts] = process.argv.slice(2);
if (!pageUrl || !artifacts) {
  console.error("usage: node thermometer.mjs <page URL> <query> <artifacts dir>");
  process.exit(2);
}

await checkPublicPage({
  name: "thermometer",
  artifacts,
  views: [
    { label: "nl", url: `${pageUrl}?${query}`, embedded: false },
    { label: "en", url: `${pageUrl}?${query}&lang=en`, embedded: false },
    { label: "embed", url: `${pageUrl}?${query}&embed=1`, embedded: true },
  ],
  items: "section.norm",
  visible: {
    promises: "section.norm h3",
    shares: "section.norm .share",
    statuses: "section.norm dd.status",
    bars: "section.norm .bar",
  },
});
