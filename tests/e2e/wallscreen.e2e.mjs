// The wall screen as the people in front of it see it (docs/dashboard.md
// "Wall screen"), run by ctest through tests/dashboard_e2e_test.cc:
//
//   node tests/e2e/wallscreen.e2e.mjs --chatkpi build/chatkpi \
//        [--shots DIR]     (screenshots; docs/ refreshes the committed ones)
//
// A store with 40 agents and no assessment inputs yet (mid-month), served
// by `chatkpi serve --follow`, opened in chromium whose own zone is
// America/New_York:
//   - the clock shows Asia/Shanghai time before any board arrives;
//   - a wrong token is said to be wrong;
//   - 40 agents fit 1920x1080 without scrolling, paged; the leaderboard
//     says which inputs are missing instead of showing grades;
//   - durations read 分/秒 or seconds, never like a clock;
//   - 390x844: nothing wider than the screen, the language button visible;
//   - the favicon is served;
//   - when the server stops, the figures are marked stale.
// Prints "N passed, 0 failed" and exits 0, or names the failed check.
import fs from 'node:fs';
import path from 'node:path';

import {
  DASH_TOKEN, api, dayStartMs, ingest, launchBrowser, parseArgs, startServe, stopServe, tempDir,
  writeJsonl,
} from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = args.chatkpi;
if (!bin) throw new Error('--chatkpi BINARY is required');
const dir = tempDir('chatkpi-wall-');
const shots = args.shots || dir;
const db = path.join(dir, 'db');
let passed = 0;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  passed++;
  console.log(`ok ${passed} - [wall] ${what}`);
}

// 40 agents, each with a few answered questions today and one buyer
// waiting 10 min 16 s; no assessment inputs.
function events(now) {
  const ev = [];
  const from = Math.max(dayStartMs(now), now - 3 * 3600 * 1000);
  for (let a = 0; a < 40; a++) {
    const agent = `shop:agent${String(a).padStart(2, '0')}`;
    for (let q = 0; q < 3; q++) {
      const t = from + (a * 3 + q) * 60000;
      ev.push({ type: 'chat', id: `q${a}-${q}`, ts: t, buyer: `b${a}-${q}`, agent, dir: 'in', text: '在吗' });
      ev.push({ type: 'chat', id: `r${a}-${q}`, ts: t + 20000 + a * 1000, buyer: `b${a}-${q}`, agent,
        dir: 'out', text: '亲，在的' });
    }
    ev.push({ type: 'chat', id: `w${a}`, ts: now - 616000, buyer: `w${a}`, agent, dir: 'in', text: '发货了吗' });
  }
  return ev;
}

function shanghaiClock(ms) {
  return new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: 'Asia/Shanghai',
  }).format(new Date(ms));
}

