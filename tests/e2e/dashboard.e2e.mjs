// End-to-end test of the live dashboard (docs/dashboard.md), run by ctest
// through tests/dashboard_e2e_test.cc:
//
//   node tests/e2e/dashboard.e2e.mjs --chatkpi build/chatkpi \
//        [--screenshot docs/dashboard.png]
//
// A store gets a day of chat; `chatkpi serve --follow` serves it; headless
// chromium opens the page with the dashboard token. New events are then
// committed by `chatkpi ingest` (another process, as an engine would), and
// the page must show, without a reload, the numbers /api/today returns. The
// server is restarted once: the page must reconnect by itself. Prints
// "N passed, 0 failed" and exits 0, or names the failed check and exits 1.
import fs from 'node:fs';
import path from 'node:path';

import {
  ADMIN_TOKEN, AGENTS, DASH_TOKEN, api, ingest, launchBrowser, parseArgs, seedEvents,
  startServe, stopServe, tempDir, writeJsonl,
} from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = args.chatkpi;
if (!bin) throw new Error('--chatkpi BINARY is required');
const dir = tempDir('chatkpi-e2e-');
const db = path.join(dir, 'db');
let passed = 0;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  passed++;
  console.log(`ok ${passed} - ${what}`);
}

// Waits until the page has rendered a board of at least `seq` events.
async function waitForSeq(page, seq, timeout = 10000) {
  await page.waitForFunction((s) => Number(document.body.dataset.seq || -1) >= s, seq,
    { timeout });
}

// Every figure the page shows for the agents and the team, as raw values.
function pageFigures(page) {
  return page.evaluate(() => {
    const read = (root) => {
      const o = {};
      for (const e of root.querySelectorAll('[data-field]')) {
        o[e.dataset.field] = e.dataset.value === undefined ? undefined : JSON.parse(e.dataset.value);
      }
      return o;
    };
    const agents = {};
    for (const c of document.querySelectorAll('#cards [data-agent]')) agents[c.dataset.agent] = read(c);
    return { team: read(document.getElementById('team')), agents, seq: Number(document.body.dataset.seq) };
  });
}

// What the page should show for a row of /api/today, at the page's clock.
function expected(row, board, nowMs) {
  const e = {};
  for (const f of ['consultations', 'reply_rate', 'avg_response_s', 'avg_first_response_s',
    'slow', 'conversion_rate']) {
    e[f] = row[f];
  }
  const open = row.waiting_since_ms.filter((t) => nowMs - t <= board.response_window_s * 1000);
  e.waiting = open.length;
  return e;
}

