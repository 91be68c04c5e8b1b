// ui_flow.mjs: an operator's session in headless Chromium against a running
// `tandem enclosure up`, driven through the web UI only: log in, read both
// controllers' versions, change the PFU limits and switch, upload a bundle
// and follow the progress bar to done with PFU succeeding, then with the
// partner's flash failing: the halted-PFU banner on every page and the
// roll-back. Run by test_web_ui.py, which starts the enclosure and checks
// the controllers' flash afterwards.
//
// Environment: TANDEM_URL (https://A-address:port/), TANDEM_ENC (the
// enclosure's directory), TANDEM_TOOL (the tandem program), VIEWPORT
// (laptop|phone), ARTIFACTS (a directory for screenshots).
// Prints one line per step; exits non-zero at the first failure, with a
// screenshot of the page as it was.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const URL = process.env.TANDEM_URL;
const HTTP_URL = process.env.TANDEM_HTTP_URL;
const B_URL = process.env.TANDEM_B_URL;
const ENC = process.env.TANDEM_ENC;
const TOOL = process.env.TANDEM_TOOL;
const VIEWPORT = process.env.VIEWPORT || 'laptop';
const ARTIFACTS = process.env.ARTIFACTS;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OLD = 'TS250P001';
const MID = 'TS250P002';
const NEW = 'TS250P003';
// A code load, the MC restart and a PFU pass take seconds in the
// simulator; these are deadlines, not expected durations.
const UPDATE_DEADLINE_MS = 240000;
const STEP_DEADLINE_MS = 60000;

