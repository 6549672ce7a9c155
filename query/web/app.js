// chatkpi live dashboard (docs/dashboard.md). Plain JS, no build step, no
// library: the page is served from the binary and must work offline.
//
// Data: one Server-Sent Events stream (/api/live) pushes the day board (the
// same JSON as /api/today) after every commit; the month leaderboard is
// fetched now and then (/api/leaderboard). Waiting times tick locally.
//
// Token: the wall screen opens /dashboard/#token=...; the fragment never
// reaches the server, logs or a Referer. It is kept in sessionStorage and
// removed from the address bar, then sent as a bearer header with fetch,
// and as ?access_token= on /api/live only (EventSource cannot set headers).
'use strict';

(() => {
  const I18N = {
    zh: {
      title: '客服实时看板', connecting: '连接中', live: '实时', reconnecting: '重连中',
      offline: '已断开', conn_hint: '数据随每次提交推送',
      consultations: '咨询人数', reply_rate: '回复率', avg_response_s: '平均响应',
      avg_first_response_s: '首次响应', slow: '慢响应', waiting: '等待中',
      longest_wait: '最久等待', conversion_rate: '咨询转化率', agents: '客服今日',
      no_agents: '今天还没有咨询', chart: '今日每小时平均响应时间',
      legend_avg: '平均响应(秒)', legend_questions: '问题数', legend_slow: '慢响应线',
      leaderboard: '本月排行', rank: '名次', agent: '客服', total: '总分', grade: '等级',
      token_needed: '请输入看板令牌', open: '打开', updated: '更新于',
      hours_partial: '部分数据', questions: '问题数',
      token_wrong: '令牌无效，请重新输入', stale: '数据可能已过时',
      pending: '待录入', missing_note: '名客服的考核输入尚未录入：',
      missing_tail: '；录入后显示等级与总分',
      h: '小时', m: '分', s: '秒',
      median_response_s: '响应中位数', response_rate_180s: '3分钟响应率',
      last_week: '上周同日',
    },
    en: {
      title: 'Live service dashboard', connecting: 'connecting', live: 'live',
      reconnecting: 'reconnecting', offline: 'offline',
      conn_hint: 'pushed after every commit',
      consultations: 'Consultations', reply_rate: 'Reply rate', avg_response_s: 'Avg response',
      avg_first_response_s: 'First response', slow: 'Slow replies', waiting: 'Waiting',
      longest_wait: 'Longest wait', conversion_rate: 'Conversion', agents: 'Agents today',
      no_agents: 'No consultations yet today', chart: 'Average response time by hour',
      legend_avg: 'avg response (s)', legend_questions: 'questions', legend_slow: 'slow threshold',
      leaderboard: 'Month to date', rank: 'Rank', agent: 'Agent', total: 'Score', grade: 'Grade',
      token_needed: 'Dashboard token', open: 'Open', updated: 'updated',
      hours_partial: 'partial', questions: 'questions',
      token_wrong: 'That token was not accepted; enter it again',
      stale: 'figures may be out of date',
      pending: 'pending', missing_note: ' agents still lack assessment inputs: ',
      missing_tail: '; grades and scores show once they are entered',
      h: 'h ', m: 'm ', s: 's',
      median_response_s: 'Median response', response_rate_180s: '3-min response rate',
      last_week: 'same day last week',
    },
  };
  const TOKEN_KEY = 'chatkpi.dashboardToken';
  const $ = (id) => document.getElementById(id);
  const SVG_NS = 'http://www.w3.org/2000/svg';

  let lang = localStorage.getItem('chatkpi.lang') === 'en' ? 'en' : 'zh';
  let token = null;
  let board = null;       // the last day board
  let clockOffset = 0;    // server clock - this clock, ms
  let source = null;      // EventSource
  let lastEvent = 0;      // Date.now() of the last stream event
  let lastBoardFetch = 0;
  let reconnectTimer = null;
  const cards = new Map();  // agent -> card element
  // Render times, for tests and bench/dashboard_latency.mjs.
  window.chatkpiRenders = [];

  // ---- text ----------------------------------------------------------------

  function t(key) { return I18N[lang][key] || key; }
  function other(key) { return I18N[lang === 'zh' ? 'en' : 'zh'][key] || key; }

  // Chinese labels with English on hover, and the other way round.
  function applyLang(root) {
    for (const el of root.querySelectorAll('[data-i18n]')) {
      el.textContent = t(el.dataset.i18n);
      el.title = other(el.dataset.i18n);
    }
    for (const el of root.querySelectorAll('[data-i18n-title]')) {
      el.title = t(el.dataset.i18nTitle);
    }
  }

  function setLang(l) {
    lang = l;
    localStorage.setItem('chatkpi.lang', l);
    document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title') + ' · chatkpi';
    $('lang').textContent = l === 'zh' ? 'EN' : '中文';
    applyLang(document);
    setConn(connState);
    if (board) render(board);
  }

  const fmt = {
    count: (v) => (v === null || v === undefined ? '—' : String(v)),
    rate: (v) => (v === null || v === undefined ? '—' : (v * 100).toFixed(1) + '%'),
    // Seconds under 100 s, else minutes and seconds (10分16秒, 10m 16s):
    // never h:mm, which reads as a time of day next to the clock.
    secs: (v) => {
      if (v === null || v === undefined) return '—';
      return v < 100 ? v.toFixed(1) + t('s') : fmt.dur(v * 1000);
    },
    dur: (ms) => {
      if (ms === null || ms === undefined) return '—';
      const s = Math.max(0, Math.floor(ms / 1000));
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const ss = s % 60;
      if (h > 0) return `${h}${t('h')}${String(m).padStart(2, '0')}${t('m')}${String(ss).padStart(2, '0')}${t('s')}`;
      if (m > 0) return `${m}${t('m')}${String(ss).padStart(2, '0')}${t('s')}`;
      return `${ss}${t('s')}`;
    },
  };

  // Sets a figure's text, and its raw value for tests and screen readers.
  function setValue(el, raw, text) {
    const v = JSON.stringify(raw === undefined ? null : raw);
    if (el.dataset.value !== v) el.dataset.value = v;
    if (el.textContent !== text) el.textContent = text;
  }

  // ---- waiting buyers (ticks between pushes) ---------------------------------

  function serverNow() { return Date.now() + clockOffset; }

  // [count, oldest open time] of the questions still within the response
  // window now; null when the server does not know.
  function waiting(since) {
    if (!board || !board.waiting_known || since === null) return null;
    const now = serverNow();
    const windowMs = board.response_window_s * 1000;
    const open = since.filter((t0) => now - t0 <= windowMs);
    return [open.length, open.length ? Math.min(...open) : null];
  }

  function renderWaiting(root, since) {
    const w = waiting(since);
    const countEl = root.querySelector('[data-field="waiting"]');
    const longEl = root.querySelector('[data-field="longest_wait"]');
    if (w === null) {
      setValue(countEl, null, '—');
      setValue(longEl, null, '—');
      return 0;
    }
    const longest = w[1] === null ? null : serverNow() - w[1];
    setValue(countEl, w[0], String(w[0]));
    setValue(longEl, longest === null ? null : Math.floor(longest / 1000),
      longest === null ? '—' : fmt.dur(longest));
    const slowMs = board.slow_s * 1000;
    for (const el of [countEl, longEl]) {
      el.classList.toggle('hot', longest !== null);
      el.classList.toggle('over', longest !== null && longest > slowMs);
    }
    return longest === null ? 0 : longest > slowMs ? 2 : 1;
  }

  // ---- rendering -------------------------------------------------------------

  const CARD_FIELDS = [
    ['consultations', fmt.count], ['reply_rate', fmt.rate],
    ['avg_response_s', fmt.secs], ['median_response_s', fmt.secs],
    ['response_rate_180s', fmt.rate], ['avg_first_response_s', fmt.secs],
    ['slow', fmt.count], ['conversion_rate', fmt.rate],
  ];

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children || []) e.append(c);
    return e;
  }

  function newCard(agent) {
    const colon = agent.lastIndexOf(':');
    const card = el('article', { class: 'card', 'data-agent': agent }, [
      el('div', { class: 'name' }, [
        el('span', { class: 'who', title: agent }, [agent.slice(colon + 1)]),
        el('span', { class: 'shop' }, [colon > 0 ? agent.slice(0, colon) : '']),
      ]),
    ]);
    const dl = el('dl');
    for (const [field] of CARD_FIELDS) {
      dl.append(el('div', {}, [
        el('dt', { 'data-i18n': field }),
        el('dd', { 'data-field': field }, ['—']),
      ]));
    }
    dl.append(el('div', { class: 'wait' }, [
      el('dt', { 'data-i18n': 'waiting' }),
      el('dd', { 'data-field': 'waiting' }, ['—']),
      el('dt', { 'data-i18n': 'longest_wait' }),
      el('dd', { 'data-field': 'longest_wait' }, ['—']),
    ]));
    card.append(dl);
    const spark = document.createElementNS(SVG_NS, 'svg');
    spark.setAttribute('class', 'spark');
    spark.setAttribute('viewBox', '0 0 240 34');
    spark.setAttribute('preserveAspectRatio', 'none');
    card.append(spark);
    applyLang(card);
    return card;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderSpark(spark, series, slowS) {
    const vals = series.filter((v) => v !== null);
    const max = Math.max(slowS * 1.5, ...vals, 1);
    const n = series.length;
    const pts = [];
    series.forEach((v, i) => {
      if (v === null) return;
      pts.push(`${((i + 0.5) * 240 / n).toFixed(1)},${(32 - (v / max) * 30).toFixed(1)}`);
    });
    spark.replaceChildren(
      svg('line', { x1: 0, x2: 240, y1: 32 - (slowS / max) * 30, y2: 32 - (slowS / max) * 30 }),
      svg('polyline', { points: pts.join(' ') }));
  }

  function renderCard(card, a) {
    for (const [field, f] of CARD_FIELDS) {
      setValue(card.querySelector(`[data-field="${field}"]`), a[field], f(a[field]));
    }
    const level = renderWaiting(card, a.waiting_since_ms);
    card.classList.toggle('waiting', level === 1);
    card.classList.toggle('overdue', level === 2);
    renderSpark(card.querySelector('.spark'), a.hours_avg_response_s, board.slow_s);
  }

  // Team figures, each with the same weekday a week before under it.
  function renderTeam(team) {
    const root = $('team');
    for (const [field, f] of CARD_FIELDS) {
      const e = root.querySelector(`[data-field="${field}"]`);
      if (!e) continue;
      setValue(e, team[field], f(team[field]));
      let prev = e.parentElement.querySelector('.prev');
      if (!team.last_week) {
        if (prev) prev.remove();
        continue;
      }
      if (!prev) {
        prev = el('span', { class: 'prev' });
        e.parentElement.append(prev);
      }
      const text = `${t('last_week')} ${f(team.last_week[field])}`;
      if (prev.textContent !== text) prev.textContent = text;
    }
    renderWaiting(root, team.waiting_since_ms);
  }

  function hourLabel(ms) {
    return new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit', hour12: false, timeZone: board.timezone,
    }).format(new Date(ms));
  }

  function renderChart() {
    const chart = $('chart');
    const W = 640, H = 260, L = 44, R = 40, T = 12, B = 28;
    const hours = board.team.hours;
    const n = hours.length;
    const avgs = hours.map((h) => h.avg_response_s);
    const maxAvg = Math.max(board.slow_s * 1.25, ...avgs.filter((v) => v !== null), 1);
    const maxQ = Math.max(1, ...hours.map((h) => h.questions));
    const x = (i) => L + (i * (W - L - R)) / n;
    const bw = (W - L - R) / n;
    const y = (v) => H - B - (v / maxAvg) * (H - T - B);
    const now = serverNow();
    const nodes = [];
    // Grid and left axis: seconds.
    const step = maxAvg > 120 ? 60 : maxAvg > 60 ? 20 : 10;
    for (let s = 0; s <= maxAvg; s += step) {
      nodes.push(svg('line', { class: 'grid-line', x1: L, x2: W - R, y1: y(s), y2: y(s) }));
      nodes.push(svg('text', { x: L - 6, y: y(s) + 4, 'text-anchor': 'end' }, `${s}s`));
    }
    hours.forEach((h, i) => {
      const bh = (h.questions / maxQ) * (H - T - B) * 0.6;
      const current = now >= board.hour_starts_ms[i] && now < board.hour_starts_ms[i + 1];
      const bar = svg('rect', {
        class: current ? 'bar now' : 'bar', x: x(i) + 1.5, y: H - B - bh,
        width: Math.max(1, bw - 3), height: bh, 'data-hour': i,
        'data-questions': h.questions,
      });
      bar.append(svg('title', {}, `${hourLabel(board.hour_starts_ms[i])}:00  ` +
        `${t('questions')} ${h.questions}  ${t('avg_response_s')} ${fmt.secs(h.avg_response_s)}`));
      nodes.push(bar);
      if (i % 3 === 0) {
        nodes.push(svg('text', { x: x(i) + bw / 2, y: H - 8, 'text-anchor': 'middle' },
          hourLabel(board.hour_starts_ms[i])));
      }
    });
    nodes.push(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    nodes.push(svg('line', { class: 'slow', x1: L, x2: W - R, y1: y(board.slow_s), y2: y(board.slow_s) }));
    // The average line, broken where an hour has no answered question.
    let seg = [];
    const flush = () => {
      if (seg.length > 1) nodes.push(svg('polyline', { class: 'avg', points: seg.join(' ') }));
      seg = [];
    };
    avgs.forEach((v, i) => {
      if (v === null) { flush(); return; }
      const px = x(i) + bw / 2, py = y(v);
      seg.push(`${px.toFixed(1)},${py.toFixed(1)}`);
      nodes.push(svg('circle', { class: 'pt', cx: px, cy: py, r: 3.5, 'data-hour': i, 'data-avg': v }));
    });
    flush();
    chart.replaceChildren(...nodes);
  }

  function render(b) {
    board = b;
    if (b.timezone) localStorage.setItem(ZONE_KEY, b.timezone);
    clockOffset = b.now_ms - Date.now();
    $('day').textContent = b.day;
    renderTeam(b.team);
    const present = new Set();
    const container = $('cards');
    for (const a of b.agents) {
      present.add(a.agent);
      let card = cards.get(a.agent);
      if (!card) {
        card = newCard(a.agent);
        cards.set(a.agent, card);
        // Agents stay in id order: a wall screen must not reshuffle.
        const after = [...cards.keys()].filter((k) => k > a.agent).sort()[0];
        container.insertBefore(card, after ? cards.get(after) : null);
      }
      renderCard(card, a);
    }
    for (const [agent, card] of cards) {
      if (!present.has(agent)) { card.remove(); cards.delete(agent); }
    }
    $('no-agents').hidden = b.agents.length > 0;
    showPages();
    renderChart();
    document.body.dataset.seq = String(b.seq);
    document.body.dataset.day = b.day;
    $('updated').textContent = `${t('updated')} ${timeOfDay(new Date(serverNow()))}`;
    const log = window.chatkpiRenders;
    log.push({ seq: b.seq, t: performance.timeOrigin + performance.now() });
    if (log.length > 5000) log.splice(0, log.length - 5000);
  }

  // HH:MM:SS in the store's time zone (the shop's), whatever the screen's:
  // from the first second, the zone of the last board this screen saw, or
  // the rules' default zone (docs/spec.md §2) before any.
  const ZONE_KEY = 'chatkpi.timezone';
  function zone() {
    return (board && board.timezone) || localStorage.getItem(ZONE_KEY) || 'Asia/Shanghai';
  }
  function timeOfDay(d) {
    return new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
      timeZone: zone(),
    }).format(d);
  }

  function tick() {
    $('clock').textContent = timeOfDay(new Date(serverNow()));
    if (!board) return;
    renderWaiting($('team'), board.team.waiting_since_ms);
    for (const a of board.agents) {
      const card = cards.get(a.agent);
      if (!card) continue;
      const level = renderWaiting(card, a.waiting_since_ms);
      card.classList.toggle('waiting', level === 1);
      card.classList.toggle('overdue', level === 2);
    }
    // A stream that went quiet (no board, no ping) is dead even if the
    // browser has not noticed: start a new one.
    if (source && lastEvent && Date.now() - lastEvent > 45000) connect();
  }

  // ---- leaderboard -------------------------------------------------------------

  function authHeaders() {
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  async function fetchBoard() {
    lastBoardFetch = Date.now();
    const sel = $('scheme');
    const scheme = sel.value || localStorage.getItem('chatkpi.scheme') || '';
    const url = '/api/leaderboard' + (scheme ? `?scheme=${encodeURIComponent(scheme)}` : '');
    let res;
    try {
      res = await fetch(url, { headers: authHeaders(), cache: 'no-store' });
    } catch (e) {
      return;
    }
    if (res.status === 401 || res.status === 403) { askToken(); return; }
    if (!res.ok) return;
    const lb = await res.json();
    if (sel.options.length !== lb.schemes.length) {
      sel.replaceChildren(...lb.schemes.map((s) => el('option', { value: s }, [s])));
    }
    sel.value = lb.scheme;
    $('lb-month').textContent = lb.month;
    // Mid-month the targets and supervisor marks are not in yet: a grade or
    // total made without them would read as a verdict on a public screen.
    const missing = new Set();
    let pendingAgents = 0;
    for (const a of lb.agents) {
      const m = a.missing_inputs || [];
      if (m.length) { pendingAgents++; m.forEach((x) => missing.add(x)); }
    }
    const note = $('lb-missing');
    note.hidden = pendingAgents === 0;
    note.textContent = pendingAgents
      ? `${pendingAgents}${t('missing_note')}${[...missing].join(', ')}${t('missing_tail')}` : '';
    lbRows = lb.agents.map((a) => {
      const pending = (a.missing_inputs || []).length > 0;
      const tr = el('tr', {
        class: (a.rank === 1 && !pending ? 'top1' : '') + (pending ? ' pending' : ''),
        'data-agent': a.agent,
      }, [
        el('td', {}, [a.assessed && !pending ? String(a.rank) : '—']),
        el('td', { title: a.agent }, [a.agent]),
        el('td', { class: 'total', 'data-field': 'total', 'data-value': JSON.stringify(pending ? null : a.total) },
          [a.assessed && !pending ? a.total.toFixed(1) : '—']),
        el('td', { 'data-field': 'grade' }, [pending ? t('pending') : (a.grade || '—')]),
      ]);
      tr.title = pending ? `${t('pending')}: ${a.missing_inputs.join(', ')}`
        : lb.items.map((it, i) => `${it.title}: ${a.points[i] ?? '—'}`).join('\n');
      return tr;
    });
    showPages();
  }

  // ---- pages: every agent readable on one screen nobody scrolls ------------
  //
  // Cards and leaderboard rows that do not fit the screen are shown a page
  // at a time, turning every PAGE_MS (docs/dashboard.md); the page number
  // says there are more. Nothing is cut silently.
  const PAGE_MS = 10000;
  let lbRows = [];
  let page = 0;

  // Items of `itemHeight` px that fit between the container's top and the
  // bottom of the screen, less the panel's and the page's padding below.
  function perPage(container, itemHeight, columns) {
    const top = container.getBoundingClientRect().top + window.scrollY;
    const room = window.innerHeight - top - 64;
    return Math.max(1, Math.floor(room / itemHeight)) * columns;
  }

  function showPages() {
    const container = $('cards');
    const all = [...cards.values()];
    const probe = all.find((c) => !c.hidden) || all[0];
    let cardPages = 1;
    if (probe && window.innerWidth > 1300) {
      const cols = getComputedStyle(container).gridTemplateColumns.split(' ').length || 1;
      const n = perPage(container, probe.getBoundingClientRect().height + 10, cols);
      cardPages = Math.max(1, Math.ceil(all.length / n));
      const p = page % cardPages;
      all.forEach((c, i) => { c.hidden = Math.floor(i / n) !== p; });
    } else {
      all.forEach((c) => { c.hidden = false; });
    }
    const body = $('board');
    const rowH = body.rows.length ? body.rows[0].getBoundingClientRect().height : 36;
    const rowsPer = window.innerWidth > 1300 ? perPage(body, Math.max(rowH, 30), 1) : lbRows.length;
    const lbPages = Math.max(1, Math.ceil(lbRows.length / Math.max(1, rowsPer)));
    const lp = page % lbPages;
    body.replaceChildren(...lbRows.slice(lp * rowsPer, (lp + 1) * rowsPer));
    const pageText = (p, n) => (n > 1 ? (lang === 'zh' ? `第${p}/${n}页` : `page ${p}/${n}`) : '');
    $('cards-page').textContent = pageText(page % cardPages + 1, cardPages);
    $('lb-page').textContent = pageText(lp + 1, lbPages);
    document.body.dataset.cardPages = String(cardPages);
    document.body.dataset.lbPages = String(lbPages);
  }

  // ---- connection --------------------------------------------------------------

  let connState = 'connecting';
  function setConn(state) {
    connState = state;
    // Figures shown while the stream is down may be stale: dimmed, and
    // the status says so.
    document.body.classList.toggle('stale', state !== 'live' && board !== null);
    $('stale').hidden = !(state !== 'live' && board !== null);
    const c = $('conn');
    c.className = 'conn ' + (state === 'live' ? 'conn-live' : state === 'offline' ? 'conn-down' : 'conn-wait');
    $('conn-text').textContent = t(state);
    $('conn-text').title = other(state);
  }

  function askToken() {
    if (source) { source.close(); source = null; }
    setConn('offline');
    // A token was given and refused: say so, rather than ask as if for
    // the first time.
    $('auth-error').hidden = !token;
    $('auth').hidden = false;
    $('auth-token').focus();
  }

  function connect() {
    if (source) source.close();
    clearTimeout(reconnectTimer);
    const url = '/api/live' + (token ? `?access_token=${encodeURIComponent(token)}` : '');
    source = new EventSource(url);
    lastEvent = Date.now();
    source.addEventListener('today', (e) => {
      lastEvent = Date.now();
      setConn('live');
      render(JSON.parse(e.data));
      if (Date.now() - lastBoardFetch > 30000) fetchBoard();
    });
    source.addEventListener('ping', () => { lastEvent = Date.now(); });
    source.addEventListener('error', (e) => {
      // An `error` event of ours carries data: the store could not be read.
      if (e.data) { lastEvent = Date.now(); return; }
      if (source.readyState === EventSource.CONNECTING) {
        setConn('reconnecting');  // the browser retries by itself
        return;
      }
      // Closed for good: an HTTP error (401, 503). Find out which.
      setConn('offline');
      source = null;
      probe();
    });
  }

  async function probe() {
    try {
      const res = await fetch('/api/today', { headers: authHeaders(), cache: 'no-store' });
      if (res.status === 401 || res.status === 403) { askToken(); return; }
    } catch (e) { /* server down: retry below */ }
    reconnectTimer = setTimeout(connect, 2000);
  }

  function init() {
    const m = /(?:^|[#&])token=([^&]*)/.exec(location.hash);
    if (m) {
      token = decodeURIComponent(m[1]);
      sessionStorage.setItem(TOKEN_KEY, token);
      history.replaceState(null, '', location.pathname + location.search);
    } else {
      token = sessionStorage.getItem(TOKEN_KEY);
    }
    $('lang').addEventListener('click', () => setLang(lang === 'zh' ? 'en' : 'zh'));
    $('scheme').addEventListener('change', () => {
      localStorage.setItem('chatkpi.scheme', $('scheme').value);
      fetchBoard();
    });
    $('auth-form').addEventListener('submit', (e) => {
      e.preventDefault();
      token = $('auth-token').value.trim();
      sessionStorage.setItem(TOKEN_KEY, token);
      $('auth').hidden = true;
      connect();
      fetchBoard();
    });
    setLang(lang);
    connect();
    fetchBoard();
    tick();  // the clock from the first second, not after one
    setInterval(tick, 1000);
    setInterval(fetchBoard, 60000);
    setInterval(() => { page++; showPages(); }, PAGE_MS);
    window.addEventListener('resize', showPages);
  }

  init();
})();
