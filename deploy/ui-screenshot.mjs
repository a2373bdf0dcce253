// node deploy/ui-screenshot.mjs WORKFLOW_ID RUN_ID [OUT.png] [UI_URL]
//
// A screenshot of a node's or flow's User Metadata tab in Temporal Web (its
// summary, details and live card) with headless Chromium, while it runs or
// after: what ops see. Needs Debian's chromium and playwright-core
// (npm install playwright-core). UI_URL defaults to worker --dev's UI, the
// namespace to HTTPNODE_NAMESPACE or "default".
import { chromium } from 'playwright-core';

const [id, run, out = 'node.png', ui = 'http://127.0.0.1:8233'] = process.argv.slice(2);
if (!id || !run) {
  console.error('usage: node deploy/ui-screenshot.mjs WORKFLOW_ID RUN_ID [OUT.png] [UI_URL]');
  process.exit(2);
}
const ns = process.env.HTTPNODE_NAMESPACE || 'default';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${ui}/namespaces/${ns}/workflows/${encodeURIComponent(id)}/${run}/user-metadata`);
  await page.getByText('Current Details').waitFor({ timeout: 20000 });
  await page.waitForTimeout(1500); // the card's query answers
  await page.screenshot({ path: out });
  console.log(out);
} finally {
  await browser.close();
}