const VIEWPORTS = {
  laptop: { viewport: { width: 1366, height: 900 } },
  phone: { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

for (const [name, v] of Object.entries({ TANDEM_URL: URL, TANDEM_HTTP_URL: HTTP_URL, TANDEM_B_URL: B_URL, TANDEM_ENC: ENC, TANDEM_TOOL: TOOL, ARTIFACTS })) {
  if (!v) {
    console.error(`ui_flow: ${name} is not set`);
    process.exit(2);
  }
}
mkdirSync(ARTIFACTS, { recursive: true });

let shot = 0;
let page;
const consoleErrors = [];

async function snapOf(p, name) {
  shot += 1;
  const file = join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await p.screenshot({ path: file, fullPage: true });
  return file;
}

function snap(name) {
  return snapOf(page, name);
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

// The page must never scroll sideways: nothing wider than the viewport.
async function noSidewaysScroll(where) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(scroll <= width, `${where}: the page is ${scroll} px wide in a ${width} px viewport`);
}

async function go(pageId) {
  await page.click(`nav a[data-page="${pageId}"]`);
  await page.waitForSelector(`main[data-page="${pageId}"]`);
}

async function versionsOf() {
  const row = page.locator('table.versions tr[data-field="bundle-version"]');
  await row.waitFor();
  return {
    A: (await row.locator('td[data-controller="A"]').textContent()).trim(),
    B: (await row.locator('td[data-controller="B"]').textContent()).trim(),
  };
}

async function waitVersions(a, b, timeout = STEP_DEADLINE_MS) {
  await page.waitForFunction(([va, vb]) => {
    const row = document.querySelector('table.versions tr[data-field="bundle-version"]');
    if (!row) return false;
    const A = row.querySelector('td[data-controller="A"]').textContent.trim();
    const B = row.querySelector('td[data-controller="B"]').textContent.trim();
    return A === va && B === vb;
  }, [a, b], { timeout, polling: 500 });
}

// Uploads a bundle from the Firmware page and records what the progress
// bar showed until it stopped: the steps seen and its percentages.
async function upload(bundle, on = page, tag = '') {
  const page = on;
  await page.click('nav a[data-page="firmware"]');
  await page.waitForSelector('main[data-page="firmware"]');
  await page.setInputFiles('#bundle-file', join(ENC, 'bundles', `${bundle}.bundle`));
  await page.waitForSelector(`[data-field="file-bundle"]:text("${bundle}")`);
  await page.click('[data-action="start-update"]');
  const seen = { steps: [], percents: [] };
  const deadline = Date.now() + UPDATE_DEADLINE_MS;
  for (;;) {
    // The MC restart ends the session; a page reloaded since its login
    // asks for the password again (one that was not, logs in by itself).
    if (await page.locator('dialog[open][data-dialog="reauth"]').count()) {
      seen.reauth = true;
      await snapOf(page, `${tag}${bundle}-log-in-again`);
      await page.fill('#reauth-password', '!manage');
      await page.click('dialog[open] [data-action="reauth"]');
      await page.waitForSelector('dialog[data-dialog="reauth"]', { state: 'detached' });
    }
    const s = await page.evaluate(() => {
      const bar = document.getElementById('update-bar');
      return bar && { step: bar.dataset.step, state: bar.dataset.state, pct: Number(bar.getAttribute('aria-valuenow')), label: bar.getAttribute('aria-valuetext') };
    });
    if (s) {
      if (seen.steps[seen.steps.length - 1] !== s.step) {
        seen.steps.push(s.step);
        if (['install', 'restart', 'pfu'].includes(s.step)) await snapOf(page, `${tag}${bundle}-${s.step}`);
      }
      seen.percents.push(s.pct);
      if (s.state !== 'running') {
        seen.state = s.state;
        seen.label = s.label;
        return seen;
      }
    }
    check(Date.now() < deadline, `the update of ${bundle} ended within ${UPDATE_DEADLINE_MS / 1000} s (steps ${seen.steps})`);
    await page.waitForTimeout(100);
  }
}

// The header's health badge comes to say `word` (it follows the
// controller's own health and the PFU state).
async function headerHealthIs(p, word) {
  await p.waitForSelector(`.hdr-health[data-health="${word}"]`, { timeout: STEP_DEADLINE_MS });
  const text = (await p.textContent('.hdr-health')).trim();
  check(text === `Health ${word}`, `the header says Health ${word}: ${text}`);
}

function monotonic(list) {
  return list.every((v, i) => i === 0 || v >= list[i - 1]);
}

async function bannerOnEveryPage() {
  for (const id of ['system', 'firmware', 'settings', 'events']) {
    await go(id);
    const banner = page.locator('[data-banner="pfu-halted"]');
    await banner.waitFor({ state: 'visible', timeout: STEP_DEADLINE_MS });
    // Impossible to miss: at the top of the page, above the page's own title.
    await page.waitForFunction(() => {
      const b = document.querySelector('[data-banner="pfu-halted"]');
      const t = document.querySelector('main h1');
      return b && t && b.getBoundingClientRect().height > 0 && b.getBoundingClientRect().bottom <= t.getBoundingClientRect().top;
    }, null, { timeout: STEP_DEADLINE_MS });
    await noSidewaysScroll(`${id} with the halt banner`);
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const context = await browser.newContext({ ...VIEWPORTS[VIEWPORT], ignoreHTTPSErrors: true });
  page = await context.newPage();
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION|ERR_EMPTY_RESPONSE/.test(m.text())) consoleErrors.push(m.text());
  });
  try {
    await step('the login page refuses a wrong password', async () => {
      await page.goto(URL);
      await page.waitForSelector('#login-user');
      check(await page.evaluate(() => window.isSecureContext && !!crypto.subtle), 'the page is a secure context with WebCrypto');
      await snap('login');
      await page.fill('#login-user', 'manage');
      await page.fill('#login-password', 'wrong-password');
      await page.click('form.login-card button[type=submit]');
      await page.waitForSelector('.login-msg .notice-bad');
      const msg = await page.textContent('.login-msg');
      check(/Authentication Unsuccessful/i.test(msg), `the refusal says so: ${msg}`);
      check(await page.evaluate(() => !sessionStorage.getItem('tandem.session')), 'no session is kept after a refusal');
    });

    await step('log in', async () => {
      await page.fill('#login-password', '!manage');
      await page.click('form.login-card button[type=submit]');
      await page.waitForSelector('main[data-page="system"] svg.enclosure-svg');
      await page.waitForSelector('.ctl-card[data-controller="B"] [data-field="bundle-version"]');
      const key = await page.evaluate(() => JSON.parse(sessionStorage.getItem('tandem.session')).key);
      check(key && key.length >= 16, 'the session key is kept in sessionStorage');
      await page.waitForSelector('[data-field="system-health"]');
      await snap('system');
      await noSidewaysScroll('system');
    });

    await step('the enclosure drawing shows both controllers operational', async () => {
      for (const id of ['A', 'B']) {
        const tone = await page.getAttribute(`svg .svg-module[data-controller="${id}"]`, 'data-tone');
        check(tone === 'ok', `controller ${id} is drawn ok, not ${tone}`);
      }
      const health = (await page.textContent('[data-field="system-health"]')).trim();
      check(health === 'OK', `system health OK, not ${health}`);
    });

    await step('both controllers\' versions side by side', async () => {
      await go('firmware');
      const v = await versionsOf();
      check(v.A === OLD && v.B === OLD, `both run ${OLD}: ${JSON.stringify(v)}`);
      const rows = await page.locator('table.versions tbody tr').count();
      check(rows >= 5, `the table lists the components (${rows} rows)`);
      for (const field of ['sc-fw', 'mc-fw', 'ec-fw']) {
        const a = (await page.textContent(`tr[data-field="${field}"] td[data-controller="A"]`)).trim();
        const b = (await page.textContent(`tr[data-field="${field}"] td[data-controller="B"]`)).trim();
        check(a && a !== 'N/A' && a === b, `${field}: A ${a}, B ${b}`);
      }
      await snap('firmware');
      await noSidewaysScroll('firmware');
    });

    await step('an expired session returns to the login page', async () => {
      const real = await page.evaluate(() => sessionStorage.getItem('tandem.session'));
      await page.evaluate(() => {
        const s = JSON.parse(sessionStorage.getItem('tandem.session'));
        s.key = '0123456789abcdef0123456789abcdef';
        sessionStorage.setItem('tandem.session', JSON.stringify(s));
      });
      await page.reload();
      await page.waitForSelector('#login-password');
      const note = await page.textContent('.login-msg');
      check(/session has ended/i.test(note), `the login page says why: ${note}`);
      await snap('session-expired');
      // Back in with the real key (the session itself is still valid).
      await page.evaluate((r) => sessionStorage.setItem('tandem.session', r), real);
      await page.goto(`${URL}#/settings`);
      await page.reload();
      await page.waitForSelector('main[data-page="settings"]');
    });

    await step('set short PFU limits from the settings page', async () => {
      await page.waitForSelector('#in-pfu-backoff-seconds');
      await page.fill('#in-pfu-backoff-seconds', '1');
      await page.fill('#in-pfu-partner-wait-seconds', '30');
      await page.click('[data-action="save-limits"]');
      await page.waitForSelector('main[data-page="settings"] .notice-ok');
      await page.reload();
      await page.waitForSelector('#in-pfu-backoff-seconds');
      check(await page.inputValue('#in-pfu-backoff-seconds') === '1', 'back-off read back as 1');
      check(await page.inputValue('#in-pfu-partner-wait-seconds') === '30', 'partner wait read back as 30');
      await snap('settings');
      await noSidewaysScroll('settings');
    });

    await step('toggle PFU off and on', async () => {
      const sw = page.locator('#set-pfu-enabled');
      check(await sw.isChecked(), 'PFU starts enabled');
      await page.click('label[for="set-pfu-enabled"]');
      await page.waitForFunction(() => /Partner Firmware Upgrade|partner-firmware-upgrade/i.test(document.querySelector('main[data-page="settings"] .notice-ok')?.textContent || ''));
      await page.reload();
      await page.waitForSelector('#set-pfu-enabled');
      check(!(await page.locator('#set-pfu-enabled').isChecked()), 'PFU read back as disabled');
      await snap('pfu-disabled');
      await page.click('label[for="set-pfu-enabled"]');
      await page.waitForSelector('main[data-page="settings"] .notice-ok');
      await page.reload();
      await page.waitForSelector('#set-pfu-enabled');
      check(await page.locator('#set-pfu-enabled').isChecked(), 'PFU read back as enabled');
    });

    await step('turn plain HTTP on and log in over it from a loopback address', async () => {
      await page.click('label[for="proto-http"]');
      await page.waitForFunction(() => /http/i.test(document.querySelector('main[data-page="settings"] .notice-ok')?.textContent || ''));
      check(await page.locator('#proto-http').isChecked(), 'HTTP shows enabled');
      // http://127.x.y.z is a secure context in Chromium (all of
      // 127.0.0.0/8), so WebCrypto hashes the login there too.
      const other = await page.context().newPage();
      try {
        await other.goto(HTTP_URL);
        await other.waitForSelector('#login-user');
        check(await other.evaluate(() => window.isSecureContext && !!crypto.subtle), 'http on 127/8 is a secure context');
        check(!(await other.locator('.login-card .notice-bad').count()), 'no plain-HTTP warning on a loopback address');
        await other.fill('#login-user', 'manage');
        await other.fill('#login-password', '!manage');
        await other.click('form.login-card button[type=submit]');
        await other.waitForSelector('main[data-page="system"] svg.enclosure-svg');
        await other.click('.hdr-user button');
        await other.waitForSelector('#login-user');
      } finally {
        await other.close();
      }
    });

    await step(`upload ${MID}: the progress bar reaches done and PFU succeeds`, async () => {
      const seen = await upload(MID);
      await snap(`${MID}-done`);
      check(seen.state === 'finished', `the update finished: ${seen.state} (${seen.label})`);
      check(seen.steps[seen.steps.length - 1] === 'done', `the bar ended at done: ${seen.steps}`);
      // PFU can finish between two samples; the steps list says it ran.
      for (const s of ['upload', 'install', 'restart', 'pfu', 'done']) {
        const st = await page.getAttribute(`.stepper [data-step="${s}"]`, 'data-state');
        check(st === 'done', `step ${s} is done, not ${st}`);
      }
      check(monotonic(seen.percents), 'the bar never went backwards');
      await page.waitForSelector(`.timeline :text("runs bundle ${MID} and is confirmed, SUCCESS")`, { timeout: STEP_DEADLINE_MS });
      check(seen.percents[seen.percents.length - 1] === 100, 'the bar ends at 100%');
      const pfu = (await page.textContent('[data-field="pfu-status"]')).trim();
      check(/complete/i.test(pfu), `PFU status Complete, not ${pfu}`);
      await waitVersions(MID, MID);
      await noSidewaysScroll('firmware after the update');
    });

    await step('arm the partner\'s MC flash to fail in PFU loads', async () => {
      const out = execFileSync(TOOL, ['enclosure', 'fault', '--dir', ENC, 'b', 'write-error=mc@partner']).toString();
      check(/armed write-error=mc@partner/.test(out), out);
    });

    await step(`upload ${NEW}: PFU halts and the banner says what to do`, async () => {
      const seen = await upload(NEW);
      check(seen.state === 'failed', `the update ended failed: ${seen.state} (${seen.label})`);
      for (const [s, want] of [['upload', 'done'], ['install', 'done'], ['restart', 'done'], ['pfu', 'failed']]) {
        const st = await page.getAttribute(`.stepper [data-step="${s}"]`, 'data-state');
        check(st === want, `step ${s} is ${want}, not ${st}`);
      }
      const banner = page.locator('[data-banner="pfu-halted"]');
      await banner.waitFor({ state: 'visible' });
      // The badge changes with the banner, not at the header's next
      // refresh of the controller's health.
      const badge = (await page.textContent('.hdr-health')).trim();
      check(badge === 'Health Degraded', `the header says Health Degraded with the banner: ${badge}`);
      const text = await banner.textContent();
      check(text.includes(NEW) && /Roll forward/.test(text) && /Roll back/.test(text), `the banner names ${NEW} and both ways out: ${text}`);
      await page.locator('[data-banner="pfu-halted"] .halt-advice').waitFor({ timeout: STEP_DEADLINE_MS });
      const reason = await page.textContent('[data-banner="pfu-halted"] [data-field="halt-reason"]');
      check(/Input\/output error/.test(reason), `the banner gives the partner's failure: ${reason}`);
      // A's own health stays OK (it runs its bundle soundly); the pair is
      // degraded, and the header says so.
      // A as a controller is sound (it runs its bundle); the pair is
      // degraded, and the header says so, with the halt as its reason.
      const own = await page.evaluate(async () => {
        const api = await import('/js/api.js');
        const doc = await api.run('show', 'controllers');
        return (doc.controllers || []).find((c) => c['controller-id'] === 'A')?.health;
      });
      check(own === 'OK', `controller A's own health stays OK: ${own}`);
      await headerHealthIs(page, 'Degraded');
      check(/halted/i.test(await page.getAttribute('.hdr-health', 'title')), 'the badge says why');
      await snap('halted-firmware');
      await bannerOnEveryPage();
      await go('system');
      await snap('halted-system');
    });

    await step('the events page filters by severity, code and text', async () => {
      await go('events');
      await page.check('#sev-critical');
      await page.waitForSelector('.events-table tbody tr');
      const sev = await page.$$eval('.events-table tbody tr .ev-sev', (l) => l.map((e) => e.textContent.trim()));
      check(sev.length && sev.every((s) => s === 'CRITICAL'), `only critical events: ${sev}`);
      const msgs = await page.$$eval('.events-table tbody tr .ev-msg', (l) => l.map((e) => e.textContent));
      check(msgs.some((m) => /halted after 3 failed attempts/.test(m)), 'the halt is among them');
      await page.uncheck('#sev-critical');
      await page.waitForFunction(() => [...document.querySelectorAll('.events-table .ev-sev')].some((e) => e.textContent.trim() !== 'CRITICAL'));
      await page.fill('#ev-code', '269');
      await page.fill('#ev-text', 'attempt 2 of 3 failed');
      await page.waitForFunction(() => document.querySelectorAll('.events-table tbody tr').length === 1);
      const code = (await page.textContent('.events-table tbody tr .ev-code')).trim();
      check(code === '269', `the event code is 269, not ${code}`);
      await snap('events-filtered');
      await noSidewaysScroll('events');
      await page.fill('#ev-text', 'no event says this');
      await page.waitForSelector('.events .empty');
    });

    await step('a monitor user sees the state but cannot change a setting', async () => {
      const other = await page.context().newPage();
      try {
        await other.goto(URL);
        await other.fill('#login-user', 'monitor');
        await other.fill('#login-password', '!monitor');
        await other.click('form.login-card button[type=submit]');
        await other.waitForSelector('[data-banner="pfu-halted"]');
        await other.click('nav a[data-page="settings"]');
        await other.waitForSelector('#set-pfu-enabled');
        await other.click('label[for="set-pfu-enabled"]');
        await other.waitForSelector('main[data-page="settings"] .notice-bad');
        check(await other.locator('#set-pfu-enabled').isChecked(), 'the switch shows PFU still enabled');
        await other.screenshot({ path: join(ARTIFACTS, `${String(++shot).padStart(2, '0')}-monitor-refused.png`), fullPage: true });
        await other.click('.hdr-user button');
        await other.waitForSelector('#login-user');
      } finally {
        await other.close();
      }
    });

    await step('controller B\'s own page shows the halt too', async () => {
      const other = await page.context().newPage();
      try {
        await other.goto(B_URL);
        await other.fill('#login-user', 'manage');
        await other.fill('#login-password', '!manage');
        await other.click('form.login-card button[type=submit]');
        const banner = other.locator('[data-banner="pfu-halted-partner"]');
        await banner.waitFor({ state: 'visible', timeout: STEP_DEADLINE_MS });
        const text = await banner.textContent();
        check(/halted on controller A/.test(text), `B's banner names A: ${text}`);
        await headerHealthIs(other, 'Degraded');
        await other.screenshot({ path: join(ARTIFACTS, `${String(++shot).padStart(2, '0')}-halted-seen-from-b.png`), fullPage: true });
        await other.click('.hdr-user button');
        await other.waitForSelector('#login-user');
      } finally {
        await other.close();
      }
    });

    await step('roll back from the banner', async () => {
      await go('system');
      await page.click('[data-banner="pfu-halted"] [data-action="rollback"]');
      await page.waitForSelector('dialog[open] [data-action="confirm-rollback"]');
      await snap('rollback-confirm');
      await page.click('dialog[open] [data-action="confirm-rollback"]');
      await page.waitForSelector('[data-banner="rollback-done"]', { timeout: UPDATE_DEADLINE_MS });
      await page.waitForSelector('[data-banner="pfu-halted"]', { state: 'detached', timeout: STEP_DEADLINE_MS });
      await headerHealthIs(page, 'OK');
      await go('firmware');
      await waitVersions(MID, MID);
      await snap('rolled-back');
    });

    await step(`upload ${NEW} again: PFU halts again on B's failing flash`, async () => {
      const seen = await upload(NEW);
      check(seen.state === 'failed', `the update ended failed: ${seen.state} (${seen.label})`);
      await page.locator('[data-banner="pfu-halted"]').waitFor({ state: 'visible', timeout: STEP_DEADLINE_MS });
    });

    await step(`roll forward: ${NEW} loaded into B from B's own page clears the halt`, async () => {
      const other = await page.context().newPage();
      other.on('pageerror', (e) => consoleErrors.push(`pageerror (B): ${e.message}`));
      try {
        await other.goto(B_URL);
        await other.fill('#login-user', 'manage');
        await other.fill('#login-password', '!manage');
        await other.click('form.login-card button[type=submit]');
        await other.locator('[data-banner="pfu-halted-partner"]').waitFor({ state: 'visible', timeout: STEP_DEADLINE_MS });
        // B's own flash works for an operator's load (the fault point
        // fails only the loads A pushes).
        const seen = await upload(NEW, other, 'B-');
        check(seen.state === 'finished', `B's update finished: ${seen.state} (${seen.label})`);
        await other.locator('[data-banner="pfu-halted-partner"]').waitFor({ state: 'detached', timeout: STEP_DEADLINE_MS });
        await snapOf(other, 'rolled-forward-on-b');
        await other.click('.hdr-user button');
        await other.waitForSelector('#login-user');
      } finally {
        await other.close();
      }
      await page.locator('[data-banner="pfu-halted"]').waitFor({ state: 'detached', timeout: STEP_DEADLINE_MS });
      await go('firmware');
      await waitVersions(NEW, NEW);
      await snap('rolled-forward');
    });

    check(!consoleErrors.length, `no script errors in the page: ${consoleErrors.join(' | ')}`);
    await step('log out', async () => {
      await page.click('.hdr-user button');
      await page.waitForSelector('#login-user');
      check(await page.evaluate(() => !sessionStorage.getItem('tandem.session')), 'the key is gone');
    });
  } catch (e) {
    console.log(`not ok - ${e.message}`);
    try {
      console.log(`screenshot: ${await snap('FAILED')}`);
      writeFileSync(join(ARTIFACTS, 'FAILED.html'), await page.content());
    } catch {
      /* the page may be gone */
    }
    await browser.close();
    process.exit(1);
  }
  await browser.close();
}

main();
