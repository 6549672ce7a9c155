// Helpers of the dashboard's browser tests and of bench/dashboard_latency.mjs:
// a store fed by `chatkpi ingest`, a `chatkpi serve --follow` beside it (the
// engine committing and the process serving are two processes, as in
// production with a separate writer), and Debian's chromium driven by
// playwright-core. Everything stays on 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHATKPI_CHROMIUM || '/usr/bin/chromium';
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
export const DASH_TOKEN = 'e2e-dashboard-token-0123456789ab';
const TZ_OFFSET_MS = 8 * 3600 * 1000;  // Asia/Shanghai, the default rules

export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    out[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
  }
  return out;
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Start of the local (Asia/Shanghai) day holding `ms`.
export function dayStartMs(ms) {
  return Math.floor((ms + TZ_OFFSET_MS) / 86400000) * 86400000 - TZ_OFFSET_MS;
}

// Deterministic pseudo-random numbers (mulberry32).
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const AGENTS = ['shop:xiaowang', 'shop:xiaoli', 'shop:azhen', 'shop:dabao',
  'shop:meimei', 'shop:laochen'];

// A plausible day so far for AGENTS: conversations from the start of today
// to `now`, some slow replies, orders, a few buyers waiting right now, and
// the month's assessment inputs so that the leaderboard has scores.
export function seedEvents(now, seed = 7) {
  const r = rng(seed);
  const start = dayStartMs(now);
  // Early in the day there is little "today": spread over at least 2 hours
  // (the ones before midnight then count for yesterday, as they should).
  const from = Math.min(start + 8 * 3600 * 1000, now - 2 * 3600 * 1000);
  const to = now - 10 * 60 * 1000;
  const ev = [];
  let n = 0;
  const id = (p) => `${p}-${seed}-${n++}`;
  const month = new Date(now + TZ_OFFSET_MS).toISOString().slice(0, 7);
  AGENTS.forEach((agent, ai) => {
    const buyers = 14 + Math.floor(r() * 12);
    const speed = 12 + ai * 7;  // some agents are slower than others
    for (let b = 0; b < buyers; b++) {
      const buyer = `buyer-${ai}-${b}`;
      let t = from + Math.floor(r() * (to - from));
      const turns = 1 + Math.floor(r() * 3);
      for (let k = 0; k < turns && t < to; k++) {
        ev.push({ type: 'chat', id: id('c'), ts: t, buyer, agent, dir: 'in', text: '在吗，这个有货吗' });
        if (r() < 0.02) break;  // never answered
        const resp = Math.floor((speed * (0.3 + r() * 1.6) + (r() < 0.1 ? 60 : 0)) * 1000);
        ev.push({ type: 'chat', id: id('c'), ts: t + resp, buyer, agent, dir: 'out',
          text: r() < 0.8 ? '亲，您好，有货的' : '有的' });
        t += resp + Math.floor(60000 + r() * 600000);
      }
      if (r() < 0.35) {
        const order = id('o');
        const created = Math.min(t + 120000, now - 60000);
        const amount = (50 + Math.floor(r() * 400)) + 0.9;
        ev.push({ type: 'order', id: id('e'), ts: created, order, buyer, status: 'created', amount, items: 1 });
        if (r() < 0.8) {
          ev.push({ type: 'order', id: id('e'), ts: created + 30000, order, buyer, status: 'paid', amount, items: 1 });
        }
      }
    }
    // One conversation today however early it is (the 2 hours above fall
    // before midnight until 02:00), so that every agent has a card.
    const today = `today-${ai}`;
    ev.push({ type: 'chat', id: id('c'), ts: start + Math.floor((now - start) / 4), buyer: today,
      agent, dir: 'in', text: '在吗' });
    ev.push({ type: 'chat', id: id('c'), ts: start + Math.floor((now - start) / 2), buyer: today,
      agent, dir: 'out', text: '亲，您好，在的' });
    // Buyers waiting for an answer right now.
    const waiting = ai % 3 === 0 ? 2 : ai % 3 === 1 ? 1 : 0;
    for (let w = 0; w < waiting; w++) {
      ev.push({ type: 'chat', id: id('c'), ts: now - Math.floor(8000 + r() * 90000),
        buyer: `waiting-${ai}-${w}`, agent, dir: 'in', text: '请问什么时候发货' });
    }
    for (const [metric, value] of [['sales_target', 3000], ['execution', 6 + (ai % 5)], ['followup', 3 + (ai % 3)]]) {
      ev.push({ type: 'assessment', id: id('a'), ts: start, agent, period: month, metric, value });
    }
  });
  return ev;
}

