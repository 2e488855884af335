// The pages, driven in headless Chromium against a real sonde-server with
// a synthetic fleet ingested (crates/server/tests/web_ui.rs starts both).
import { expect, Page, test } from '@playwright/test';

const shots = process.env.SONDE_SCREENSHOTS || 'test-results';
const shot = async (page: Page, name: string) => {
  await page.mouse.move(0, 0); // no hover effects in the picture
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
};

/**
 * The topology map's labels: every node label, edge label and node
 * circle on the page; no two may intersect, and every edge has its label
 * drawn (these maps are small enough for all of them).
 */
async function labelsApart(page: Page) {
  const boxes = await page.evaluate(() =>
    Array.from(document.querySelectorAll('svg.graph .nlabel, svg.graph .elabel, svg.graph .node circle')).map((el) => {
      const r = el.getBoundingClientRect();
      const g = el.closest('g');
      const who = g?.getAttribute('data-id') || `${g?.getAttribute('data-from')}->${g?.getAttribute('data-to')}`;
      return { what: `${el.getAttribute('class') || el.tagName} ${who}`, x: r.x, y: r.y, w: r.width, h: r.height };
    }),
  );
  const edges = await page.locator('svg.graph g.edge').count();
  expect(boxes.filter((b) => b.what.startsWith('elabel')).length).toBe(edges);
  expect(boxes.filter((b) => b.what.startsWith('nlabel')).length).toBeGreaterThan(1);
  const hit = (a: (typeof boxes)[0], b: (typeof boxes)[0]) =>
    a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5;
  const overlaps: string[] = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => hit(a, b) && overlaps.push(`${a.what} / ${b.what}`)));
  expect(overlaps).toEqual([]);
}

async function login(page: Page, user: string, password: string) {
  await page.goto('/');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await expect(page.locator('header .me')).toContainText(user);
}

test('a request without a session is refused', async ({ page, request }) => {
  const r = await request.get('/api/v1/hosts');
  expect(r.status()).toBe(401);
  await page.goto('/#/explore');
  await expect(page.locator('form button[type=submit]')).toHaveText('Log in');
  await page.fill('input[name=user]', 'admin');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button[type=submit]');
  await expect(page.locator('.error')).toContainText('wrong user name or password');
  await shot(page, 'login');
});

