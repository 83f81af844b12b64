// certfleet expiry dashboard.
//
// Plain JavaScript, no framework and no build step: the controller embeds
// this file and serves it as /static/dashboard.js. Every number comes from
// the controller's JSON API under /api/v1 (docs/http-api.md), polled every
// 5 seconds while the tab is visible. Nothing is fetched from anywhere but
// the page's own origin, and every value from the API is put into the page
// as text (never as HTML).
//
// Authentication: when the API answers 401 the page asks for the bearer
// token, keeps it in sessionStorage (this tab only) and sends it as
// "Authorization: Bearer ...". "#token=..." in the address is accepted once
// and then removed from the address bar.
'use strict';

(() => {
  const POLL_INTERVAL_MS = 5000;
  const REQUEST_TIMEOUT_MS = 10000;
  const FILTER_DEBOUNCE_MS = 300;
  // Rows per inventory page: 50, or ?page_size=N (1 to 500) in the address,
  // e.g. for a wall screen that should show only the first rows.
  const requestedPageSize = Number(new URLSearchParams(location.search).get('page_size'));
  const INVENTORY_PAGE_SIZE = Number.isInteger(requestedPageSize) && requestedPageSize >= 1 &&
    requestedPageSize <= 500 ? requestedPageSize : 50;
  const OFFLINE_HOSTS_SHOWN = 12;
  // Campaigns read per poll (newest first); the panel shows the open ones
  // and those finished in the last RECENT_CAMPAIGN_DAYS.
  const CAMPAIGNS_READ = 20;
  const RECENT_CAMPAIGN_DAYS = 7;
  const TIMELINE_DAYS = 90;
  const DAY_MS = 24 * 60 * 60 * 1000;
  const TOKEN_KEY = 'certfleet.api_token';
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const BUCKETS = ['expired', 'under_7_days', 'under_30_days', 'under_90_days', 'later'];
  const SERVED = ['matches', 'mismatch', 'incomplete_chain', 'unreachable', 'not_probed'];
  const SERVED_LABELS = {
    matches: 'matches',
    mismatch: 'mismatch',
    incomplete_chain: 'incomplete chain',
    unreachable: 'unreachable',
    not_probed: 'not probed',
  };
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const byId = (id) => document.getElementById(id);

  const state = {
    timer: null,
    lastTimeline: null,
    inFlight: false,
    again: false,
    awaitingToken: false,
    lastSuccess: null,
    filterTimer: null,
    inventory: {
      text: '',
      expiringWithin: '',
      sort: 'not_after',
      order: 'asc',
      // pageTokens[i] is the page_token of page i; '' is the first page.
      pageTokens: [''],
      nextPageToken: '',
    },
  };

  // ---------------------------------------------------------------- API

  class AuthError extends Error {}
  class UnreachableError extends Error {}
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }

  async function api(path) {
    const headers = { Accept: 'application/json' };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    let response;
    try {
      response = await fetch(path, {
        headers,
        cache: 'no-store',
        credentials: 'omit',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new UnreachableError(error && error.name === 'TimeoutError'
        ? 'no answer within 10 s' : 'connection failed');
    }
    if (response.status === 401) throw new AuthError('401');
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error && body.error.message
        ? body.error.message : `HTTP ${response.status}`;
      throw new ApiError(response.status, message);
    }
    if (body === null) throw new ApiError(response.status, 'the answer is not JSON');
    return body;
  }

  // The inventory's filters and order, without paging (shared with the
  // CSV export).
  function inventoryFilters() {
    const inventory = state.inventory;
    const params = new URLSearchParams();
    params.set('scope', 'bound');
    if (inventory.text.trim()) params.set('subject', inventory.text.trim());
    if (inventory.expiringWithin) params.set('expiring_within', inventory.expiringWithin);
    params.set('sort', inventory.sort);
    params.set('order', inventory.order);
    return params;
  }

  function inventoryQuery() {
    const inventory = state.inventory;
    const params = inventoryFilters();
    params.set('page_size', String(INVENTORY_PAGE_SIZE));
    const pageToken = inventory.pageTokens[inventory.pageTokens.length - 1];
    if (pageToken) params.set('page_token', pageToken);
    return params.toString();
  }

  // ------------------------------------------------------------ polling

  function schedule() {
    clearTimeout(state.timer);
    state.timer = null;
    if (document.hidden || state.awaitingToken) return;
    state.timer = setTimeout(refresh, POLL_INTERVAL_MS);
  }

  async function refresh() {
    clearTimeout(state.timer);
    state.timer = null;
    if (state.inFlight) {
      state.again = true;
      return;
    }
    state.inFlight = true;
    const query = inventoryQuery();
    try {
      const [summary, offline, certificates, orders, failures, campaigns] = await Promise.all([
        api('/api/v1/summary'),
        api(`/api/v1/hosts?online=false&page_size=${OFFLINE_HOSTS_SHOWN}`),
        api(`/api/v1/certificates?${query}`).catch((error) => {
          // A page token can go stale when the inventory changes under it:
          // go back to the first page instead of showing an error.
          if (error instanceof ApiError && error.status === 400 &&
              state.inventory.pageTokens.length > 1) {
            state.inventory.pageTokens = [''];
            state.again = true;
            return null;
          }
          throw error;
        }),
        api('/api/v1/orders?open=true&page_size=50'),
        api('/api/v1/failures?limit=10'),
        api(`/api/v1/campaigns?page_size=${CAMPAIGNS_READ}`).catch((error) => {
          // 503: this controller runs no campaign engine; the rest still shows.
          if (error instanceof ApiError && error.status === 503) return null;
          throw error;
        }),
      ]);
      renderSummary(summary);
      renderOfflineHosts(offline, summary);
      if (certificates && query === inventoryQuery()) renderInventory(certificates, query);
      renderOrders(orders, summary);
      renderFailures(failures);
      renderCampaigns(campaigns);
      state.lastSuccess = new Date();
      showHealthy();
    } catch (error) {
      showError(error);
    } finally {
      state.inFlight = false;
      if (state.again && !state.awaitingToken) {
        state.again = false;
        refresh();
      } else {
        schedule();
      }
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      clearTimeout(state.timer);
      state.timer = null;
      setConnection('paused', 'paused while hidden');
    } else if (!state.awaitingToken) {
      refresh();
    }
  });

  // ------------------------------------------------- status and token

  function clock(date) {
    const pad = (value) => String(value).padStart(2, '0');
    return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  function setConnection(kind, text) {
    byId('connection').className = `connection connection-${kind}`;
    byId('updated').textContent = text;
  }

  function showHealthy() {
    const banner = byId('banner');
    banner.hidden = true;
    banner.className = 'banner';
    byId('token-form').hidden = true;
    state.awaitingToken = false;
    document.body.classList.remove('stale');
    setConnection('ok', `updated ${clock(state.lastSuccess)}`);
  }

  function showError(error) {
    const banner = byId('banner');
    // What is still on screen is old: dim it so nobody reads it as current.
    document.body.classList.toggle('stale', state.lastSuccess !== null);
    const stale = state.lastSuccess
      ? ` Showing data from ${clock(state.lastSuccess)}.` : '';
    if (error instanceof AuthError) {
      const refused = token() !== '';
      sessionStorage.removeItem(TOKEN_KEY);
      state.awaitingToken = true;
      banner.className = 'banner banner-auth';
      banner.dataset.kind = 'auth';
      banner.textContent = refused
        ? 'The controller refused the API token (401). Enter a valid token to go on.'
        : 'The controller needs an API token (401). Enter it below.';
      banner.hidden = false;
      byId('token-form').hidden = false;
      byId('token-input').focus();
      setConnection('error', 'waiting for a token');
      return;
    }
    banner.className = 'banner';
    if (error instanceof UnreachableError) {
      banner.dataset.kind = 'unreachable';
      banner.textContent = `Cannot reach the controller (${error.message}); retrying every ` +
        `${POLL_INTERVAL_MS / 1000} s.${stale}`;
    } else if (error instanceof ApiError) {
      banner.dataset.kind = 'api-error';
      banner.textContent = `The controller answered ${error.status}: ${error.message}.${stale}`;
    } else {
      banner.dataset.kind = 'page-error';
      banner.textContent = `The dashboard could not show the controller's answer: ` +
        `${error && error.message ? error.message : error}.${stale}`;
    }
    banner.hidden = false;
    setConnection('error', state.lastSuccess
      ? `updated ${clock(state.lastSuccess)} · stale` : 'no data yet');
  }

  function acceptTokenFromAddress() {
    const fragment = location.hash.replace(/^#/, '');
    if (!fragment) return;
    const params = new URLSearchParams(fragment);
    if (!params.has('token')) return;
    const value = params.get('token');
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  }

  byId('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('token-input');
    const value = input.value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    input.value = '';
    state.awaitingToken = false;
    byId('token-form').hidden = true;
    setConnection('waiting', 'connecting…');
    refresh();
  });

  // ---------------------------------------------------------- helpers

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      node.setAttribute(name, String(value));
    }
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function count(value) {
    const number = Number(value);
    return Number.isFinite(number) ? number.toLocaleString('en-US') : '–';
  }

  function setCount(testId, value) {
    const node = document.querySelector(`[data-testid="${testId}"]`);
    node.textContent = count(value);
    return Number(value) || 0;
  }

  function parseTime(value) {
    if (!value) return null;
    const time = Date.parse(value);
    return Number.isNaN(time) ? null : new Date(time);
  }

  function shortDate(date) {
    return `${date.getDate()} ${MONTHS[date.getMonth()]}`;
  }

  // "14:02:11" today, "3 Dec 14:02" otherwise.
  function when(value) {
    const date = parseTime(value);
    if (!date) return '–';
    const now = new Date();
    if (date.toDateString() === now.toDateString()) return clock(date);
    return `${shortDate(date)} ${clock(date).slice(0, 5)}`;
  }

  function ago(value) {
    const date = parseTime(value);
    if (!date) return 'never';
    const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return `${Math.floor(seconds / 86400)} d ago`;
  }

  function bucketOfDays(days) {
    if (days < 0) return 'expired';
    if (days < 7) return 'under_7_days';
    if (days < 30) return 'under_30_days';
    if (days < 90) return 'under_90_days';
    return 'later';
  }

  function humanize(name) {
    return String(name || '').replace(/_/g, ' ');
  }

  function replaceRows(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  // ---------------------------------------------------------- summary

  function renderSummary(summary) {
    const hosts = summary.hosts || {};
    setCount('hosts-total', hosts.total);
    setCount('hosts-online', hosts.online);
    const offline = setCount('hosts-offline', hosts.offline);
    const failures = setCount('inventory-failures', hosts.inventory_failures);
    document.querySelector('.stat-offline').classList.toggle('nonzero', offline > 0);
    document.querySelector('.stat-failures').classList.toggle('nonzero', failures > 0);

    const buckets = summary.certificates_by_expiry || {};
    for (const bucket of BUCKETS) {
      const value = setCount(`bucket-${bucket}`, buckets[bucket]);
      document.querySelector(`.bucket-${bucket}`).classList.toggle('zero', value === 0);
    }
    const served = summary.served || {};
    for (const status of SERVED) {
      const value = setCount(`served-${status}`, served[status]);
      document.querySelector(`.pill.served-${status}`).classList.toggle('zero', value === 0);
    }
    renderTimeline(summary.expiry_timeline || [], summary.generated_at);
  }

  function renderOfflineHosts(answer, summary) {
    const items = (answer && answer.items) || [];
    const rows = items.map((host) => el('tr', { 'data-testid': 'offline-host-row' },
      el('td', { class: 'host', 'data-testid': 'offline-host-name' }, host.hostname || host.host_id),
      el('td', { class: 'when', title: host.last_seen_at || 'never seen' }, ago(host.last_seen_at))));
    replaceRows(byId('offline-hosts-body'), rows);
    byId('offline-hosts').querySelector('table').hidden = items.length === 0;
    const none = byId('offline-hosts-none');
    none.hidden = items.length !== 0;
    none.textContent = Number((summary.hosts || {}).total) > 0
      ? 'Every agent is connected.' : 'No host has enrolled yet.';
    const total = Number((summary.hosts || {}).offline) || 0;
    const more = byId('offline-hosts-more');
    more.hidden = total <= items.length;
    more.textContent = `and ${total - items.length} more offline`;
  }

  // ----------------------------------------------------------- timeline

  // Bars of upcoming expiries from summary.expiry_timeline ([{start, count}],
  // one entry per period), over the next 90 days. Bars take the colour of
  // the expiry bucket their period starts in.
  function renderTimeline(timeline, generatedAt) {
    state.lastTimeline = { timeline, generatedAt };
    const container = byId('timeline-chart');
    // Drawn at the container's own pixel width so that text keeps its size
    // on every screen; redrawn when the window is resized.
    const width = Math.max(320, Math.round(container.clientWidth || 960));
    const height = Math.round(Math.min(320, Math.max(220, width * 0.3)));
    const tickPixels = 0.8 * (parseFloat(getComputedStyle(document.documentElement).fontSize) || 16);
    const right = 16;
    const top = Math.round(tickPixels * 1.6);
    const bottom = Math.round(tickPixels * 3.6);
    const now = (parseTime(generatedAt) || new Date()).getTime();
    const end = now + TIMELINE_DAYS * DAY_MS;

    const periods = timeline
      .map((entry) => ({ start: parseTime(entry.start), count: Number(entry.count) || 0 }))
      .filter((entry) => entry.start)
      .sort((a, b) => a.start - b.start);
    // Each period of the API ends where the next begins (a day when there
    // is only one). Periods shorter than a week are added up into weeks
    // from the first one: 13 bars read better across a room than 90.
    let apiPeriod = Infinity;
    for (let index = 1; index < periods.length; ++index) {
      const gap = periods[index].start - periods[index - 1].start;
      if (gap > 0) apiPeriod = Math.min(apiPeriod, gap);
    }
    if (!Number.isFinite(apiPeriod)) apiPeriod = DAY_MS;
    const period = Math.max(apiPeriod, 7 * DAY_MS);
    const entries = [];
    for (const entry of periods) {
      const origin = periods[0].start.getTime();
      const index = Math.floor((entry.start.getTime() - origin) / period);
      const start = new Date(origin + index * period);
      const last = entries[entries.length - 1];
      if (last && last.start.getTime() === start.getTime()) last.count += entry.count;
      else entries.push({ start, count: entry.count });
    }
    const maximum = Math.max(1, ...entries.map((entry) => entry.count));
    const step = niceStep(maximum);
    const yMaximum = Math.ceil(maximum / step) * step;
    const left = Math.round(12 + String(yMaximum).length * tickPixels * 0.7);
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const x = (time) => left + ((Math.min(Math.max(time, now), end) - now) / (end - now)) * plotWidth;
    const y = (value) => top + plotHeight - (value / yMaximum) * plotHeight;

    const chart = svg('svg', {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': 'Certificates expiring per period over the next 90 days',
    });
    for (let value = 0; value <= yMaximum; value += step) {
      chart.append(svg('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
      chart.append(svg('text', { class: 'tick', x: left - 8, y: y(value) + tickPixels * 0.35, 'text-anchor': 'end' }, value));
    }
    for (const [days, label] of [[7, '7 days'], [30, '30 days']]) {
      const position = x(now + days * DAY_MS);
      chart.append(svg('line', { class: 'threshold', x1: position, x2: position, y1: top, y2: top + plotHeight + tickPixels * 1.8 }));
      chart.append(svg('text', { class: 'tick threshold-label', x: position, y: height - tickPixels * 0.4, 'text-anchor': 'middle' }, label));
    }
    const labelEvery = width < 560 ? 30 : 15;
    for (let days = 0; days <= TIMELINE_DAYS; days += labelEvery) {
      const position = x(now + days * DAY_MS);
      const date = new Date(now + days * DAY_MS);
      chart.append(svg('text', {
        class: 'tick', x: position, y: height - bottom + tickPixels * 1.5,
        'text-anchor': days === 0 ? 'start' : days === TIMELINE_DAYS ? 'end' : 'middle',
      }, days === 0 ? 'today' : shortDate(date)));
    }
    chart.append(svg('line', { class: 'axis', x1: left, x2: width - right, y1: top + plotHeight, y2: top + plotHeight }));

    let drawn = 0;
    for (const entry of entries) {
      const startTime = entry.start.getTime();
      if (startTime + period <= now || startTime >= end) continue;
      const x0 = x(startTime);
      const x1 = x(startTime + period);
      const barWidth = Math.max(2, x1 - x0 - Math.min(4, (x1 - x0) * 0.15));
      const daysAway = (Math.max(startTime, now) - now) / DAY_MS;
      const colour = `var(--${{ expired: 'expired', under_7_days: 'under7', under_30_days: 'under30',
        under_90_days: 'under90', later: 'later' }[bucketOfDays(daysAway)]})`;
      const bar = svg('rect', {
        x: x0, y: y(entry.count), width: barWidth, height: Math.max(0, top + plotHeight - y(entry.count)),
        rx: 2, fill: colour, 'data-testid': 'timeline-bar', 'data-count': entry.count,
        'data-start': entry.start.toISOString(),
      });
      bar.append(svg('title', {}, `${entry.count} expiring from ${shortDate(entry.start)}`));
      chart.append(bar);
      if (entry.count > 0 && barWidth >= 12) {
        chart.append(svg('text', {
          class: 'bar-label', x: x0 + barWidth / 2, y: y(entry.count) - 6, 'text-anchor': 'middle',
        }, entry.count));
      }
      drawn += entry.count;
    }
    if (drawn === 0) {
      chart.append(svg('text', {
        class: 'empty', x: left + plotWidth / 2, y: top + plotHeight / 2, 'text-anchor': 'middle',
      }, 'Nothing expires in the next 90 days.'));
    }
    chart.setAttribute('data-total', drawn);
    container.replaceChildren(chart);
  }

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (state.lastTimeline) renderTimeline(state.lastTimeline.timeline, state.lastTimeline.generatedAt);
    }, 150);
  });

  function niceStep(maximum) {
    const rough = maximum / 4;
    const magnitude = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
    for (const factor of [1, 2, 5, 10]) {
      if (rough <= factor * magnitude) return factor * magnitude;
    }
    return 10 * magnitude;
  }

  // ---------------------------------------------------- orders, failures

  function describeStep(step) {
    if (!step) return '–';
    if (typeof step === 'string') return humanize(step);
    const parts = [step.kind, step.step || step.name].filter(Boolean).map(humanize);
    return parts.join(' · ') || '–';
  }

  function renderOrders(answer, summary) {
    const items = (answer && answer.items) || [];
    const rows = items.map((order) => el('tr', { 'data-testid': 'order-row', 'data-order-id': order.order_id },
      el('td', {},
        el('span', { class: 'host' }, order.hostname || order.host_id || '–'),
        el('span', { class: 'site' }, order.site || order.site_name || '')),
      el('td', {},
        el('span', { class: `pill state-${order.state}`, 'data-testid': 'order-state' }, humanize(order.state)),
        el('span', { class: 'step', 'data-testid': 'order-step' }, describeStep(order.current_step))),
      el('td', { class: 'when', title: order.updated_at || '' }, ago(order.updated_at))));
    replaceRows(byId('orders-body'), rows);
    byId('orders-body').closest('table').hidden = items.length === 0;
    byId('orders-none').hidden = items.length !== 0;
    const inProgress = summary.orders_in_progress;
    byId('orders-title').querySelector('.count').textContent =
      count(inProgress === undefined ? items.length : inProgress);

    const states = Object.entries(summary.orders_by_state || {})
      .filter(([, value]) => Number(value) > 0)
      .map(([name, value]) => el('span', { class: `pill state-${name}`, 'data-testid': `orders-${name}` },
        el('b', {}, count(value)), ` ${humanize(name)}`));
    byId('order-states').replaceChildren(...states);
  }

  function renderFailures(answer) {
    const items = (answer && answer.items) || [];
    const rows = items.map((failure) => el('tr', { 'data-testid': 'failure-row' },
      el('td', { class: 'when', title: failure.at || '' }, when(failure.at)),
      el('td', { class: 'host' }, failure.hostname || failure.host_id || '–'),
      el('td', {}, failure.site || failure.site_name || '–'),
      el('td', {}, describeStep(failure.step)),
      el('td', { class: 'reason' }, failure.reason || humanize(failure.state) || '–')));
    replaceRows(byId('failures-body'), rows);
    byId('failures-body').closest('table').hidden = items.length === 0;
    byId('failures-none').hidden = items.length !== 0;
  }

  // ---------------------------------------------------------- campaigns

  const FINISHED_CAMPAIGN_STATES = ['completed', 'aborted'];

  function waveName(number) {
    return Number(number) === 0 ? 'canary' : `wave ${number}`;
  }

  // "2", "10%", "2 or 10%", or "none" (certfleet.v1.FailureBudget).
  function budgetText(budget) {
    const limits = [];
    if (budget && budget.max_failures !== null && budget.max_failures !== undefined) {
      limits.push(count(budget.max_failures));
    }
    if (budget && budget.max_failure_percent !== null && budget.max_failure_percent !== undefined) {
      limits.push(`${budget.max_failure_percent}%`);
    }
    return limits.length ? limits.join(' or ') : 'none';
  }

  // One wave: a bar of done / in flight / failed / waiting (and cancelled,
  // after an abort) and the same counts in words.
  function waveRow(wave) {
    const progress = wave.progress || {};
    const parts = [
      ['done', Number(progress.done) || 0, 'done'],
      ['in_flight', Number(progress.in_flight) || 0, 'in flight'],
      ['failed', (Number(progress.failed) || 0) + (Number(progress.rolled_back) || 0), 'failed'],
      ['waiting', Number(progress.pending) || 0, 'waiting'],
      ['cancelled', Number(progress.cancelled) || 0, 'cancelled'],
    ];
    const total = Number(wave.size) || parts.reduce((sum, [, value]) => sum + value, 0);
    const shown = parts.filter(([name, value]) => value > 0 || name !== 'cancelled');
    const words = shown.map(([, value, label]) => `${value} ${label}`).join(', ');
    const name = waveName(wave.number);
    const bar = el('div', {
      class: 'wave-bar', role: 'img', 'data-testid': 'wave-bar',
      'aria-label': `${name}, ${humanize(wave.state)}: ${words} of ${total}`,
    });
    for (const [part, value, label] of parts) {
      if (value <= 0 || total <= 0) continue;
      const segment = el('span', { class: `segment segment-${part}`, title: `${value} ${label}` });
      segment.style.flexBasis = `${(100 * value) / total}%`;
      bar.append(segment);
    }
    const counts = el('span', { class: 'wave-counts', 'aria-hidden': 'true' });
    shown.forEach(([part, value, label], index) => {
      if (index > 0) counts.append(' · ');
      counts.append(el('span', { class: part },
        el('b', { 'data-testid': `wave-${part}` }, count(value)), ` ${label}`));
    });
    return el('li', { class: 'wave', 'data-testid': 'campaign-wave', 'data-wave': wave.number },
      el('span', { class: 'wave-name' }, name,
        el('span', { class: 'sub', 'data-testid': 'wave-state' }, ` · ${humanize(wave.state)}`)),
      bar, counts);
  }

  function campaignItem(campaign) {
    const targets = campaign.targets || {};
    const reason = campaign.state === 'paused'
      ? `${campaign.pause_reason === 'failure_budget' ? 'over the failure budget' : 'paused by an operator'}` +
        `${campaign.state_reason ? `: ${campaign.state_reason}` : ''}`
      : (['aborting', 'aborted'].includes(campaign.state) ? campaign.state_reason : '');
    const overBudget = campaign.state === 'paused' && campaign.pause_reason === 'failure_budget';
    const current = campaign.current_wave === null || campaign.current_wave === undefined
      ? '–' : waveName(campaign.current_wave);
    return el('li', { class: 'campaign', 'data-testid': 'campaign', 'data-campaign-id': campaign.campaign_id },
      el('h3', { class: 'campaign-head' },
        el('span', { 'data-testid': 'campaign-name' }, campaign.name || campaign.campaign_id),
        el('span', { class: `pill campaign-state-${campaign.state}`, 'data-testid': 'campaign-state' },
          humanize(campaign.state)),
        reason ? el('span', { class: 'campaign-reason', 'data-testid': 'campaign-reason' }, reason) : null),
      el('p', { class: 'campaign-meta' },
        'now at ', el('b', { 'data-testid': 'campaign-current-wave' }, current),
        ' of ', el('b', { 'data-testid': 'campaign-wave-count' }, count(campaign.wave_count)), ' waves · ',
        el('b', { 'data-testid': 'campaign-done' }, count(targets.done)), ' of ',
        el('b', { 'data-testid': 'campaign-total' }, count(targets.total)), ' bindings done · ',
        el('span', { class: overBudget ? 'over-budget' : null },
          el('b', { 'data-testid': 'campaign-failures' }, count(campaign.failures)), ' failed, budget ',
          el('b', { 'data-testid': 'campaign-budget' }, budgetText(campaign.failure_budget)))),
      el('ol', { class: 'waves', 'aria-label': `Waves of ${campaign.name || campaign.campaign_id}` },
        ...(campaign.waves || []).map(waveRow)));
  }

  // `answer`: /api/v1/campaigns, or null when the controller has no
  // campaign engine.
  function renderCampaigns(answer) {
    const items = (answer && answer.items) || [];
    const recentFrom = Date.now() - RECENT_CAMPAIGN_DAYS * DAY_MS;
    const shown = items.filter((campaign) => {
      if (!FINISHED_CAMPAIGN_STATES.includes(campaign.state)) return true;
      const finished = parseTime(campaign.finished_at);
      return finished !== null && finished.getTime() >= recentFrom;
    });
    byId('campaigns-list').replaceChildren(...shown.map(campaignItem));
    const open = items.filter((campaign) => !FINISHED_CAMPAIGN_STATES.includes(campaign.state));
    byId('campaigns-title').querySelector('.count').textContent = answer ? count(open.length) : '–';
    const none = byId('campaigns-none');
    none.hidden = shown.length !== 0;
    none.textContent = answer ? 'No open or recent campaign.'
      : 'This controller runs no campaign engine.';
  }

  // ---------------------------------------------------------- inventory

  function alternativeNames(certificate) {
    const names = certificate.subject_alternative_names || [];
    return names.map((name) => (typeof name === 'string'
      ? name : name.value || name.dns || name.ip || name.uri || name.email || JSON.stringify(name)));
  }

  function servedStatus(certificate) {
    if (certificate.served_status) return certificate.served_status;
    const site = (certificate.bound_sites || []).find((bound) => bound.served && bound.served.status);
    return site ? site.served.status : 'not_probed';
  }

  // The subject with its common name first and the rest of the name muted
  // on a line of its own ("CN=a.example,O=Example" -> a.example / O=Example).
  function subjectParts(subject) {
    if (!subject) return ['–'];
    const match = /^CN=((?:\\.|[^,\\])*)(?:,(.*))?$/.exec(subject);
    if (!match) return [subject];
    return [el('span', { class: 'common-name' }, `CN=${match[1]}`),
      match[2] ? el('span', { class: 'rest-of-name' }, match[2].replace(/,(?=[A-Za-z.0-9]+=)/g, ', ')) : null];
  }

  // What the latest probes saw, per site, for the served pill's tooltip.
  function servedDetail(certificate) {
    return (certificate.bound_sites || []).map((site) => {
      const served = site.served || {};
      const seen = [served.endpoint, served.detail].filter(Boolean).join(': ');
      const when = served.probed_at ? ` (probed ${ago(served.probed_at)})` : '';
      return `${site.site_name || site.site_id}: ${humanize(served.status || 'not_probed')}` +
        `${seen ? ` · ${seen}` : ''}${when}`;
    }).join('\n');
  }

  function renderInventory(answer, query) {
    const items = answer.items || [];
    const rows = items.map((certificate) => {
      const days = Number(certificate.days_left);
      const sites = (certificate.bound_sites || []).map((site) => site.site_name || site.site_id).join(', ');
      const served = servedStatus(certificate);
      const sans = alternativeNames(certificate);
      return el('tr', { 'data-testid': 'inventory-row', 'data-thumbprint': certificate.thumbprint },
        el('td', { class: 'host', 'data-testid': 'cell-hostname' }, certificate.hostname || certificate.host_id),
        el('td', { 'data-testid': 'cell-site' }, sites || '–'),
        el('td', { class: 'subject', 'data-testid': 'cell-subject' }, ...subjectParts(certificate.subject)),
        el('td', { class: 'sans', 'data-testid': 'cell-sans' },
          ...(sans.length ? sans.map((name) => el('span', { class: 'san' }, name)) : ['–'])),
        el('td', { class: 'issuer', 'data-testid': 'cell-issuer' }, certificate.issuer || '–'),
        el('td', { class: 'thumbprint mono', 'data-testid': 'cell-thumbprint' }, certificate.thumbprint),
        el('td', {
          class: `days num days-${bucketOfDays(days)}`, 'data-testid': 'cell-days-left',
          title: certificate.not_after ? `valid until ${certificate.not_after}` : '',
        }, Number.isFinite(days) ? String(days) : '–'),
        el('td', {}, el('span', {
          class: `pill served-${served}`, 'data-testid': 'cell-served', title: servedDetail(certificate),
        }, SERVED_LABELS[served] || humanize(served))));
    });
    replaceRows(byId('inventory-body'), rows);
    byId('inventory-none').hidden = items.length !== 0;

    const inventory = state.inventory;
    inventory.nextPageToken = answer.next_page_token || '';
    const page = inventory.pageTokens.length;
    const first = (page - 1) * INVENTORY_PAGE_SIZE + (items.length ? 1 : 0);
    const last = (page - 1) * INVENTORY_PAGE_SIZE + items.length;
    const total = Number(answer.total_size) > 0 ? Number(answer.total_size)
      : (inventory.nextPageToken ? 0 : last);
    byId('page-label').textContent = items.length
      ? `page ${page} · ${first}–${last}${total ? ` of ${count(total)}` : ''}` : `page ${page}`;
    byId('page-previous').disabled = page <= 1;
    byId('page-next').disabled = !inventory.nextPageToken;

    for (const header of document.querySelectorAll('#inventory-table th[data-sort]')) {
      if (header.dataset.sort === inventory.sort) {
        header.setAttribute('aria-sort', inventory.order === 'asc' ? 'ascending' : 'descending');
      } else {
        header.removeAttribute('aria-sort');
      }
    }
    // What the table shows, for people reading the DOM and for the browser
    // test: the exact API query the rows came from.
    byId('inventory-table').dataset.query = query;
  }

  function inventoryChanged() {
    state.inventory.pageTokens = [''];
    state.inventory.nextPageToken = '';
    refresh();
  }

  for (const header of document.querySelectorAll('#inventory-table th[data-sort]')) {
    header.querySelector('button').addEventListener('click', () => {
      const inventory = state.inventory;
      const key = header.dataset.sort;
      if (inventory.sort === key) {
        inventory.order = inventory.order === 'asc' ? 'desc' : 'asc';
      } else {
        inventory.sort = key;
        inventory.order = 'asc';
      }
      inventoryChanged();
    });
  }

  byId('filter-text').addEventListener('input', (event) => {
    clearTimeout(state.filterTimer);
    state.filterTimer = setTimeout(() => {
      state.inventory.text = event.target.value;
      inventoryChanged();
    }, FILTER_DEBOUNCE_MS);
  });

  byId('filter-expiring').addEventListener('change', (event) => {
    state.inventory.expiringWithin = event.target.value;
    inventoryChanged();
  });

  byId('inventory-filters').addEventListener('submit', (event) => event.preventDefault());

  // The CSV export is fetched like every API call (with the token when there
  // is one) and handed to the browser as a download.
  byId('export-csv').addEventListener('click', async () => {
    const button = byId('export-csv');
    button.disabled = true;
    try {
      const headers = {};
      if (token()) headers.Authorization = `Bearer ${token()}`;
      const response = await fetch(`/api/v1/certificates.csv?${inventoryFilters()}`,
        { headers, cache: 'no-store', credentials: 'omit' });
      if (response.status === 401) throw new AuthError('401');
      if (!response.ok) throw new ApiError(response.status, `the CSV export failed (HTTP ${response.status})`);
      const link = el('a', { href: URL.createObjectURL(await response.blob()), download: 'certfleet-certificates.csv' });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      showError(error instanceof ApiError || error instanceof AuthError ? error : new UnreachableError('connection failed'));
    } finally {
      button.disabled = false;
    }
  });

  byId('page-next').addEventListener('click', () => {
    if (!state.inventory.nextPageToken) return;
    state.inventory.pageTokens.push(state.inventory.nextPageToken);
    refresh();
  });

  byId('page-previous').addEventListener('click', () => {
    if (state.inventory.pageTokens.length <= 1) return;
    state.inventory.pageTokens.pop();
    refresh();
  });

  // -------------------------------------------------------------- start

  acceptTokenFromAddress();
  setConnection('waiting', 'loading…');
  if (!document.hidden) refresh();
})();
