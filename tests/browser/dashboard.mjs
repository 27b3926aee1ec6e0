// The dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core),
// run by the ctest entry e2e_dashboard_browser (tests/e2e/dashboard.c), which starts the fleet
// and passes: JF_URL (the producer), JF_JOB (a job that failed its first attempt and succeeds
// on a retry), JF_CRON (a cron job's name), JF_QUEUE (a queue) and JF_SHOTS (where the
// screenshots go). It logs in, filters failed jobs, opens one, sees its attempts and log,
// retries it and sees it succeed, pauses and resumes a queue, runs a cron job now, checks the
// page at phone width, and checks that the read-only user can change nothing. Any failure
// exits non-zero with the step that failed.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.env.JF_URL.replace(/\/$/, '');
const jobId = process.env.JF_JOB;
const cronName = process.env.JF_CRON;
const queue = process.env.JF_QUEUE;
const shots = process.env.JF_SHOTS;
mkdirSync(shots, { recursive: true });

let step = 'start';
const fail = (msg) => { throw new Error(`${step}: ${msg}`); };
const expect = (cond, msg) => { if (!cond) fail(msg); };

// Waits for fn() to be true, reloading the page between tries, up to ms.
async function until(page, fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await page.waitForTimeout(250);
    await page.reload();
  }
}

async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function login(page, user, pass) {
  await page.goto(`${base}/`);
  expect(page.url().endsWith('/login'), `not sent to the login page: ${page.url()}`);
  await page.fill('#user', user);
  await page.fill('#password', pass);
  await Promise.all([page.waitForNavigation(), page.click('#login')]);
  expect((await page.textContent('h1')) === 'Overview', 'no Overview after login');
}