// The page's figures equal the API's, agent by agent, once the API has
// seen `minSeq` events (the follower catches up every 200 ms).
async function compareWithApi(page, port, label, minSeq = 0) {
  let status, body;
  for (const deadline = Date.now() + 5000; ;) {
    ({ status, body } = await api(port, '/api/today'));
    if (status !== 200 || body.seq >= minSeq || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  check(status === 200 && body.seq >= minSeq, `${label}: /api/today answers 200 with ${minSeq}+ events`);
  await waitForSeq(page, body.seq);
  const shown = await pageFigures(page);
  check(shown.seq === body.seq, `${label}: the page shows the API's board (seq ${body.seq})`);
  const now = Date.now();
  const mismatches = [];
  for (const row of [...body.agents, { ...body.team, agent: '(team)' }]) {
    const got = row.agent === '(team)' ? shown.team : shown.agents[row.agent];
    if (!got) { mismatches.push(`${row.agent}: no card`); continue; }
    for (const [f, v] of Object.entries(expected(row, body, now))) {
      if (got[f] !== undefined && JSON.stringify(got[f]) !== JSON.stringify(v)) {
        mismatches.push(`${row.agent}.${f}: page ${JSON.stringify(got[f])}, API ${JSON.stringify(v)}`);
      }
    }
  }
  check(mismatches.length === 0, `${label}: every card matches /api/today ${mismatches.join('; ')}`);
  return body;
}

async function main() {
  const now = Date.now();
  writeJsonl(path.join(dir, 'seed.jsonl'), seedEvents(now));
  ingest(bin, db, path.join(dir, 'seed.jsonl'));
  let serve = await startServe(bin, dir, db);
  const port = serve.port;
  const browser = await launchBrowser();
  try {
    // Who may read what.
    check((await api(port, '/api/today', null)).status === 401, 'no token: 401');
    check((await api(port, '/api/snapshot?from=2026-01-01&to=2026-01-02')).status === 403,
      'dashboard token: /api/snapshot is 403');
    check((await api(port, '/api/score?month=2026-01&scheme=kpi100')).status === 403,
      'dashboard token: /api/score is 403');
    check((await api(port, '/metrics')).status === 403, 'dashboard token: /metrics is 403');
    check((await api(port, '/api/today', ADMIN_TOKEN)).status === 200, 'admin token: /api/today is 200');
    const lb = await api(port, '/api/leaderboard');
    check(lb.status === 200 && lb.body.agents.length === AGENTS.length &&
      !JSON.stringify(lb.body).includes('_fen'), 'leaderboard: every agent, no pay');

    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${port}/dashboard/#token=${DASH_TOKEN}`);
    check(!page.url().includes(DASH_TOKEN), 'the token leaves the address bar');
    const first = await compareWithApi(page, port, 'initial');
    check(first.agents.length === AGENTS.length, 'a card per agent');
    await page.waitForSelector('#board tr');
    const boardRows = await page.$$eval('#board tr', (rows) => rows.length);
    check(boardRows === AGENTS.length, 'the leaderboard lists every agent');
    const bars = await page.$$eval('#chart rect.bar', (b) => b.length);
    check(bars === first.hour_starts_ms.length - 1, 'the chart has a bar per hour');

    // A new buyer writes to shop:xiaoli: one more consultation, one more
    // buyer waiting.
    const agent = 'shop:xiaoli';
    const before = first.agents.find((a) => a.agent === agent);
    const t0 = Date.now();
    writeJsonl(path.join(dir, 'q.jsonl'), [{ type: 'chat', id: 'e2e-q1', ts: t0 - 5000,
      buyer: 'e2e-buyer', agent, dir: 'in', text: '你好，在吗' }]);
    ingest(bin, db, path.join(dir, 'q.jsonl'));
    const asked = await compareWithApi(page, port, 'after a question', first.seq + 1);
    const mid = asked.agents.find((a) => a.agent === agent);
    check(mid.consultations === before.consultations + 1, 'consultations went up by one');
    check(mid.waiting === before.waiting + 1, 'one more buyer waiting');
    const shownWait = await page.$eval(`[data-agent="${agent}"] [data-field="waiting"]`, (e) => e.textContent);
    check(shownWait === String(mid.waiting), `the card shows ${mid.waiting} waiting`);

    // The agent answers 30 s after the question: the wait ends, the
    // averages move.
    writeJsonl(path.join(dir, 'a.jsonl'), [{ type: 'chat', id: 'e2e-a1', ts: t0 + 25000,
      buyer: 'e2e-buyer', agent, dir: 'out', text: '亲，您好，在的' }]);
    ingest(bin, db, path.join(dir, 'a.jsonl'));
    const answered = await compareWithApi(page, port, 'after the answer', asked.seq + 1);
    const after = answered.agents.find((a) => a.agent === agent);
    check(after.waiting === before.waiting, 'the buyer no longer waits');
    check(after.answered === before.answered + 1 && after.avg_response_s !== before.avg_response_s,
      'the average response time moved');

    // The serving process restarts; the page must come back by itself.
    await stopServe(serve);
    serve = await startServe(bin, dir, db, port);
    writeJsonl(path.join(dir, 'r.jsonl'), [{ type: 'chat', id: 'e2e-q2', ts: Date.now(),
      buyer: 'e2e-buyer-2', agent: 'shop:dabao', dir: 'in', text: '还在吗' }]);
    ingest(bin, db, path.join(dir, 'r.jsonl'));
    await compareWithApi(page, port, 'after a server restart', answered.seq + 1);
    check(errors.length === 0, `no script errors on the page ${errors.join('; ')}`);

    const shot = args.screenshot || path.join(dir, 'dashboard.png');
    await page.screenshot({ path: shot });
    check(fs.statSync(shot).size > 10000, `screenshot saved to ${shot}`);
  } finally {
    await browser.close();
    await stopServe(serve);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => {
  console.log(`${passed} passed, 0 failed`);
}, (e) => {
  console.log(`not ok - ${e.message}`);
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
});
