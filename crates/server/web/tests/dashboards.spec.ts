// Saved dashboards, driven in headless Chromium against a real
// sonde-server with a synthetic fleet (crates/server/tests/web_ui.rs):
// an editor makes one with two panels and saves it; its URL opened by a
// viewer shows the same panels without the controls to change it, and
// the server refuses the viewer's save.
import { Browser, expect, Page, test } from '@playwright/test';

const shots = process.env.SONDE_SCREENSHOTS || 'test-results';
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

async function session(browser: Browser, who: string): Promise<Page> {
  const [user, password] = (process.env[who] || ':').split(':');
  const page = await (await browser.newContext()).newPage();
  await page.goto('/');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await expect(page.locator('header .me')).toContainText(user);
  return page;
}

async function fillPanel(page: Page, i: number, p: Record<string, string>) {
  const row = page.locator(`.panel-edit[data-index="${i}"]`);
  await row.locator('input[name=title]').fill(p.title);
  await row.locator('select[name=kind]').selectOption(p.kind);
  await row.locator('input[name=metric]').fill(p.metric);
  await row.locator('input[name=filters]').fill(p.filters);
  await row.locator('input[name=group_by]').fill(p.group_by);
  await row.locator('select[name=agg]').selectOption(p.agg);
}

test('an editor saves a dashboard; a viewer opens its link but cannot save', async ({ browser }) => {
  const ed = await session(browser, 'SONDE_EDITOR');
  await ed.goto('/#/dashboard?range=15m');
  await ed.locator('select[name=preset]').selectOption('id:new');
  await expect(ed).toHaveURL(/#\/dashboard\?id=new/);
  await ed.fill('form.dash-edit input[name=name]', 'Shop web');
  await fillPanel(ed, 0, {
    title: 'Shop CPU by pod',
    kind: 'series',
    metric: 'cpu.user',
    filters: 'scope=container, k8s.ns.name=shop',
    group_by: 'k8s.pod.name',
    agg: 'avg',
  });
  await ed.click('button.add-panel');
  await fillPanel(ed, 1, {
    title: 'Busiest deployments',
    kind: 'top',
    metric: 'http.requests',
    filters: 'scope=container',
    group_by: 'k8s.deployment.name',
    agg: 'rate',
  });
  await expect(ed.locator('.panel')).toHaveCount(2);
  await shot(ed, 'dashboard-edit');
  await ed.click('form.dash-edit button.save');
  await expect(ed).toHaveURL(/#\/dashboard\?id=[0-9a-f]{16}&range=15m/);
  await expect(ed.locator('form.dash-edit')).toHaveCount(0);
  await expect(ed.locator('h2.dash-name')).toContainText('Shop web');
  await expect(ed.locator('select[name=preset] option:checked')).toHaveText('Shop web');
  const cpu = ed.locator('.panel[data-title="Shop CPU by pod"] .chart');
  await expect(cpu.locator('canvas')).toBeVisible();
  expect(Number(await cpu.getAttribute('data-points'))).toBeGreaterThan(10);
  const top = ed.locator('.panel.top[data-title="Busiest deployments"] tr');
  await expect(top.first()).toContainText('-');
  expect(await top.count()).toBeGreaterThan(1);
  await ed.locator('select[name=range]').selectOption('1h');
  await expect(ed).toHaveURL(/range=1h/);
  const shared = ed.url();
  await shot(ed, 'dashboard-saved');

  // the same link, another user: the same panels, no controls to change them
  const viewer = await session(browser, 'SONDE_VIEWER');
  await viewer.goto(shared);
  await expect(viewer.locator('h2.dash-name')).toContainText('Shop web');
  await expect(viewer.locator('.panel')).toHaveCount(2);
  await expect(viewer.locator('.panel').nth(0)).toHaveAttribute('data-title', 'Shop CPU by pod');
  await expect(viewer.locator('.panel').nth(1)).toHaveAttribute('data-title', 'Busiest deployments');
  await expect(viewer.locator('.panel[data-title="Shop CPU by pod"] canvas')).toBeVisible();
  await expect(viewer.locator('select[name=range]')).toHaveValue('1h');
  await expect(viewer.locator('button.edit')).toHaveCount(0);
  await expect(viewer.locator('button.delete')).toHaveCount(0);
  await expect(viewer.locator('option[value="id:new"]')).toHaveCount(0);
  const id = /id=([0-9a-f]+)/.exec(shared)?.[1];
  const status = await viewer.evaluate(async (id) => {
    const send = (method: string, path: string, b?: unknown) =>
      fetch(path, { method, headers: { 'Content-Type': 'application/json' }, body: b && JSON.stringify(b) }).then((r) => r.status);
    const spec = { name: 'mine now', panels: [] };
    return {
      read: await send('GET', `/api/v1/dashboards/${id}`),
      save: await send('PUT', `/api/v1/dashboards/${id}`, spec),
      create: await send('POST', '/api/v1/dashboards', spec),
      delete: await send('DELETE', `/api/v1/dashboards/${id}`),
    };
  }, id);
  expect(status).toEqual({ read: 200, save: 403, create: 403, delete: 403 });
  await viewer.reload();
  await expect(viewer.locator('.panel')).toHaveCount(2);
  await shot(viewer, 'dashboard-shared-viewer');

  // the editor edits: a panel fewer, saved, the viewer's reload follows
  await ed.click('button.edit');
  await ed.locator('.panel-edit[data-index="1"] button.remove').click();
  await ed.click('form.dash-edit button.save');
  await expect(ed.locator('form.dash-edit')).toHaveCount(0);
  await expect(ed.locator('.panel')).toHaveCount(1);
  await viewer.reload();
  await expect(viewer.locator('.panel')).toHaveCount(1);
  await expect(viewer.locator('h2.dash-name .muted')).toContainText('by');
});