const browser = await chromium.launch({
  executablePath: process.env.JF_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const problems = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  // A CSP violation or a script error is a failure: the pages must work under their policy.
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.accept(); });

  step = 'login as admin';
  await login(page, 'admin', 'adminpw');
  await shot(page, '01-overview');

  step = 'filter failed jobs';
  await page.goto(`${base}/jobs`);
  await page.selectOption('#f-state', 'failed');
  await Promise.all([page.waitForNavigation(), page.click('#filter')]);
  expect(page.url().includes('state=failed'), `filter not in the URL: ${page.url()}`);
  const states = await page.$$eval('#jobs td.st-failed', (tds) => tds.length);
  const rows = await page.$$eval('#jobs tr', (trs) => trs.length - 1);
  expect(rows >= 1 && states === rows, `failed filter shows ${states} failed of ${rows} rows`);
  await shot(page, '02-jobs-failed');

  step = 'open the failed job';
  await Promise.all([page.waitForNavigation(), page.click(`#jobs a[href="/jobs/${jobId}"]`)]);
  expect((await page.textContent('#state')) === 'failed', 'job not failed');
  const attempts = await page.textContent('#attempts');
  expect(attempts.includes('attempt 1') && attempts.includes('failing attempt 1 on purpose'),
    `attempts timeline: ${attempts}`);
  const logs = await page.$$eval('#attempts pre.log', (p) => p.map((e) => e.textContent));
  expect(logs.length >= 1 && logs[0].length > 0, 'no log lines in the attempt');
  const params = await page.textContent('main');
  expect(!params.includes('s3cr3t') && params.includes('[redacted]'), 'token not redacted');
  await shot(page, '03-job-failed');

  step = 'retry the job and see it succeed';
  await Promise.all([page.waitForNavigation(), page.click('#retry')]);
  expect((await page.textContent('.flash')).includes('retried'), 'no retried message');
  await until(page, async () => (await page.textContent('#state')) === 'succeeded', 60000,
    'the retried job to succeed');
  const after = await page.textContent('#attempts');
  expect(after.includes('attempt 2') && after.includes('succeeded'), `attempts: ${after}`);
  expect((await page.textContent('table.audit')).includes('admin'), 'retry not in the audit');
  await shot(page, '04-job-succeeded');

  step = 'pause and resume a queue';
  await page.goto(`${base}/queues/${queue}`);
  await Promise.all([page.waitForNavigation(), page.click('button.pause')]);
  expect(dialogs.some((m) => m.startsWith(`Pause queue ${queue}?`)),
    `no confirmation before the pause: ${JSON.stringify(dialogs)}`);
  expect((await page.textContent('td.paused')) === 'paused', 'queue not paused');
  await shot(page, '05-queue-paused');
  await Promise.all([page.waitForNavigation(), page.click('button.resume')]);
  expect((await page.textContent('td.paused')) === '', 'queue not resumed');
  const audit = await page.textContent('table.audit');
  expect(audit.includes('pause') && audit.includes('resume'), `queue audit: ${audit}`);

  step = 'run a cron job now';
  await page.goto(`${base}/cron`);
  await Promise.all([page.waitForNavigation(),
    page.click(`tr[data-name="${cronName}"] button.run`)]);
  const flash = await page.textContent('.flash');
  expect(/started job \d+/.test(flash), `run now: ${flash}`);
  expect(dialogs.some((m) => m.startsWith('Run cron job')), `no confirmation before run now`);
  await shot(page, '06-cron-run');

  step = 'phone width';
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto(`${base}/jobs`);
  const overflow = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await shot(page, '07-jobs-phone');
  // The Queues page's Pause button stood past the phone's edge, reachable only by scrolling
  // the table sideways.
  await page.goto(`${base}/queues`);
  const cut = await page.$$eval('button.pause, button.resume',
    (bs) => bs.filter((b) => b.getBoundingClientRect().right > window.innerWidth).length);
  expect(cut === 0, `${cut} queue button(s) past the phone's edge`);
  // Without its column, a paused queue says so under its name, on the list (where a paused
  // queue of one long word, notifications_outbound, stands too) and on its own page.
  await Promise.all([page.waitForNavigation(), page.click(`tr:has(a[href="/queues/${queue}"]) button.pause`)]);
  const cell = await page.$eval('tr:has(button.resume) td', (td) => td.innerText);
  expect(cell.includes('paused'), `a paused queue on a phone: "${cell}"`);
  await page.goto(`${base}/queues`);
  const out = await page.$$eval('button.pause, button.resume',
    (bs) => bs.filter((b) => b.getBoundingClientRect().right > window.innerWidth).length);
  expect(out === 0, `${out} Resume button(s) past the phone's edge`);
  const wider = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(wider <= 0, `the queues page is ${wider}px wider than a phone`);
  await shot(page, '07a-queues-phone');
  await Promise.all([page.waitForNavigation(), page.click(`tr:has(a[href="/queues/${queue}"]) button.resume`)]);

  step = 'every change on one page';
  await page.goto(`${base}/changes`);
  const changes = await page.textContent('#changes');
  expect(changes.includes('admin') && changes.includes('resume') && changes.includes('run now'),
    `changes: ${changes}`);
  const wide = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(wide <= 0, `the changes page is ${wide}px wider than a phone`);
  await shot(page, '07b-changes-phone');
  await Promise.all([page.waitForNavigation(),
    page.click(`#changes a[href="/queues/${queue}"]`)]);
  expect(page.url().endsWith(`/queues/${queue}`), `the change's link led to ${page.url()}`);
  await ctx.close();

  step = 'the read-only user changes nothing';
  const rctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const ro = await rctx.newPage();
  ro.on('pageerror', (e) => problems.push(String(e)));
  await login(ro, 'viewer', 'viewpw');
  await ro.goto(`${base}/jobs/${jobId}`);
  expect((await ro.$('#retry')) === null && (await ro.$('#cancel')) === null,
    'retry or cancel offered to a read-only user');
  await ro.goto(`${base}/queues`);
  expect((await ro.$('button.pause')) === null, 'pause offered to a read-only user');
  await ro.goto(`${base}/cron`);
  expect((await ro.$('button.run')) === null, 'run now offered to a read-only user');
  // Even a forged POST with the session's own token is refused.
  const csrf = await ro.getAttribute('input[name=csrf]', 'value');
  const status = await ro.evaluate(async ([url, token]) => {
    const r = await fetch(url, { method: 'POST', body: new URLSearchParams({ csrf: token }),
      redirect: 'manual' });
    return r.status;
  }, [`${base}/queues/${queue}/pause`, csrf]);
  expect(status === 403, `read-only POST answered ${status}`);
  await shot(ro, '08-readonly-cron');
  await rctx.close();

  expect(problems.length === 0, `console errors: ${problems.join(' | ')}`);
  console.log('browser flow ok');
} catch (e) {
  console.error(String(e && e.stack ? e.stack : e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
