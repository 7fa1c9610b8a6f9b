import test from 'ava';
import type { Page } from 'playwright-core';
import { CONTENT_SECURITY_POLICY, SESSION_COOKIE } from '@switchyard/control-plane';
import { linearModel } from '@switchyard/testkit';
import { ConsoleBrowser, ConsoleCluster, signIn, TOKENS } from './helpers/console-cluster.js';

// The console in a real browser against a real cluster: sign-in, the pages,
// an action end to end, what a viewer may not do, and that the page never
// reaches beyond loopback. Screenshots go to dist/test-output/screenshots.
let cluster: ConsoleCluster;
let browser: ConsoleBrowser;
let adminPage: Page;
const x = (i: number) => [{ name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.of(i % 7, 1, 2) }];

test.before(async () => {
  cluster = await ConsoleCluster.start({ nodes: 2 });
  await cluster.deploy('lin', linearModel({ weights: [1, 1, 1], bias: 0 }));
  await cluster.createVersion('lin', linearModel({ weights: [1, 1, 1], bias: 0.5 }));
  await cluster.createVersion('lin', linearModel({ weights: [1, 1, 1.001], bias: 0 }));
  // Expires in an hour unless used: inside the 7-day warning window, so the dry run warns it.
  await cluster.createVersion('lin', linearModel({ weights: [2, 1, 1], bias: 0 }), { expiresAfterSeconds: 3600 });
  browser = await ConsoleBrowser.launch();
});

test.after.always(async () => {
  await browser?.close();
  await cluster?.stop();
});

