// Explore down to a process and the Live page, in headless Chromium
// against a real sonde-server fed by a real agent with a podman workload
// (crates/server/tests/web_live.rs starts them all).
import { expect, Page, test } from '@playwright/test';

const shots = process.env.SONDE_SCREENSHOTS || 'test-results';
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const env = (k: string) => process.env[k] || '';

test('a viewer drills to a process and opens its container live tables', async ({ page }) => {
  const [user, pw] = env('SONDE_VIEWER').split(':');
  await page.goto('/');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', pw);
  await page.click('button[type=submit]');
  await expect(page.locator('header .me')).toContainText(user);

  await page.goto('/#/explore?preset=logical&range=5m');
  const level = (tag: string) => page.locator(`table.grid[data-level="${tag}"] tr.row`);
  await page.locator(`table.grid[data-level="k8s.ns.name"] tr.row[data-name="${env('SONDE_NS')}"]`).click();
  await page.locator(`table.grid[data-level="k8s.deployment.name"] tr.row[data-name="${env('SONDE_DEP')}"]`).click();
  await page.locator(`table.grid[data-level="k8s.pod.name"] tr.row[data-name="${env('SONDE_POD')}"]`).click();
  const ctr = page.locator(`table.grid[data-level="container.name"] tr.row[data-name="${env('SONDE_CTR')}"]`);
  await expect(ctr.locator('a.live')).toBeVisible();
  await ctr.click();
  // the container's processes, with their key metrics
  const proc = level('proc.name').and(page.locator(`[data-name="${env('SONDE_PROC')}"]`));
  await expect(proc.first()).toBeVisible();
  await expect(proc.first().locator('td.num').nth(1)).not.toHaveText('–');
  await expect(page.locator('.crumbs')).toContainText(env('SONDE_POD'));
  await shot(page, 'explore-processes');

  // its live tables: processes, then connections
  await page.click('.crumbs a.live-link');
  await expect(page).toHaveURL(/#\/live\?host=.+&container=[0-9a-f]+&view=procs/);
  const rows = page.locator('table.grid.live[data-view="procs"] tr.lrow');
  await expect(rows.filter({ hasText: env('SONDE_PROC') }).first()).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('.status')).toContainText('live from');
  await shot(page, 'live-procs');
  await page.selectOption('select[name=view]', 'connections');
  const conn = page.locator(`table.grid.live[data-view="connections"] tr.lrow[data-key*=":${env('SONDE_LIVE_PORT')}"]`);
  await expect(conn.first()).toBeVisible({ timeout: 30_000 });
  await shot(page, 'live-connections');
});
