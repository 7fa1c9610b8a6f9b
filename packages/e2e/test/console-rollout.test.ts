import test from 'ava';
import { encodeModel, floatTensor, gatherModel, node, valueInfo } from '@switchyard/testkit';
import { ConsoleBrowser, ConsoleCluster, signIn, TOKENS, type Input } from './helpers/console-cluster.js';

// A rollout started and followed on the console by a deployer: it moves
// through its steps while the new version answers well, then is rolled back
// on the page once it starts failing part of the traffic.
let cluster: ConsoleCluster;
let browser: ConsoleBrowser;

test.before(async () => {
  cluster = await ConsoleCluster.start({ nodes: 2 });
  browser = await ConsoleBrowser.launch();
});

test.after.always(async () => {
  await browser?.close();
  await cluster?.stop();
});

/** Gather over an 8-row table: accepts indices 0–7, where testkit's gatherModel (4 rows) fails on 4–7. */
function wideGatherModel(): Uint8Array {
  const table = Array.from({ length: 8 }, (_, i) => [10 * i, 10 * i + 1]).flat();
  return encodeModel({
    name: 'gather8',
    nodes: [node('Gather', ['table', 'idx'], ['y'], { axis: 0 })],
    initializers: [floatTensor('table', [8, 2], table)],
    inputs: [valueInfo('idx', 'INT64', ['batch'])],
    outputs: [valueInfo('y', 'FP32', ['batch', 2])],
  });
}

test.serial('a rollout started on the page progresses, then is rolled back when the new version fails, as seen on the page', async (t) => {
  await cluster.deploy('g', wideGatherModel());
  await cluster.createVersion('g', gatherModel());
  // Indices 0–3 work on both versions; once `failing` is set, 4–7 fail on v2.
  let failing = false;
  const idx = (i: number): Input[] => [{ name: 'idx', datatype: 'INT64', shape: [1], data: BigInt64Array.of(BigInt(failing ? i % 8 : i % 4)) }];
  const traffic = cluster.load('g', idx);
  t.teardown(() => traffic.stop());

  const { context, page } = await browser.page();
  t.teardown(() => context.close());
  await signIn(page, cluster.url, TOKENS.deployer);
  await page.locator('#models').waitFor();
  await page.goto(`${cluster.url}#/model/g/rollout`);
  await page.locator('#rollout-to').selectOption('v2');
  await page.locator('#rollout-steps-input').fill('10, 20, 50, 100');
  await page.locator('#rollout-hold').fill('2');
  await page.locator('#rollout-requests').fill('20');
  // Sub-millisecond requests on a shared machine: p99 is noise, judged elsewhere (e2e rollouts.test.ts).
  await page.locator('#rollout-judge-p99').uncheck();
  await page.locator('button[data-method="StartRollout"]').click();
  const dialog = page.locator('dialog.action-dialog');
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.locator('.result, .error').first().waitFor();
  t.regex(await dialog.locator('.history-line').innerText(), /RolloutStart of g:v2 by dan/);
  await page.keyboard.press('Escape');

  // Progressing: the second step becomes the current one on the timeline.
  await page.locator('#rollout-steps li[data-step="1"].current').waitFor({ timeout: 30_000 });
  t.is(await page.locator('#rollout-state').innerText(), 'PROGRESSING');
  t.is(await page.locator('#rollout-steps li[data-step="0"]').getAttribute('class'), 'step done');
  t.true(await page.locator('button[data-method="AbortRollout"]').isEnabled(), 'a deployer may abort');
  // The step's live figures: v2 (second row) has taken requests.
  await page.waitForFunction(() => Number(document.querySelector('#rollout-figures tbody tr:nth-child(2) td:nth-child(2)')?.textContent) > 0, undefined, { timeout: 20_000 });
  await browser.screenshot(page, 'rollout-progressing');

  // Now v2 fails half of its requests: the controller rolls back, and the page shows it.
  failing = true;
  await page.waitForFunction(() => document.querySelector('#rollout-state')?.textContent === 'ROLLED_BACK', undefined, { timeout: 30_000 });
  t.regex(await page.locator('#rollout-reason').innerText(), /v2/);
  t.regex((await page.locator('#rollout-steps').getAttribute('aria-label')) ?? '', /steps/);
  t.is(await page.locator('#rollout-steps li.failed').count(), 1, 'the step that failed is marked');
  t.is(await page.locator('button[data-method="AbortRollout"]').count(), 0, 'an ended rollout has no controls');
  await browser.screenshot(page, 'rollout-rolled-back');
  const route = await cluster.admin.getRoute('g');
  t.deepEqual(route.splits.map((s) => `${s.version}=${s.weight}`), ['v1=10000']);

  await page.goto(`${cluster.url}#/history?model=g`);
  await page.locator('#history tr[data-action="RolloutRollback"]').waitFor();
  t.deepEqual(browser.offLoopback, []);
  t.deepEqual(browser.pageErrors, []);
});
