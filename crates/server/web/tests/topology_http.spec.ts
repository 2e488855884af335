// The topology map's edges labelled with the HTTP requests that went over
// them, in headless Chromium against a real sonde-server fed by a real
// agent watching two podman containers (crates/server/tests/topology_http.rs
// starts them all): the host, drilled into, shows the client container's
// edge to the server container with its requests/s, p95 and 5xx/s, and
// the edge's tooltip tells the request and error counts.
import { expect, Page, test } from '@playwright/test';

const shots = process.env.SONDE_SCREENSHOTS || 'test-results';
const env = (k: string) => process.env[k] || '';
const shot = async (page: Page, name: string) => {
  await page.mouse.move(0, 0); // no hover effects in the picture
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
};

test('an edge tells the HTTP requests over it', async ({ page }) => {
  await page.goto('/');
  await page.fill('input[name=user]', 'admin');
  await page.fill('input[name=password]', env('SONDE_ADMIN_PASSWORD'));
  await page.click('button[type=submit]');
  await expect(page.locator('header .me')).toContainText('admin');

  await page.goto('/#/topology?preset=physical&range=15m');
  await page.locator(`g.node[data-id="${env('SONDE_HOST')}"]`).click();
  await expect(page).toHaveURL(/scope=host.hostname%3D/);
  const sel = `[data-from="${env('SONDE_CLI')}"][data-to="${env('SONDE_SRV')}"]`;
  const label = page.locator(`g.elabel-g${sel} text.elabel`);
  await expect(label).toBeVisible();
  // requests/s, p95 and 5xx/s, not bytes
  await expect(label).toContainText(/req\/s · p95 \d+(\.\d)? ms · 5xx [\d.]+ \/s/);
  await expect(label).not.toContainText('conn');
  const title = await page.locator(`g.edge${sel} > title`).textContent();
  expect(title).toContain(`(${env('SONDE_REQUESTS')} requests)`);
  expect(title).toContain('5xx 10');
  expect(title).toContain('4xx 10');
  await shot(page, 'topology-edges');
});
