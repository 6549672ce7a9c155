// How long from an event being written to the dashboard showing it
// (docs/dashboard.md, "Latency"), with the e2e test's set-ups and the page
// open in headless chromium:
//
//   bash tests/e2e/setup.sh     # once: chromium, playwright-core
//   node bench/dashboard_latency.mjs --chatkpi build/chatkpi [--events 200]
//        [--engine follow|run] [--follow-interval-ms 200] [--commit-ms 1000]
//        [--gap-ms 300]
//
//   follow  one `chatkpi ingest` per event, `chatkpi serve --follow` serving
//   run     one `chatkpi produce` per event to `chatkpi run --brokers mock
//           --port 0`, which commits every --commit-ms and serves the page
//
// Each event is a new buyer's question, so the team's consultations figure
// goes up by one per event. The producer notes the time before it writes the
// event and when the writing command returned (for `ingest`, the commit is
// durable then; `produce` returns once the broker has the message); a
// MutationObserver in the page notes when the figure changes on screen.
// Both clocks are the machine's (performance.timeOrigin + now()).
import path from 'node:path';
import fs from 'node:fs';

import {
  DASH_TOKEN, api, ingest, launchBrowser, parseArgs, produce, seedEvents, startRun,
  startServe, stopServe, tempDir, writeJsonl,
} from '../tests/e2e/lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = args.chatkpi;
if (!bin) throw new Error('--chatkpi BINARY is required');
const events = Number(args.events || 200);
const gapMs = Number(args['gap-ms'] || 300);
const followMs = Number(args['follow-interval-ms'] || 200);
const commitMs = Number(args['commit-ms'] || 1000);
const mode = args.engine || 'follow';
const now = () => performance.timeOrigin + performance.now();

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
function summary(name, xs) {
  const s = [...xs].sort((a, b) => a - b);
  const f = (v) => v.toFixed(0).padStart(5);
  return `${name.padEnd(34)} p50 ${f(pct(s, 50))} ms  p90 ${f(pct(s, 90))} ms  ` +
    `p99 ${f(pct(s, 99))} ms  max ${f(s[s.length - 1])} ms`;
}

async function main() {
  const dir = tempDir('chatkpi-latency-');
  const db = path.join(dir, 'db');
  const seedFile = path.join(dir, 'seed.jsonl');
  const seed = seedEvents(Date.now());
  writeJsonl(seedFile, seed);
  let serve;
  let write;
  if (mode === 'run') {
    serve = await startRun(bin, dir, db, ['--commit-ms', String(commitMs)]);
    produce(bin, serve.brokers, seedFile);
    write = (file) => produce(bin, serve.brokers, file);
  } else {
    ingest(bin, db, seedFile);
    serve = await startServe(bin, dir, db, 0, ['--follow-interval-ms', String(followMs)]);
    write = (file) => ingest(bin, db, file);
  }
  for (const deadline = Date.now() + 30000; Date.now() < deadline;) {
    const t = await api(serve.port, '/api/today');
    if (t.status === 200 && t.body.seq >= seed.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const browser = await launchBrowser({ width: 1600, height: 1000 });
  const rows = [];
  try {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${serve.port}/dashboard/#token=${DASH_TOKEN}`);
    await page.waitForFunction((n) => Number(document.body.dataset.seq) >= n, seed.length);
    // The page notes when the team's consultations figure changes.
    const base = await page.evaluate(() => {
      const el = document.querySelector('#team [data-field="consultations"]');
      window.seen = {};
      new MutationObserver(() => {
        window.seen[el.dataset.value] = performance.timeOrigin + performance.now();
      }).observe(el, { attributes: true, attributeFilter: ['data-value'] });
      return JSON.parse(el.dataset.value);
    });
    const file = path.join(dir, 'one.jsonl');
    for (let i = 1; i <= events; i++) {
      const written = now();
      writeJsonl(file, [{ type: 'chat', id: `lat-${i}`, ts: Date.now(), buyer: `lat-buyer-${i}`,
        agent: 'shop:bench', dir: 'in', text: '在吗' }]);
      write(file);
      const committed = now();
      const want = String(base + i);
      await page.waitForFunction((v) => window.seen[v] !== undefined, want, { timeout: 10000 });
      const shown = await page.evaluate((v) => window.seen[v], want);
      rows.push({ written, committed, shown });
      // Spread the writes over the follower's polling phase.
      await new Promise((r) => setTimeout(r, Math.random() * gapMs));
    }
  } finally {
    await browser.close();
    await stopServe(serve);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (mode === 'run') {
    console.log(`${events} events, run --brokers mock --commit-ms ${commitMs}, ` +
      'one `chatkpi produce` per event');
    console.log(summary('write (produce start) -> shown', rows.map((r) => r.shown - r.written)));
    console.log(summary('produce returned -> shown', rows.map((r) => r.shown - r.committed)));
    console.log(summary('write -> produce returned', rows.map((r) => r.committed - r.written)));
  } else {
    console.log(`${events} events, serve --follow --follow-interval-ms ${followMs}, ` +
      'one `chatkpi ingest` per event');
    console.log(summary('commit -> shown on the page', rows.map((r) => r.shown - r.committed)));
    console.log(summary('write (ingest start) -> shown', rows.map((r) => r.shown - r.written)));
    console.log(summary('write -> commit (ingest process)', rows.map((r) => r.committed - r.written)));
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
