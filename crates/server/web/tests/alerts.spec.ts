// Alerts and captures in headless Chromium against a real sonde-server fed
// by a real agent (crates/server/tests/web_alerts.rs starts both, and the
// podman workload once the rule exists): an editor creates a rule with a
// capture action, sees it fire, acknowledges and silences it, follows the
// history's link to its capture and downloads it (saved to SONDE_OUT with
// the firing's time); a viewer cannot create; no session, no data.
import { writeFileSync } from 'node:fs';
import { expect, Page, test } from '@playwright/test';

const shots = process.env.SONDE_SCREENSHOTS || 'test-results';
const out = process.env.SONDE_OUT || 'test-results';
const container = process.env.SONDE_CONTAINER || '';
const RULE = 'ctr-errors';
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const creds = (v: string | undefined) => (v || ':').split(':');

async function login(page: Page, who: string | undefined) {
  const [user, password] = creds(who);
  await page.goto('/');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await expect(page.locator('header .me')).toContainText(user);
}

test('an editor creates an alert with a capture, sees it fire and downloads its capture', async ({ page }) => {
  test.setTimeout(240_000);
  expect(container).not.toBe('');
  await login(page, process.env.SONDE_EDITOR);
  await page.click('header nav a:has-text("Alerts")');
  const form = page.locator('form.rule-form');
  await form.locator('input[name=name]').fill(RULE);
  await form.locator('input[name=metric]').fill('syscall.errors');
  await form.locator('input[name=filters]').fill(`container.name=${container}, scope=container`);
  await form.locator('input[name=group_by]').fill('container.name');
  await form.locator('select[name=time_agg]').selectOption('sum');
  await form.locator('input[name=window_s]').fill('5');
  await form.locator('input[name=threshold]').fill('20');
  await form.locator('input[name=for_s]').fill('2');
  await form.locator('input[name=capture]').check();
  await form.locator('input[name=before_s]').fill('20');
  await form.locator('input[name=after_s]').fill('2');
  await form.locator('button[type=submit]').click();
  const row = page.locator(`tr.rule[data-rule="${RULE}"]`);
  await expect(row).toHaveAttribute('data-state', 'ok');
  await expect(row).toContainText(`sum(syscall.errors {container.name=${container}, scope=container}) over 5 s > 20 by container.name`);
  await expect(row).toContainText('20 s before, 2 s after');
  // the test starts the workload now; the rule goes pending, then fires
  await expect(row).toHaveAttribute('data-state', 'firing', { timeout: 120_000 });
  await expect(row.locator('.alert')).toContainText(`container.name=${container}`);
  await shot(page, 'alerts');

  await row.locator('button:has-text("Acknowledge")').click();
  await expect(row).toHaveAttribute('data-state', 'acked');
  await expect(row).toContainText('acked by ' + creds(process.env.SONDE_EDITOR)[0]);
  await row.locator('button:has-text("Silence 1 h")').click();
  await expect(row).toHaveAttribute('data-state', 'silenced');

  const fired = page.locator(`tr.transition[data-rule="${RULE}"][data-state="firing"]`).first();
  await expect(fired).toBeVisible();
  const firedMs = Number(await fired.getAttribute('data-ts'));
  await fired.locator('a:has-text("capture")').click();
  await expect(page).toHaveURL(new RegExp(`#/captures\\?rule=${RULE}&alert=${firedMs}`));
  const stored = page.locator('tr.capture[data-state="stored"]');
  await expect(stored).toHaveCount(1, { timeout: 90_000 });
  await expect(stored).toContainText(RULE);
  await expect(stored).toContainText('−20 s / +2 s');
  await shot(page, 'captures');
  const [download] = await Promise.all([page.waitForEvent('download'), stored.locator('a.download').click()]);
  await download.saveAs(`${out}/alert.scap`);
  const id = await stored.getAttribute('data-id');
  writeFileSync(`${out}/alert.json`, JSON.stringify({ fired_ms: firedMs, id }));

  // the Events timeline links the stored capture and the firing
  await page.goto('/#/events?range=15m');
  await expect(page.locator('tr.event[data-kind="capture"] a.capture-link').first()).toBeVisible();
  await expect(page.locator('tr.event[data-kind="alert"] a.capture-link').first()).toBeVisible();
  await shot(page, 'events-alerts');
  await page.goto('/#/alerts');
  await expect(page.locator(`tr.rule[data-rule="${RULE}"]`)).toHaveAttribute('data-state', 'silenced');
  await shot(page, 'alerts-silenced');
});

test('a viewer sees the alerts but cannot create one', async ({ page }) => {
  await login(page, process.env.SONDE_VIEWER);
  await page.goto('/#/alerts');
  await expect(page.locator(`tr.rule[data-rule="${RULE}"]`)).toBeVisible();
  await expect(page.locator('form.rule-form')).toHaveCount(0);
  await expect(page.locator('.readonly')).toBeVisible();
  await expect(page.locator('button:has-text("Acknowledge"), button:has-text("Silence 1 h")')).toHaveCount(0);
  await shot(page, 'alerts-viewer');
  const status = await page.evaluate(async (c) => {
    const post = (p: string, b: unknown) =>
      fetch(p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(b) }).then((r) => r.status);
    return {
      read: await fetch('/api/v1/alerts/status').then((r) => r.status),
      create: await post('/api/v1/alerts/rules', {
        name: 'viewer-rule',
        condition: { metric: { metric: 'syscall.errors', filters: [{ eq: ['container.name', c] }], time_agg: 'sum', group_agg: 'sum', op: '>', threshold: 1 } },
      }),
      silence: await post('/api/v1/alerts/silences', { rule: 'ctr-errors', until_ms: Date.now() + 60_000 }),
      capture: await post('/api/v1/captures', { host: 'ui-host' }),
    };
  }, container);
  expect(status).toEqual({ read: 200, create: 403, silence: 403, capture: 403 });
  await page.goto('/#/captures');
  await expect(page.locator('tr.capture[data-state="stored"] a.download')).toHaveCount(1);
});

test('a request without a session is refused', async ({ request }) => {
  expect((await request.get('/api/v1/alerts/status')).status()).toBe(401);
  expect((await request.get('/api/v1/captures')).status()).toBe(401);
  const rule = { name: 'anon', condition: { check_critical: {} } };
  expect((await request.post('/api/v1/alerts/rules', { data: rule })).status()).toBe(401);
});
