// The public benchmark page in a real browser (the checks of public-page.mjs): the pages
// of groups from a running server (started with data by tests/tests/benchmark_page.rs),
// each in Dutch, English and embedded; every metric's title and range (when a group
// figure is shown) within the width.
//
// node benchmark.mjs <group page URL>... <artifacts dir>

import { checkPublicPage } from "./public-page.mjs";

const args = process.argv.slice(2);
const artifacts = args.pop();
if (args.length === 0 || !artifacts) {
  console.error("usage: node benchmark.mjs <group page URL>... <artifacts dir>");
  process.exit(2);
}

await checkPublicPage({
  name: "benchmark",
  artifacts,
  views: args.flatMap((url, k) => [
    { label: `group${k}-nl`, url, embedded: false },
    { label: `group${k}-en`, url: `${url}?lang=en`, embedded: false },
    { label: `group${k}-embed`, url: `${url}?embed=1`, embedded: true },
  ]),
  items: "section.metric",
  visible: {
    titles: "section.metric h3",
    ranges: "section.metric svg.range",
  },
});