test.serial('the page is served with a content security policy and refuses framing', async (t) => {
  const response = await fetch(cluster.url);
  t.is(response.status, 200);
  t.is(response.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  t.regex(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
  t.regex(CONTENT_SECURITY_POLICY, /default-src 'none'/);
  t.is(response.headers.get('x-frame-options'), 'DENY');
  t.regex(await response.text(), /<script type="module" src="\/assets\/app.js">/);
});

test.serial('a wrong token is refused on the sign-in page', async (t) => {
  const { context, page } = await browser.page();
  t.teardown(() => context.close());
  await page.goto(cluster.url);
  await page.locator('#token').waitFor();
  await browser.screenshot(page, 'sign-in');
  await signIn(page, cluster.url, 'sy_not-a-token-of-this-cluster');
  await page.locator('#signin-error').waitFor();
  t.regex(await page.locator('#signin-error').innerText(), /not known to this cluster/);
  t.deepEqual(await context.cookies(), [], 'no session for a wrong token');
  await browser.screenshot(page, 'sign-in-wrong-token');
});

test.serial('the admin signs in with a session cookie only and sees the overview', async (t) => {
  const { context, page } = await browser.page();
  adminPage = page;
  const traffic = cluster.load('lin', x);
  t.teardown(() => traffic.stop());
  await signIn(page, cluster.url, TOKENS.admin);
  await page.locator('#models tr[data-model="lin"]').waitFor();
  t.regex(await page.locator('#who').innerText(), /ada\s+admin/);
  const cookies = await context.cookies();
  t.is(cookies.length, 1);
  const cookie = cookies[0]!;
  t.is(cookie.name, SESSION_COOKIE);
  t.true(cookie.httpOnly);
  t.is(cookie.sameSite, 'Strict');
  t.is(cookie.expires, -1, 'a session cookie: it ends with the browser session');
  t.not(cookie.value, TOKENS.admin);
  t.false(page.url().includes(TOKENS.admin), 'the token is never in a URL');
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  t.false(stored.includes(TOKENS.admin), 'nor in storage a script can read');

  for (const id of ['node-1', 'node-2']) t.regex(await page.locator(`#nodes tr[data-node="${id}"]`).innerText(), /live/);
  // #16: each node's model memory, used of its budget.
  t.regex(await page.locator('#nodes tr[data-node="node-1"] td.memory').innerText(), /of [\d.]+ [KMGT]iB \(\d+%\)/);
  t.regex(await page.locator('#control-planes').innerText(), /serves this console, leader/);
  t.regex(await page.locator('#models tr[data-model="lin"]').innerText(), /lin\s+v1\s+4/);
  // The rates come from the nodes' metrics: wait until they show the traffic.
  await page.waitForFunction(() => /[1-9][\d.]*\/s/.test(document.querySelector('#models tr[data-model="lin"]')?.textContent ?? ''), undefined, { timeout: 20_000 });
  await browser.screenshot(page, 'overview');
});

test.serial('the model page shows versions, signature, route and live figures; the admin moves 10% with the slider', async (t) => {
  const page = adminPage;
  const traffic = cluster.load('lin', x);
  t.teardown(() => traffic.stop());
  await page.locator('#models a', { hasText: 'lin' }).click();
  await page.locator('#versions tr[data-version="v3"]').waitFor();
  const v1 = await page.locator('#versions tr[data-version="v1"]').innerText();
  t.regex(v1, /PASSED/);
  t.regex(v1, /ACTIVE/);
  t.regex(v1, /in x FP32\[\?, 3\]/);
  t.regex(v1, /out y FP32\[\?, 1\]/);
  await page.waitForFunction(() => /v1: [1-9]/.test(document.querySelector('#live-now')?.textContent ?? ''), undefined, { timeout: 20_000 });
  t.is(await page.locator('.chart canvas').count() >= 2, true, 'request-rate and p99 charts are drawn');
  await page.waitForTimeout(6000); // a few more polls, so the charts draw lines for the screenshot

  // Keyboard only: pick v2 as the version to move traffic to, then 10 steps of 1%.
  await page.locator('#route-to').selectOption('v2');
  await page.locator('#route-slider').focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  t.is(await page.locator('#route-movement').innerText(), 'Preview: moves 10% of the traffic from v1 to v2.');
  await browser.screenshot(page, 'model');
  await page.locator('button[data-method="SetRoute"]').click();
  const dialog = page.locator('dialog.action-dialog');
  t.regex(await dialog.innerText(), /moves 10% of the traffic from v1 to v2/);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.locator('.history-line[data-action="SetRoute"]').waitFor();
  t.regex(await dialog.locator('.history-line').innerText(), /SetRoute of lin by ada/);
  await browser.screenshot(page, 'action-result');
  await page.keyboard.press('Escape');
  const route = await cluster.admin.getRoute('lin');
  t.deepEqual(
    route.splits.map((s) => `${s.version}=${s.weight}`).sort(),
    ['v1=9000', 'v2=1000'],
  );
});

test.serial('a shadow added on the model page shows its figures on the shadow report', async (t) => {
  const page = adminPage;
  await page.goto(`${cluster.url}#/model/lin`);
  await page.locator('#shadows-h').waitFor();
  await page.locator('form.inline-form select').last().selectOption('v3');
  await page.locator('form.inline-form input[type="number"]').last().fill('100');
  await page.locator('button[data-method="AddShadow"]').click();
  const dialog = page.locator('dialog.action-dialog');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.locator('.history-line[data-action="AddShadow"]').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#shadows li[data-shadow="v3"]').waitFor();
  const traffic = cluster.load('lin', x);
  t.teardown(() => traffic.stop());
  await page.goto(`${cluster.url}#/model/lin/shadows`);
  const pair = page.locator('section.pair[data-pair="v1>v3"]');
  await pair.waitFor({ timeout: 20_000 });
  await page.waitForFunction(
    () => {
      const dd = [...document.querySelectorAll('section.pair[data-pair="v1>v3"] dl.counts dd')].map((d) => d.textContent ?? '');
      return Number(dd[1]) >= 20;
    },
    undefined,
    { timeout: 20_000 },
  );
  t.regex(await pair.innerText(), /mirrored/);
  t.regex(await pair.innerText(), /\by\b/, 'the output y has its row');
  await page.waitForTimeout(2500); // one more poll, so the charts have two points to draw
  await browser.screenshot(page, 'shadow-report');
});

test.serial('the retirement page shows the dry run and what expires next; the admin pins a version and history shows it, filtered by actor', async (t) => {
  const page = adminPage;
  await page.goto(`${cluster.url}#/retirement`);
  const row = page.locator('#retirement tr[data-entry="lin:v3"]');
  await row.waitFor();
  t.regex(await page.locator('#retirement').innerText(), /lin:v1/);
  t.regex(await page.locator('#plan tr[data-entry="lin:v4"]').innerText(), /WARN/);
  await row.locator('button[data-method="PinVersion"]').click();
  const dialog = page.locator('dialog.action-dialog');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.locator('.history-line[data-action="PinVersion"]').waitFor();
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => /never \(pinned\)/.test(document.querySelector('#retirement tr[data-entry="lin:v3"]')?.textContent ?? ''));
  await browser.screenshot(page, 'retirement');
  t.true((await cluster.admin.getVersion('lin', 'v3')).pinned);

  await page.goto(`${cluster.url}#/history?model=lin`);
  await page.locator('#history tr[data-action="PinVersion"]').waitFor();
  await page.locator('#history-actor').selectOption('ada');
  const actions = await page.locator('#history tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
  t.true(actions.includes('SetRoute') && actions.includes('AddShadow') && actions.includes('PinVersion'), actions.join(','));
  await browser.screenshot(page, 'history');
});

test.serial('the admin retires a version and unretires it on the model page, each confirmed with its history entry', async (t) => {
  const page = adminPage;
  await page.goto(`${cluster.url}#/model/lin`);
  const row = page.locator('#versions tr[data-version="v4"]');
  await row.waitFor();
  const dialog = page.locator('dialog.action-dialog');
  await row.locator('button[data-method="Retire"]').click();
  t.regex(await dialog.innerText(), /Retire lin:v4/);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.locator('.history-line[data-action="RetireVersion"]').waitFor();
  await page.keyboard.press('Escape');
  await row.locator('button[data-method="Unretire"]').waitFor();
  t.regex(await row.innerText(), /RETIRED/);
  await row.locator('button[data-method="Unretire"]').click();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.locator('.history-line[data-action="UnretireVersion"]').waitFor();
  await page.keyboard.press('Escape');
  await row.locator('button[data-method="Retire"]').waitFor();
  t.is((await cluster.admin.getVersion('lin', 'v4')).retirement_state, 'ACTIVE');
});

test.serial('a viewer sees the route change disabled with why, and the admin API refuses a forged request', async (t) => {
  const { context, page } = await browser.page();
  t.teardown(() => context.close());
  await signIn(page, cluster.url, TOKENS.viewer);
  await page.locator('#models').waitFor();
  await page.goto(`${cluster.url}#/model/lin`);
  const button = page.locator('button[data-method="SetRoute"]');
  await button.waitFor();
  t.true(await button.isDisabled());
  t.regex(await page.locator('.route-editor .why').innerText(), /SetRoute needs the deployer role; you are viewer/);
  t.true(await page.locator('button[data-method="PinVersion"]').first().isDisabled());
  await browser.screenshot(page, 'model-viewer');

  // Forged from the signed-in page itself, with the session's CSRF value: the admin API says no.
  const forged = await page.evaluate(async () => {
    const session = (await (await fetch('/api/session')).json()) as { csrf: string };
    const response = await fetch('/api/admin/SetRoute', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-switchyard-csrf': session.csrf },
      body: JSON.stringify({ model: 'lin', splits: [{ version: 'v2', weight: 10000 }] }),
    });
    return { status: response.status, body: (await response.json()) as { code: string; message: string } };
  });
  t.is(forged.status, 403);
  t.is(forged.body.code, 'PERMISSION_DENIED');
  t.regex(forged.body.message, /token 'vera' has role viewer; SetRoute needs deployer/);
  // Without the CSRF value (what another site could send along with the cookie): refused before the admin API.
  const noCsrf = await page.evaluate(async () => {
    const response = await fetch('/api/admin/SetRoute', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"lin","splits":[]}' });
    return response.status;
  });
  t.is(noCsrf, 403);
  // And from another origin with the cookie: refused too.
  const cookie = (await context.cookies())[0]!;
  const crossSite = await fetch(`${cluster.url}api/admin/SetRoute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'http://attacker.example', cookie: `${cookie.name}=${cookie.value}` },
    body: '{"model":"lin","splits":[]}',
  });
  t.is(crossSite.status, 403);
  const route = await cluster.admin.getRoute('lin');
  t.deepEqual(route.splits.map((s) => `${s.version}=${s.weight}`).sort(), ['v1=9000', 'v2=1000'], 'the route did not change');
});

test.serial('on a phone-sized screen the pages fit the width', async (t) => {
  const { context, page } = await browser.page({ width: 390, height: 844 });
  t.teardown(() => context.close());
  await signIn(page, cluster.url, TOKENS.admin);
  await page.locator('#models').waitFor();
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
  t.true(await fits(), 'overview');
  await browser.screenshot(page, 'overview-phone');
  await page.goto(`${cluster.url}#/model/lin`);
  await page.locator('#versions').waitFor();
  t.true(await fits(), 'model page');
  await browser.screenshot(page, 'model-phone');
});

test.serial('another control plane serves the same console, as a follower; a stopped node shows as gone', async (t) => {
  const second = await cluster.addControlPlane('control-plane-b');
  const { context, page } = await browser.page();
  t.teardown(() => context.close());
  await signIn(page, second.consoleUrl!, TOKENS.viewer);
  await page.locator('#models tr[data-model="lin"]').waitFor();
  await page.waitForFunction(() => (document.querySelector('#control-planes')?.children.length ?? 0) === 2, undefined, { timeout: 20_000 });
  t.regex(await page.locator('#control-planes').innerText(), /control-plane-b at .* serves this console, follower/);
  await page.locator('#nodes tr[data-node="node-2"]').waitFor();

  await cluster.nodes[1]!.stop(1000);
  await page.waitForFunction(() => /gone/.test(document.querySelector('#nodes tr[data-node="node-2"]')?.textContent ?? ''), undefined, { timeout: 20_000 });
  t.regex(await page.locator('#nodes tr[data-node="node-1"]').innerText(), /live/);
  await browser.screenshot(page, 'overview-second-control-plane');
});

test.serial('signing out ends the session', async (t) => {
  const page = adminPage;
  await page.goto(`${cluster.url}#/`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#token').waitFor();
  const status = await page.evaluate(async () => (await fetch('/api/session')).status);
  t.is(status, 401);
});

test.serial('no request of the page left the loopback address, and no script failed', (t) => {
  t.deepEqual(browser.offLoopback, []);
  t.deepEqual(browser.pageErrors, []);
});
