// Browser test of the expiry dashboard: Debian's chromium, driven through
// playwright-core, against a controller seeded with an emulated fleet (set up
// by dashboard_browser_test.sh). It checks that what the page shows equals
// what the JSON API answers, that sorting and filtering ask the API for what
// they should, that the page follows the fleet when an agent stops, that
// nothing was requested from anywhere but the controller on loopback and
// that the page logged no error. With --campaign it also checks that the
// Campaigns panel shows that campaign with the numbers /api/v1/campaigns
// answers. It saves a full-page screenshot.
//
//   node dashboard_test.mjs --url http://127.0.0.1:PORT/ --screenshot FILE
//        --hosts N [--token TOKEN] [--stop-agent-pid PID --stop-agent-host NAME]
//        [--controller-pid PID] [--campaign NAME]
//
// Conditions are polled with generous bounds; nothing is a timed assertion.
// Exit status 0 when every check passed, 1 otherwise.

import { chromium } from 'playwright-core';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';

const { values: options } = parseArgs({
  options: {
    url: { type: 'string' },
    screenshot: { type: 'string' },
    hosts: { type: 'string' },
    token: { type: 'string', default: '' },
    'stop-agent-pid': { type: 'string', default: '' },
    'stop-agent-host': { type: 'string', default: '' },
    'controller-pid': { type: 'string', default: '' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    campaign: { type: 'string', default: '' },
  },
});
if (!options.url || !options.screenshot || !options.hosts) {
  console.error('usage: dashboard_test.mjs --url URL --screenshot FILE --hosts N [--token T] ' +
    '[--stop-agent-pid PID --stop-agent-host NAME]');
  process.exit(2);
}
const dashboardUrl = new URL(options.url);
const expectedHosts = Number(options.hosts);
const WAIT_MS = 60000;
const BUCKETS = ['expired', 'under_7_days', 'under_30_days', 'under_90_days', 'later'];
const SERVED = ['matches', 'mismatch', 'incomplete_chain', 'unreachable', 'not_probed'];

let checks = 0;
function pass(message) {
  checks += 1;
  console.log(`ok ${checks} - ${message}`);
}

class CheckFailed extends Error {}
function fail(message) {
  throw new CheckFailed(message);
}

// Polls `probe` until it returns {ok: true}; fails with its last `why`
// after `timeoutMs`. The pause between tries is a polling interval, not an
// assertion about timing.
async function eventually(description, probe, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last = { ok: false, why: 'never checked' };
  for (;;) {
    try {
      last = await probe();
    } catch (error) {
      last = { ok: false, why: `${error.message}` };
    }
    if (last.ok) return last;
    if (Date.now() > deadline) fail(`${description}: still not true after ${timeoutMs / 1000} s: ${last.why}`);
    await delay(250);
  }
}

async function api(path) {
  const headers = { Accept: 'application/json' };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const response = await fetch(new URL(path, dashboardUrl), { headers });
  if (!response.ok) fail(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ------------------------------------------------------------- the browser

const browser = await chromium.launch({
  executablePath: options.chromium,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });

// Every request any page of the context makes must go to the controller on
// loopback (or be a data: URL the page itself holds).
const foreignRequests = [];
const requestedPaths = [];
function recordRequest(request) {
  let url = new URL(request.url());
  if (url.protocol === 'data:') return;
  // A blob: URL (the CSV download) names the origin that made it.
  if (url.protocol === 'blob:') url = new URL(url.pathname);
  if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1' || url.port !== dashboardUrl.port) {
    foreignRequests.push(request.url());
  }
  requestedPaths.push(url.pathname + url.search);
}
context.on('request', recordRequest);

// Console errors and uncaught exceptions. On the page of the token check,
// the browser's own "status of 401" lines are expected (and only there).
const consoleErrors = [];
const uncaughtErrors = [];
function watch(page, expectedErrors = null) {
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (expectedErrors && expectedErrors.test(message.text())) return;
    consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => {
    consoleErrors.push(`uncaught: ${error.message}`);
    uncaughtErrors.push(error.message);
  });
}

// Everything the page shows that the test compares, read in one go (the
// page renders a poll's answers in one task, so this is one consistent view).
async function readPage(page) {
  return page.evaluate(() => {
    const text = (id) => {
      const node = document.querySelector(`[data-testid="${id}"]`);
      return node ? node.textContent.trim() : null;
    };
    const number = (id) => {
      const value = text(id);
      return value === null || !/^-?[\d,]+$/.test(value) ? value : Number(value.replace(/,/g, ''));
    };
    const ids = ['hosts-total', 'hosts-online', 'hosts-offline', 'inventory-failures',
      'bucket-expired', 'bucket-under_7_days', 'bucket-under_30_days', 'bucket-under_90_days',
      'bucket-later', 'served-matches', 'served-mismatch', 'served-incomplete_chain',
      'served-unreachable', 'served-not_probed', 'orders-in-progress'];
    const numbers = Object.fromEntries(ids.map((id) => [id, number(id)]));
    const rows = [...document.querySelectorAll('[data-testid="inventory-row"]')].map((row) => {
      const cell = (id) => row.querySelector(`[data-testid="${id}"]`).textContent.trim();
      return {
        hostname: cell('cell-hostname'),
        subject: cell('cell-subject'),
        sans: cell('cell-sans'),
        issuer: cell('cell-issuer'),
        thumbprint: cell('cell-thumbprint'),
        days_left: Number(cell('cell-days-left')),
        served: row.querySelector('[data-testid="cell-served"]').className,
      };
    });
    const bars = [...document.querySelectorAll('[data-testid="timeline-bar"]')]
      .map((bar) => Number(bar.getAttribute('data-count')));
    const offlineHosts = [...document.querySelectorAll('[data-testid="offline-host-name"]')]
      .map((node) => node.textContent.trim());
    const banner = document.querySelector('[data-testid="banner"]');
    return {
      numbers,
      rows,
      bars,
      offlineHosts,
      query: document.querySelector('[data-testid="inventory-table"]').dataset.query || '',
      updated: text('updated'),
      banner: banner.hidden ? null : { kind: banner.dataset.kind, text: banner.textContent },
      tokenForm: !document.querySelector('[data-testid="token-form"]').hidden,
      hash: location.hash,
    };
  });
}

function summaryNumbers(summary) {
  const numbers = {
    'hosts-total': summary.hosts.total,
    'hosts-online': summary.hosts.online,
    'hosts-offline': summary.hosts.offline,
    'inventory-failures': summary.hosts.inventory_failures,
    'orders-in-progress': summary.orders_in_progress,
  };
  for (const bucket of BUCKETS) numbers[`bucket-${bucket}`] = summary.certificates_by_expiry[bucket];
  for (const status of SERVED) numbers[`served-${status}`] = summary.served[status];
  return numbers;
}

// The page's numbers equal the summary the API answers now (retried until
// the page's next poll has caught up with a change).
async function expectSummaryMatches(page, description) {
  return eventually(description, async () => {
    const summary = await api('/api/v1/summary');
    const shown = await readPage(page);
    const expected = summaryNumbers(summary);
    const differences = Object.keys(expected)
      .filter((key) => shown.numbers[key] !== expected[key])
      .map((key) => `${key}: page ${JSON.stringify(shown.numbers[key])}, API ${expected[key]}`);
    const timelineTotal = summary.expiry_timeline.reduce((sum, entry) => sum + entry.count, 0);
    const barTotal = shown.bars.reduce((sum, count) => sum + count, 0);
    if (barTotal !== timelineTotal) {
      differences.push(`timeline: bars add up to ${barTotal}, API's expiry_timeline to ${timelineTotal}`);
    }
    return differences.length
      ? { ok: false, why: differences.join('; ') }
      : { ok: true, summary, shown };
  });
}

// The rows of the inventory table equal, in order, what the API answers for
// the query the page says it showed, and that query contains `mustContain`.
async function expectInventoryMatches(page, description, mustContain = []) {
  return eventually(description, async () => {
    const shown = await readPage(page);
    const params = new URLSearchParams(shown.query);
    const missing = mustContain.filter(([key, value]) => params.get(key) !== value);
    if (missing.length) {
      return { ok: false, why: `the table shows query "${shown.query}", not ${JSON.stringify(missing)}` };
    }
    const answer = await api(`/api/v1/certificates?${shown.query}`);
    const expected = answer.items.map((item) => ({ thumbprint: item.thumbprint, days_left: item.days_left }));
    const actual = shown.rows.map((row) => ({ thumbprint: row.thumbprint, days_left: row.days_left }));
    if (!same(actual, expected)) {
      return {
        ok: false,
        why: `page rows ${JSON.stringify(actual)} but API ${JSON.stringify(expected)} for ${shown.query}`,
      };
    }
    return { ok: true, shown, answer };
  });
}

// The Campaigns panel as the page shows it: per campaign its numbers and,
// per wave, the counts next to its bar.
async function readCampaigns(page) {
  return page.evaluate(() => [...document.querySelectorAll('[data-testid="campaign"]')].map((item) => {
    const text = (node, id) => node.querySelector(`[data-testid="${id}"]`)?.textContent.trim() ?? null;
    return {
      campaign_id: item.dataset.campaignId,
      name: text(item, 'campaign-name'),
      state: text(item, 'campaign-state'),
      reason: text(item, 'campaign-reason'),
      current_wave: text(item, 'campaign-current-wave'),
      wave_count: text(item, 'campaign-wave-count'),
      done: text(item, 'campaign-done'),
      total: text(item, 'campaign-total'),
      failures: text(item, 'campaign-failures'),
      budget: text(item, 'campaign-budget'),
      waves: [...item.querySelectorAll('[data-testid="campaign-wave"]')].map((wave) => ({
        number: wave.dataset.wave,
        state: text(wave, 'wave-state'),
        done: text(wave, 'wave-done'),
        in_flight: text(wave, 'wave-in_flight'),
        failed: text(wave, 'wave-failed'),
        waiting: text(wave, 'wave-waiting'),
        bar_role: wave.querySelector('[data-testid="wave-bar"]')?.getAttribute('role') ?? null,
        bar_label: wave.querySelector('[data-testid="wave-bar"]')?.getAttribute('aria-label') ?? null,
      })),
    };
  }));
}

// What the panel must show for `campaign`, an item of /api/v1/campaigns,
// spelled as the page spells it (written out here rather than taken from
// dashboard.js, so that a wrong rendering cannot agree with itself).
function expectedCampaign(campaign) {
  const waveName = (number) => (number === 0 ? 'canary' : `wave ${number}`);
  const budget = campaign.failure_budget;
  const limits = [];
  if (budget.max_failures !== null) limits.push(String(budget.max_failures));
  if (budget.max_failure_percent !== null) limits.push(`${budget.max_failure_percent}%`);
  return {
    campaign_id: campaign.campaign_id,
    name: campaign.name,
    state: campaign.state.replace(/_/g, ' '),
    current_wave: campaign.current_wave === null ? '–' : waveName(campaign.current_wave),
    wave_count: String(campaign.wave_count),
    done: String(campaign.targets.done),
    total: String(campaign.targets.total),
    failures: String(campaign.failures),
    budget: limits.length ? limits.join(' or ') : 'none',
    waves: campaign.waves.map((wave) => ({
      number: String(wave.number),
      state: `· ${wave.state.replace(/_/g, ' ')}`,
      done: String(wave.progress.done),
      in_flight: String(wave.progress.in_flight),
      failed: String(wave.progress.failed + wave.progress.rolled_back),
      waiting: String(wave.progress.pending),
    })),
  };
}

// The Campaigns panel shows the open campaigns of /api/v1/campaigns with
// the API's numbers (retried until a poll has caught up with a change).
async function expectCampaignsMatch(page, description) {
  return eventually(description, async () => {
    const answer = await api('/api/v1/campaigns?page_size=20');
    const shown = await readCampaigns(page);
    const open = answer.items.filter((campaign) => !['completed', 'aborted'].includes(campaign.state));
    const expected = open.map(expectedCampaign);
    // The page's own labels are compared separately below.
    const comparable = shown.filter((campaign) => open.some((item) => item.campaign_id === campaign.campaign_id))
      .map(({ reason, ...campaign }) => ({
        ...campaign,
        waves: campaign.waves.map(({ bar_role, bar_label, ...wave }) => wave),
      }));
    if (!same(comparable, expected)) {
      return { ok: false, why: `page ${JSON.stringify(comparable)} but API ${JSON.stringify(expected)}` };
    }
    return { ok: true, answer, shown };
  });
}

async function waitForData(page) {
  await eventually('the page shows the fleet', async () => {
    const shown = await readPage(page);
    if (shown.banner) return { ok: false, why: `banner: ${shown.banner.text}` };
    return shown.numbers['hosts-total'] === expectedHosts && shown.rows.length > 0
      ? { ok: true } : { ok: false, why: `hosts-total ${shown.numbers['hosts-total']}, ${shown.rows.length} rows` };
  });
}

// -------------------------------------------------------------- the checks

let page;
try {
  // The fleet is there before the page is judged against it.
  await eventually(`the API reports ${expectedHosts} hosts online with their inventory`, async () => {
    const summary = await api('/api/v1/summary');
    const bound = BUCKETS.reduce((sum, bucket) => sum + summary.certificates_by_expiry[bucket], 0);
    return summary.hosts.total === expectedHosts && summary.hosts.online === expectedHosts && bound > 0
      ? { ok: true } : { ok: false, why: JSON.stringify(summary.hosts) + ` ${bound} bound certificates` };
  }, 120000);
  pass(`the API reports ${expectedHosts} hosts online with certificates`);

  if (options.token) {
    // Without a token the page asks for one; a wrong one is refused; the
    // right one typed in the form brings the data.
    page = await context.newPage();
    watch(page, /status of 401 \(Unauthorized\)/);
    await page.goto(dashboardUrl.href);
    await eventually('the page asks for a token', async () => {
      const shown = await readPage(page);
      return shown.tokenForm && shown.banner && shown.banner.kind === 'auth'
        ? { ok: true } : { ok: false, why: JSON.stringify(shown.banner) };
    });
    pass('without a token the page shows the 401 banner and the token form');
    await page.fill('[data-testid="token-input"]', `${options.token}-wrong`);
    await page.click('[data-testid="token-submit"]');
    await eventually('a wrong token is refused', async () => {
      const shown = await readPage(page);
      return shown.tokenForm && shown.banner && /refused/.test(shown.banner.text)
        ? { ok: true } : { ok: false, why: JSON.stringify(shown.banner) };
    });
    pass('a wrong token is refused and the form asks again');
    await page.fill('[data-testid="token-input"]', options.token);
    await page.click('[data-testid="token-submit"]');
    await waitForData(page);
    pass('the token typed in the form brings the data');
    await page.close();

    // #token= in the address is accepted and removed from the address bar.
    const fresh = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    fresh.on('request', recordRequest);
    const other = await fresh.newPage();
    watch(other);
    await other.goto(`${dashboardUrl.href}#token=${encodeURIComponent(options.token)}`);
    await waitForData(other);
    const afterFragment = await readPage(other);
    if (afterFragment.hash.includes('token')) fail(`the token is still in the address: ${afterFragment.hash}`);
    pass('#token= is accepted and removed from the address bar');
    await fresh.close();
  }

  page = await context.newPage();
  watch(page);
  const tokenFragment = options.token ? `#token=${encodeURIComponent(options.token)}` : '';
  await page.goto(dashboardUrl.href + tokenFragment);
  await waitForData(page);

  // Numbers: fleet health, buckets, served status, orders, timeline.
  const { summary } = await expectSummaryMatches(page, 'the page shows the summary the API answers');
  const bound = BUCKETS.reduce((sum, bucket) => sum + summary.certificates_by_expiry[bucket], 0);
  if (bound === 0) fail('the fleet has no bound certificate: the comparisons above would prove nothing');
  pass(`fleet health, ${bound} certificates in expiry buckets, served status and timeline equal the API's`);

  // The Campaigns panel: the seeded campaign with the API's numbers.
  if (options.campaign) {
    const { answer, shown } = await expectCampaignsMatch(page, 'the Campaigns panel equals the API');
    const seeded = answer.items.find((campaign) => campaign.name === options.campaign);
    if (!seeded) fail(`the API lists no campaign "${options.campaign}": ${JSON.stringify(answer.items)}`);
    if (seeded.targets.total === 0 || seeded.wave_count < 2) {
      fail(`the campaign "${options.campaign}" has ${seeded.targets.total} targets in ` +
        `${seeded.wave_count} waves: the comparison would prove little`);
    }
    const item = shown.find((campaign) => campaign.campaign_id === seeded.campaign_id);
    if (!item) fail(`the panel does not show the campaign "${options.campaign}"`);
    const unlabelled = item.waves.filter((wave) => wave.bar_role !== 'img' || !wave.bar_label ||
      !wave.bar_label.includes(`${wave.waiting} waiting`));
    if (unlabelled.length) fail(`wave bars without a matching accessible label: ${JSON.stringify(unlabelled)}`);
    pass(`the Campaigns panel shows "${seeded.name}" (${seeded.state}, ${seeded.wave_count} waves, ` +
      `${seeded.targets.total} bindings, ${seeded.failures} failed of budget ${item.budget}) as the API`);
  }

  // The inventory table: default order (days left ascending).
  const initial = await expectInventoryMatches(page, 'the inventory table equals the API',
    [['sort', 'not_after'], ['order', 'asc']]);
  if (initial.shown.rows.length === 0) fail('the inventory table is empty');
  const first = initial.answer.items[0];
  const firstRow = initial.shown.rows[0];
  if (firstRow.thumbprint !== first.thumbprint || firstRow.days_left !== first.days_left ||
      firstRow.hostname !== first.hostname || firstRow.issuer !== first.issuer ||
      !firstRow.served.split(' ').includes(`served-${first.served_status}`)) {
    fail(`first row ${JSON.stringify(firstRow)} differs from the API's ${JSON.stringify(first)}`);
  }
  pass(`the inventory shows the API's ${initial.shown.rows.length} rows in order; first row ` +
    `${first.hostname} ${first.thumbprint} with ${first.days_left} days left`);

  // Sorting by clicking column headers.
  await page.click('[data-testid="sort-hostname"]');
  const byHost = await expectInventoryMatches(page, 'sorted by host, ascending',
    [['sort', 'hostname'], ['order', 'asc']]);
  await page.click('[data-testid="sort-hostname"]');
  const byHostDescending = await expectInventoryMatches(page, 'sorted by host, descending',
    [['sort', 'hostname'], ['order', 'desc']]);
  const hostsAscending = byHost.shown.rows.map((row) => row.hostname);
  const hostsDescending = byHostDescending.shown.rows.map((row) => row.hostname);
  const sortedAscending = [...hostsAscending].sort();
  if (!same(hostsAscending, sortedAscending) || !same(hostsDescending, [...sortedAscending].reverse())) {
    fail(`host order wrong: ascending ${hostsAscending}, descending ${hostsDescending}`);
  }
  if (hostsAscending[0] === hostsDescending[0]) fail('sorting by host did not reorder the rows');
  const ariaSort = await page.getAttribute('th[data-sort="hostname"]', 'aria-sort');
  if (ariaSort !== 'descending') fail(`the host header says aria-sort=${ariaSort}`);
  pass('clicking the host header sorts the rows as the API does, both ways');
  await page.click('[data-testid="sort-not_after"]');
  await expectInventoryMatches(page, 'sorted by days left again', [['sort', 'not_after'], ['order', 'asc']]);
  pass('clicking the days-left header sorts by expiry again');

  // The text filter narrows the table to what the API returns for it.
  const word = /CN=([^,]+)/.exec(first.subject)?.[1] || first.subject;
  await page.fill('[data-testid="filter-text"]', word);
  const filtered = await expectInventoryMatches(page, `filtered by "${word}"`, [['subject', word]]);
  const unfiltered = initial.shown.rows.length;
  if (filtered.shown.rows.length === 0 || filtered.shown.rows.length >= unfiltered) {
    fail(`the filter "${word}" shows ${filtered.shown.rows.length} of ${unfiltered} rows; expected fewer but some`);
  }
  const stray = filtered.shown.rows.filter((row) =>
    !`${row.subject} ${row.sans}`.toLowerCase().includes(word.toLowerCase()));
  if (stray.length) fail(`rows not matching "${word}": ${JSON.stringify(stray)}`);
  pass(`the filter "${word}" narrows the table from ${unfiltered} to ${filtered.shown.rows.length} rows, as the API`);
  await page.fill('[data-testid="filter-text"]', '');
  await eventually('the filter is cleared', async () => {
    const shown = await readPage(page);
    return !new URLSearchParams(shown.query).has('subject') && shown.rows.length === unfiltered
      ? { ok: true } : { ok: false, why: `query ${shown.query}, ${shown.rows.length} rows` };
  });

  // The expiring-within selector (90 days: the renewed certificates and the
  // ones about to be renewed, not the shops' that last most of a year).
  await page.selectOption('[data-testid="filter-expiring"]', '90d');
  const expiring = await expectInventoryMatches(page, 'expiring within 90 days',
    [['expiring_within', '90d']]);
  const lateRows = expiring.shown.rows.filter((row) => row.days_left >= 90);
  if (lateRows.length) fail(`rows expiring later than 90 days shown: ${JSON.stringify(lateRows)}`);
  if (expiring.shown.rows.length === 0 || expiring.shown.rows.length >= unfiltered) {
    fail(`"expiring within 90 days" shows ${expiring.shown.rows.length} of ${unfiltered} rows; expected fewer but some`);
  }
  pass(`"expiring within 90 days" shows the API's ${expiring.shown.rows.length} of ${unfiltered} rows`);

  // The CSV export of the same filter: a header and one line per row.
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: WAIT_MS }),
    page.click('[data-testid="export-csv"]'),
  ]);
  const csvPath = await download.path();
  const csv = (await readFile(csvPath, 'utf8')).trim().split('\n');
  const csvThumbprints = expiring.shown.rows.filter((row) => !csv.some((line) => line.includes(row.thumbprint)));
  if (csv.length !== expiring.shown.rows.length + 1 || csvThumbprints.length) {
    fail(`the CSV export has ${csv.length} lines for ${expiring.shown.rows.length} rows ` +
      `(missing ${csvThumbprints.map((row) => row.thumbprint)})`);
  }
  pass(`the CSV export holds the ${expiring.shown.rows.length} filtered certificates`);
  await page.selectOption('[data-testid="filter-expiring"]', '');
  await expectInventoryMatches(page, 'every expiry again', []);

  // Paging through the API's page tokens: ?page_size=2 in the address.
  const paged = await context.newPage();
  watch(paged);
  await paged.goto(`${dashboardUrl.href}?page_size=2${tokenFragment}`);
  const pageOne = await expectInventoryMatches(paged, 'the first page of two rows',
    [['page_size', '2'], ['page_token', null]]);
  if (pageOne.shown.rows.length !== 2 || !pageOne.answer.next_page_token) {
    fail(`page 1 shows ${pageOne.shown.rows.length} rows, next_page_token "${pageOne.answer.next_page_token}"`);
  }
  await paged.click('[data-testid="page-next"]');
  const pageTwo = await expectInventoryMatches(paged, 'the second page',
    [['page_size', '2'], ['page_token', pageOne.answer.next_page_token]]);
  const overlap = pageTwo.shown.rows.filter((row) =>
    pageOne.shown.rows.some((first) => first.thumbprint === row.thumbprint && first.hostname === row.hostname));
  if (pageTwo.shown.rows.length === 0 || overlap.length) {
    fail(`page 2 shows ${pageTwo.shown.rows.length} rows, ${overlap.length} of them from page 1`);
  }
  await paged.click('[data-testid="page-previous"]');
  // (A null value: the parameter must be absent.)
  const backToOne = await expectInventoryMatches(paged, 'back on the first page',
    [['page_size', '2'], ['page_token', null]]);
  if (!same(backToOne.shown.rows.map((row) => row.thumbprint), pageOne.shown.rows.map((row) => row.thumbprint))) {
    fail('"previous" did not show the first page again');
  }
  await paged.close();
  pass('next and previous page through the inventory with the API\'s page tokens');

  // The page polls: "updated HH:MM:SS" moves on by itself.
  // A single poll that failed on a loaded machine shows "· stale" until the
  // next one succeeds; wait for fresh data first.
  let before = null;
  await eventually('the page shows fresh data', async () => {
    before = await readPage(page);
    return /^updated \d\d:\d\d:\d\d$/.test(before.updated)
      ? { ok: true } : { ok: false, why: `the freshness line reads "${before.updated}"` };
  });
  await eventually('the page polls again', async () => {
    const shown = await readPage(page);
    return shown.updated !== before.updated && /^updated \d\d:\d\d:\d\d$/.test(shown.updated)
      ? { ok: true } : { ok: false, why: `still "${shown.updated}"` };
  });
  pass('the page polls by itself ("updated HH:MM:SS" moves on)');

  // Live update: an agent stops; the page follows the API's online count.
  if (options['stop-agent-pid']) {
    const onlineBefore = (await expectSummaryMatches(page, 'before stopping an agent')).summary.hosts.online;
    process.kill(Number(options['stop-agent-pid']), 'SIGTERM');
    const stopped = options['stop-agent-host'];
    await eventually('the page shows the agent offline', async () => {
      const summary = await api('/api/v1/summary');
      const shown = await readPage(page);
      const expected = onlineBefore - 1;
      if (summary.hosts.online !== expected) return { ok: false, why: `API online ${summary.hosts.online}` };
      if (shown.numbers['hosts-online'] !== expected || shown.numbers['hosts-offline'] !== summary.hosts.offline) {
        return { ok: false, why: `page online ${shown.numbers['hosts-online']}, offline ${shown.numbers['hosts-offline']}` };
      }
      if (stopped && !shown.offlineHosts.includes(stopped)) {
        return { ok: false, why: `offline hosts listed: ${shown.offlineHosts}` };
      }
      return { ok: true };
    }, 90000);
    await expectSummaryMatches(page, 'the summary after the agent stopped');
    pass(`after stopping ${stopped || 'an agent'} the page shows ${onlineBefore - 1} online and lists it offline`);
  }

  // The page renders on a wall-screen-sized viewport; keep a picture.
  await page.setViewportSize({ width: 1920, height: 1080 });
  await expectSummaryMatches(page, 'the summary at screenshot time');
  await page.screenshot({ path: options.screenshot, fullPage: true });
  pass(`screenshot saved to ${options.screenshot}`);

  if (foreignRequests.length) fail(`requests left loopback: ${foreignRequests.join(', ')}`);
  const apiCalls = requestedPaths.filter((path) => path.startsWith('/api/v1/')).length;
  if (apiCalls === 0) fail('the request recorder saw no API call: it would not see a foreign one either');
  pass(`all ${requestedPaths.length} requests went to the controller on 127.0.0.1:${dashboardUrl.port}`);
  if (consoleErrors.length) fail(`console errors: ${consoleErrors.join(' | ')}`);
  pass('no console error and no uncaught exception');

  // The controller goes away: the page says so plainly, keeps the last data
  // on screen dimmed, and keeps retrying (the browser's own "connection
  // refused" lines are expected from here on, exceptions are not).
  if (options['controller-pid']) {
    const lastGood = await readPage(page);
    process.kill(Number(options['controller-pid']), 'SIGTERM');
    await eventually('the page says the controller is unreachable', async () => {
      const shown = await readPage(page);
      const dimmed = await page.evaluate(() => document.body.classList.contains('stale'));
      return shown.banner && shown.banner.kind === 'unreachable' && dimmed &&
        /stale$/.test(shown.updated) && shown.numbers['hosts-total'] === lastGood.numbers['hosts-total']
        ? { ok: true } : { ok: false, why: `banner ${JSON.stringify(shown.banner)}, "${shown.updated}"` };
    });
    await page.screenshot({ path: options.screenshot.replace(/\.png$/, '') + '-unreachable.png' });
    if (uncaughtErrors.length) fail(`uncaught exceptions: ${uncaughtErrors.join(' | ')}`);
    pass('with the controller stopped the page shows the unreachable banner over the dimmed last data');
  }
} catch (error) {
  console.log(`not ok - ${error instanceof CheckFailed ? error.message : error.stack}`);
  if (page) {
    const failurePicture = options.screenshot.replace(/\.png$/, '') + '-failure.png';
    await page.screenshot({ path: failurePicture, fullPage: true }).catch(() => {});
    console.log(`# the page at the failure: ${failurePicture}`);
  }
  if (consoleErrors.length) console.log(`# console errors: ${consoleErrors.join(' | ')}`);
  await browser.close();
  console.log(`${checks} passed, 1 failed`);
  process.exit(1);
}
await browser.close();
console.log(`${checks} passed, 0 failed`);
