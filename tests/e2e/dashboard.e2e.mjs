// End-to-end test of the live dashboard (docs/dashboard.md), run by ctest
// through tests/dashboard_e2e_test.cc:
//
//   node tests/e2e/dashboard.e2e.mjs --chatkpi build/chatkpi \
//        [--engine follow|run] [--screenshot docs/dashboard.png]
//
// The engine commits a day of chat and the page is opened in headless
// chromium with the dashboard token; then new events are committed, and
// after each the page must show, without a reload, the numbers /api/today
// returns. Two set-ups:
//   follow  `chatkpi ingest` runs commit, `chatkpi serve --follow` serves
//           (two processes); `serve` is also restarted once, and the page
//           must reconnect by itself.
//   run     `chatkpi run --brokers mock --port 0` consumes what
//           `chatkpi produce` publishes and serves the page itself (no
//           restart: the embedded broker dies with the process).
// Prints "N passed, 0 failed" and exits 0, or names the failed check and
// exits 1.
import fs from 'node:fs';
import path from 'node:path';

import {
  ADMIN_TOKEN, AGENTS, DASH_TOKEN, api, dayStartMs, ingest, launchBrowser, parseArgs, produce,
  seedEvents, startRun, startServe, stopServe, tempDir, writeJsonl,
} from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = args.chatkpi;
if (!bin) throw new Error('--chatkpi BINARY is required');
const mode = args.engine || 'follow';
if (mode !== 'follow' && mode !== 'run') throw new Error('--engine must be follow or run');
const dir = tempDir('chatkpi-e2e-');
const db = path.join(dir, 'db');
let passed = 0;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  passed++;
  console.log(`ok ${passed} - [${mode}] ${what}`);
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
  for (const f of ['consultations', 'reply_rate', 'avg_response_s', 'median_response_s',
    'response_rate_180s', 'avg_first_response_s', 'slow', 'conversion_rate']) {
    e[f] = row[f];
  }
  const open = row.waiting_since_ms.filter((t) => nowMs - t <= board.response_window_s * 1000);
  e.waiting = open.length;
  return e;
}

// /api/today once it has seen `minSeq` events: a follower catches up every
// 200 ms, `run` commits every 200 ms here.
async function todayAt(port, minSeq, timeout = 10000) {
  let status, body;
  for (const deadline = Date.now() + timeout; ;) {
    ({ status, body } = await api(port, '/api/today'));
    if (status !== 200 || body.seq >= minSeq || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { status, body };
}

// The page's figures equal the API's, agent by agent, once the API has
// seen `minSeq` events.
async function compareWithApi(page, port, label, minSeq = 0) {
  const { status, body } = await todayAt(port, minSeq);
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

// The engine of `mode`: start() it, commit(events) through it.
function engine() {
  let n = 0;
  if (mode === 'follow') {
    return {
      start: (port = 0) => startServe(bin, dir, db, port),
      commit(server, events) {
        const file = path.join(dir, `e${n++}.jsonl`);
        writeJsonl(file, events);
        ingest(bin, db, file);
      },
    };
  }
  return {
    start: () => startRun(bin, dir, db, ['--commit-ms', '200']),
    commit(server, events) {
      const file = path.join(dir, `e${n++}.jsonl`);
      writeJsonl(file, events);
      produce(bin, server.brokers, file);
    },
  };
}

// The agents with a chat today in seedEvents(now), at `now`'s clock.
function agentsChattingToday(now) {
  const start = dayStartMs(now);
  const today = seedEvents(now).filter((e) => e.type === 'chat' && e.ts >= start && e.ts <= now);
  return new Set(today.map((e) => e.agent)).size;
}

async function main() {
  const now = Date.now();
  // Whatever the hour the test runs at: just after midnight too, when most
  // of the seed falls on yesterday.
  for (const at of [now, dayStartMs(now) + 1000, dayStartMs(now) + 10 * 60 * 1000]) {
    check(agentsChattingToday(at) === AGENTS.length,
      `the seed gives every agent a chat today at ${new Date(at).toISOString()}`);
  }
  const seed = seedEvents(now);
  const eng = engine();
  let serve;
  if (mode === 'follow') {
    eng.commit(null, seed);  // the store must exist before a follower opens it
    serve = await eng.start();
  } else {
    serve = await eng.start();
    eng.commit(serve, seed);
  }
  const port = serve.port;
  const browser = await launchBrowser();
  try {
    check((await todayAt(port, seed.length)).body.seq === seed.length,
      `the engine committed the ${seed.length} seed events`);
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
    const first = await compareWithApi(page, port, 'initial', seed.length);
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
    eng.commit(serve, [{ type: 'chat', id: 'e2e-q1', ts: t0 - 5000,
      buyer: 'e2e-buyer', agent, dir: 'in', text: '你好，在吗' }]);
    const asked = await compareWithApi(page, port, 'after a question', first.seq + 1);
    const mid = asked.agents.find((a) => a.agent === agent);
    check(mid.consultations === before.consultations + 1, 'consultations went up by one');
    check(mid.waiting === before.waiting + 1, 'one more buyer waiting');
    const shownWait = await page.$eval(`[data-agent="${agent}"] [data-field="waiting"]`, (e) => e.textContent);
    check(shownWait === String(mid.waiting), `the card shows ${mid.waiting} waiting`);

    // The agent answers 30 s after the question: the wait ends, the
    // averages move.
    eng.commit(serve, [{ type: 'chat', id: 'e2e-a1', ts: t0 + 25000,
      buyer: 'e2e-buyer', agent, dir: 'out', text: '亲，您好，在的' }]);
    const answered = await compareWithApi(page, port, 'after the answer', asked.seq + 1);
    const after = answered.agents.find((a) => a.agent === agent);
    check(after.waiting === before.waiting, 'the buyer no longer waits');
    check(after.answered === before.answered + 1 && after.avg_response_s !== before.avg_response_s,
      'the average response time moved');

    if (mode === 'follow') {
      // The serving process restarts; the page must come back by itself.
      await stopServe(serve);
      serve = await eng.start(port);
      eng.commit(serve, [{ type: 'chat', id: 'e2e-q2', ts: Date.now(),
        buyer: 'e2e-buyer-2', agent: 'shop:dabao', dir: 'in', text: '还在吗' }]);
      await compareWithApi(page, port, 'after a server restart', answered.seq + 1);
    }
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