export function writeJsonl(file, events) {
  fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
}

// Runs `chatkpi ingest`: returns once its commit is durable.
export function ingest(bin, db, file) {
  const p = spawnSync(bin, ['ingest', '--db', db, file], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`chatkpi ingest failed: ${p.stderr}`);
}

// Starts `chatkpi serve --follow` and resolves with {proc, port} once it
// listens. A given port is retried for a few seconds: right after a restart
// it may still be held.
export async function startServe(bin, dir, db, port = 0, extra = []) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startServeOnce(bin, dir, db, port, extra);
    } catch (e) {
      if (port === 0 || attempt >= 20 || !/cannot listen/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function writeTokens(dir) {
  fs.writeFileSync(path.join(dir, 'admin.token'), ADMIN_TOKEN + '\n', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'dash.token'), DASH_TOKEN + '\n', { mode: 0o600 });
}

function startServeOnce(bin, dir, db, port, extra) {
  writeTokens(dir);
  const proc = spawn(bin, ['serve', '--db', db, '--port', String(port), '--follow',
    '--token-file', path.join(dir, 'admin.token'),
    '--dashboard-token-file', path.join(dir, 'dash.token'), '--threads', '8', ...extra],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 15000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve({ proc, port: Number(m[1]) }); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${err}`)); });
  });
}

// Starts `chatkpi run --brokers mock --port 0` (the engine with its
// embedded Kafka broker, serving the API and the dashboard) and resolves
// with {proc, port, brokers} once it listens.
export function startRun(bin, dir, db, extra = []) {
  writeTokens(dir);
  const proc = spawn(bin, ['run', '--brokers', 'mock', '--db', db, '--port', '0',
    '--token-file', path.join(dir, 'admin.token'),
    '--dashboard-token-file', path.join(dir, 'dash.token'), ...extra],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`run did not start: ${err}`)), 15000);
    proc.stderr.on('data', (d) => {
      err += d;
      const port = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      const brokers = /mock Kafka cluster at (\S+)/.exec(err);
      if (port && brokers) {
        clearTimeout(timer);
        resolve({ proc, port: Number(port[1]), brokers: brokers[1] });
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`run exited ${code}: ${err}`)); });
  });
}

// Publishes a JSONL file to the chat and order topics, keyed by buyer.
export function produce(bin, brokers, file) {
  const p = spawnSync(bin, ['produce', '--brokers', brokers, file], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`chatkpi produce failed: ${p.stderr}`);
}

export function stopServe(s) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null) { resolve(s.proc.exitCode); return; }
    s.proc.removeAllListeners('exit');
    s.proc.on('exit', (code) => resolve(code));
    s.proc.kill('SIGTERM');
  });
}

export async function api(port, pathname, token = DASH_TOKEN) {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`,
    { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = text; }
  return { status: res.status, body };
}

// Chromium as the machine's docs say: headless, no sandbox (root), no
// background traffic to hosts this machine cannot reach, a fresh profile.
// `extra`: more context options (e.g. timezoneId).
export async function launchBrowser(viewport = { width: 1920, height: 1080 }, extra = {}) {
  const profile = tempDir('chatkpi-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    ...extra,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