async function main() {
  const now = Date.now();
  const file = path.join(dir, 'e.jsonl');
  writeJsonl(file, events(now));
  ingest(bin, db, file);
  let serve = await startServe(bin, dir, db, 0);
  const port = serve.port;
  const browser = await launchBrowser({ width: 1920, height: 1080 },
    { timezoneId: 'America/New_York' });
  try {
    const fav = await fetch(`http://127.0.0.1:${port}/dashboard/favicon.svg`);
    check(fav.status === 200 && fav.headers.get('content-type').startsWith('image/svg+xml'),
      'the favicon is served');

    // A wrong token: the prompt says it was wrong; the clock is Shanghai's
    // though no board has come.
    const wrong = await browser.context.newPage();
    await wrong.goto(`http://127.0.0.1:${port}/dashboard/#token=not-the-token-0123456789`);
    await wrong.waitForSelector('#auth:not([hidden])', { timeout: 10000 });
    check(await wrong.isVisible('#auth-error'), 'a wrong token is said to be wrong');
    check((await wrong.textContent('#auth-error')).includes('令牌无效'), 'in Chinese by default');
    const icon = await wrong.$eval('link[rel="icon"]', (l) => l.href);
    check(icon.endsWith('/dashboard/favicon.svg'), 'the page names its favicon');
    const before = Date.now();
    const clock = await wrong.textContent('#clock');
    const ok = [before - 2000, before, before + 2000].map(shanghaiClock);
    check(clock >= ok[0] && clock <= ok[2],
      `the clock shows Asia/Shanghai time before any board (${clock}, about ${ok[1]})`);
    await wrong.close();

    // 40 agents at 1920x1080.
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${port}/dashboard/#token=${DASH_TOKEN}`);
    await page.waitForFunction(() => Number(document.body.dataset.seq || -1) > 0, null, { timeout: 15000 });
    await page.waitForSelector('#board tr', { timeout: 15000 });
    const layout = await page.evaluate(() => ({
      scrollH: document.documentElement.scrollHeight, innerH: window.innerHeight,
      scrollW: document.documentElement.scrollWidth, innerW: window.innerWidth,
      cardPages: Number(document.body.dataset.cardPages),
      lbPages: Number(document.body.dataset.lbPages),
      visibleCards: [...document.querySelectorAll('#cards .card')].filter((c) => !c.hidden).length,
      cardsPage: document.getElementById('cards-page').textContent,
    }));
    check(layout.scrollH <= layout.innerH && layout.scrollW <= layout.innerW,
      `1920x1080 with 40 agents needs no scrolling (${layout.scrollW}x${layout.scrollH})`);
    check(layout.cardPages >= 2 && layout.visibleCards < 40 && /1\/\d/.test(layout.cardsPage),
      `cards are paged: ${layout.visibleCards} of 40 shown, ${layout.cardsPage}`);
    const lb = await api(port, '/api/leaderboard');
    check(lb.status === 200 && lb.body.agents.every((a) => a.missing_inputs.length > 0),
      'mid-month: the leaderboard API names the missing inputs');
    const grades = await page.$$eval('#board [data-field="grade"]', (tds) => tds.map((t) => t.textContent));
    check(grades.length > 0 && grades.every((g) => g === '待录入'),
      `no failing grades while inputs are missing (${[...new Set(grades)].join(',')})`);
    const note = await page.textContent('#lb-missing');
    check(await page.isVisible('#lb-missing') && note.includes('40') &&
      lb.body.agents[0].missing_inputs.every((m) => note.includes(m)),
      `the leaderboard says what is missing: ${note}`);
    const waits = await page.$$eval('[data-field="longest_wait"], [data-field="avg_response_s"]',
      (els) => els.map((e) => e.textContent));
    check(waits.every((w) => !/\d:\d\d/.test(w)), 'no duration reads like a clock');
    // The wait grows while the page is driven (seconds on a loaded machine):
    // 616 s at the seed, at most the seconds since then more.
    const grown = Math.ceil((Date.now() - now) / 1000) + 1;
    const asWait = (w) => {
      const m = /^(\d+)分(\d+)秒$/.exec(w);
      return m ? Number(m[1]) * 60 + Number(m[2]) : null;
    };
    check(waits.some((w) => asWait(w) !== null && asWait(w) >= 616 && asWait(w) <= 616 + grown),
      `a 10 min 16 s wait reads 10分16秒 or up to ${grown} s more (${waits.filter((w) => asWait(w) !== null).slice(0, 3).join(', ')})`);
    await page.screenshot({ path: path.join(shots, 'dashboard-1920x1080.png') });

    // A phone.
    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`http://127.0.0.1:${port}/dashboard/#token=${DASH_TOKEN}`);
    await phone.waitForFunction(() => Number(document.body.dataset.seq || -1) > 0, null, { timeout: 15000 });
    const narrow = await phone.evaluate(() => ({
      scrollW: document.documentElement.scrollWidth,
      lang: document.getElementById('lang').getBoundingClientRect().right,
    }));
    check(narrow.scrollW <= 390, `390 px: the page is ${narrow.scrollW} px wide`);
    check(narrow.lang <= 390, '390 px: the language button is on the screen');
    await phone.screenshot({ path: path.join(shots, 'dashboard-390x844.png') });
    await phone.close();

    // The server goes away: the figures are marked stale.
    await stopServe(serve);
    serve = null;
    await page.waitForSelector('body.stale', { timeout: 15000 });
    check(await page.isVisible('#stale'), 'stale figures are marked while reconnecting');
    check(errors.length === 0, `no script errors on the page ${errors.join('; ')}`);
  } finally {
    await browser.close();
    if (serve) await stopServe(serve);
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