test('admin explores, drills down and opens a dashboard', async ({ page }) => {
  await login(page, 'admin', process.env.SONDE_ADMIN_PASSWORD || '');
  await page.goto('/#/explore?preset=logical&range=15m');
  const level = (tag: string) => page.locator(`table.grid[data-level="${tag}"] tr.row`);
  await expect(level('k8s.ns.name')).toHaveCount(4);
  await expect(level('k8s.ns.name').first().locator('td.num').first()).not.toHaveText('–');
  await shot(page, 'explore-namespaces');
  await page.locator('tr.row[data-name="shop"]').click();
  await expect(level('k8s.deployment.name').first()).toBeVisible();
  await page.locator('tr.row[data-name="shop-web"]').click();
  await expect(level('k8s.pod.name').first()).toBeVisible();
  const pods = await level('k8s.pod.name').count();
  expect(pods).toBeGreaterThan(0);
  await level('k8s.pod.name').first().click();
  await expect(level('container.name')).toHaveCount(2);
  await expect(page.locator('.crumbs')).toContainText('shop-web');
  await shot(page, 'explore-containers');
  // a container row links to its live tables (its host and id) and its dashboard
  const app = page.locator('tr.row[data-name="app"]');
  await expect(app.locator('a.live')).toHaveAttribute('href', /#\/live\?host=node-\d+&container=[0-9a-f]+&view=procs/);
  await app.locator('a.dash').click();
  await expect(page).toHaveURL(/#\/dashboard\?.*container\.name%3Dapp/);
  const cpu = page.locator('.panel[data-title="CPU"] .chart');
  await expect(cpu.locator('canvas')).toBeVisible();
  expect(Number(await cpu.getAttribute('data-points'))).toBeGreaterThan(10);
  const lat = page.locator('.panel[data-title="HTTP p95 latency"] .chart');
  await expect(lat.locator('canvas')).toBeVisible();
  await expect(page.locator('.panel.top tr').first()).toContainText('nginx');
  // the state is in the URL: reloading it draws the same dashboard
  await page.reload();
  await expect(page.locator('.panel[data-title="CPU"] canvas')).toBeVisible();
  await shot(page, 'dashboard');

  await page.click('header nav a:has-text("Events")');
  await expect(page.locator('tr.event').first()).toBeVisible();
  await expect(page.locator('table.grid')).toContainText('check');
  await shot(page, 'events');

  await page.click('header nav a:has-text("Hosts")');
  await expect(page.locator('tr.host')).toHaveCount(3);
  await expect(page.locator('tr.host[data-agent="node-000"] .badge')).toHaveText('ok');
  await shot(page, 'hosts');

  // the topology map: hosts call the next one round the ring; drill from
  // namespaces into one, the others folded
  await page.click('header nav a:has-text("Topology")');
  await expect(page.locator('svg.graph g.node.group')).toHaveCount(3);
  await expect(page.locator('svg.graph g.edge')).toHaveCount(3);
  // (every host listens on port 80: which end is the client is a guess)
  const ring = page.locator('g.elabel-g[data-from="node-000"][data-to="node-001"], g.elabel-g[data-from="node-001"][data-to="node-000"]');
  await expect(ring).toContainText('conn');
  await labelsApart(page);
  await shot(page, 'topology-hosts');
  // every pod of the fleet: twelve, calling round a ring
  await page.goto('/#/topology?preset=logical&depth=2&range=15m');
  await expect(page.locator('svg.graph g.node.group')).toHaveCount(12);
  await shot(page, 'topology-all-pods');
  await labelsApart(page);
  await page.goto('/#/topology?preset=logical&range=15m');
  await expect(page.locator('svg.graph g.node.group')).toHaveCount(4);
  await expect(page.locator('svg.graph g.node[data-id="shop"] .rates')).toContainText('req/s');
  await shot(page, 'topology-namespaces');
  await labelsApart(page);
  await page.locator('g.node[data-id="shop"]').click();
  await expect(page).toHaveURL(/scope=k8s.ns.name%3Dshop/);
  await expect(page.locator('.crumbs')).toContainText('shop');
  await expect(page.locator('svg.graph g.node.outside').first()).toBeVisible();
  await expect(page.locator('svg.graph g.elabel-g').first()).toBeVisible();
  await shot(page, 'topology');
  await labelsApart(page);
  // the pods of a deployment, its callers and callees folded by namespace
  await page.locator('g.node[data-id="shop-web"]').click();
  await expect(page).toHaveURL(/scope=k8s.deployment.name%3Dshop-web/);
  await expect(page.locator('svg.graph g.node.group')).toHaveCount(3);
  await expect(page.locator('svg.graph g.node.group').first()).toHaveAttribute('data-id', /^shop-web-/);
  await shot(page, 'topology-pods');
  await labelsApart(page);

  await page.click('header button:has-text("Log out")');
  await expect(page.locator('input[name=password]')).toBeVisible();
  expect((await page.request.get('/api/v1/hosts')).status()).toBe(401);
});

test('the topology map shows only the answer to its own route', async ({ page }) => {
  await login(page, 'admin', process.env.SONDE_ADMIN_PASSWORD || '');
  const groups = page.locator('svg.graph g.node.group');
  await page.goto('/#/topology?preset=logical&depth=2&range=15m');
  await expect(groups).toHaveCount(12);
  // the namespaces' answer is held back: while it is on the way, the
  // pods' map must not stand in for it
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  const namespaces = /\/api\/v1\/topology\?level=k8s\.ns\.name&/;
  await page.route(namespaces, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto('/#/topology?preset=logical&range=15m');
  await expect(page.locator('.topology .loading')).toBeVisible();
  await expect(page.locator('svg.graph')).toHaveCount(0);
  // back to the pods (answered at once); the namespaces' answer then
  // arrives late and must be dropped
  await page.goto('/#/topology?preset=logical&depth=2&range=15m');
  await expect(groups).toHaveCount(12);
  const late = page.waitForResponse(namespaces);
  release();
  await late;
  await page.waitForTimeout(500);
  await expect(groups).toHaveCount(12);
  await expect(page.locator('.topology .loading')).toHaveCount(0);
});

test('a viewer reads but cannot write', async ({ page }) => {
  const [user, pw] = (process.env.SONDE_VIEWER || ':').split(':');
  await login(page, user, pw);
  await expect(page.locator('header .me .badge')).toHaveText('viewer');
  const status = await page.evaluate(async () => {
    const post = (p: string, b: unknown) =>
      fetch(p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(b) }).then((r) => r.status);
    return {
      read: await fetch('/api/v1/hosts').then((r) => r.status),
      user: await post('/api/v1/users', { name: 'mallory', password: 'mallory-pw-1', role: 'admin' }),
      token: await post('/api/v1/tokens', { role: 'viewer' }),
    };
  });
  expect(status).toEqual({ read: 200, user: 403, token: 403 });
});
