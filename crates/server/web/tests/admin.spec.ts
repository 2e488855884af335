// The Admin page, driven in headless Chromium against a real sonde-server
// with a synthetic fleet (namespaces shop, billing, search, ops) and the
// users val (viewer), edna (editor) and rita (viewer); started by
// crates/server/tests/web_teams.rs, which then checks the server's state.
import { expect, Page, test } from '@playwright/test';

const shots = process.env.SONDE_SCREENSHOTS || 'test-results';
const shot = (page: Page, name: string) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

async function login(page: Page, user: string, password: string) {
  await page.goto('/');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await expect(page.locator('header .me')).toContainText(user);
}

async function logout(page: Page) {
  await page.click('header button:has-text("Log out")');
  await expect(page.locator('input[name=password]')).toBeVisible();
}

test('an admin makes a team and a user in it, who sees only its namespace', async ({ page }) => {
  await login(page, 'admin', process.env.SONDE_ADMIN_PASSWORD || '');
  await page.click('header nav a:has-text("Admin")');
  const users = page.locator('[data-section=users]');
  const teams = page.locator('[data-section=teams]');
  const tokens = page.locator('[data-section=tokens]');
  await expect(users.locator('tr.user')).toHaveCount(4);

  // a team with a namespace, then a user in it
  await teams.locator('input[name=new-team-name]').fill('shop-team');
  await teams.locator('input[name=new-team-namespaces]').fill('shop');
  await teams.locator('button:has-text("Create team")').click();
  const team = teams.locator('tr.team[data-name="shop-team"]');
  await expect(team.locator('input[name=namespaces]')).toHaveValue('shop');
  await users.locator('input[name=new-user]').fill('sam');
  await users.locator('input[name=new-password]').fill('sam-pa55word');
  await users.locator('select[name=new-role]').selectOption('viewer');
  await users.locator('select[name=new-team]').selectOption('shop-team');
  await users.locator('button:has-text("Create user")').click();
  const sam = users.locator('tr.user[data-name="sam"]');
  await expect(sam.locator('select[name=team]')).toHaveValue('shop-team');
  await expect(team.locator('[data-member="sam"]')).toBeVisible();
  // its role changes
  await sam.locator('select[name=role]').selectOption('editor');
  await expect(page.locator('.note')).toHaveText('changed sam');
  await expect(sam.locator('select[name=role]')).toHaveValue('editor');

  // a member added and taken out again; a user deleted
  await team.locator('select[name=add-member]').selectOption('rita');
  await expect(team.locator('[data-member="rita"]')).toBeVisible();
  await team.locator('[data-member="rita"] button').click();
  await expect(team.locator('[data-member="rita"]')).toHaveCount(0);
  await expect(users.locator('tr.user[data-name="rita"] select[name=team]')).toHaveValue('');
  const rita = users.locator('tr.user[data-name="rita"]');
  await rita.locator('button:has-text("Delete")').click();
  await rita.locator('button:has-text("Confirm delete")').click();
  await expect(rita).toHaveCount(0);
  // a team with a member cannot go
  await team.locator('button:has-text("Delete")').click();
  await team.locator('button:has-text("Confirm delete")').click();
  await expect(page.locator('.error')).toContainText("user 'sam' is in team 'shop-team'");

  // a token: its secret once, the list without it
  await tokens.locator('select[name=token-role]').selectOption('viewer');
  await tokens.locator('button:has-text("Create token")').click();
  const secret = await tokens.locator('.token-secret').textContent();
  expect(secret).toMatch(/^sonde_[0-9a-f]{48}$/);
  await expect(tokens.locator('tr.token')).toHaveCount(1);
  await expect(tokens.locator('table')).not.toContainText(secret || 'x');
  const read = await page.evaluate((t) => fetch('/api/v1/hosts', { credentials: 'omit', headers: { Authorization: `Bearer ${t}` } }).then((r) => r.status), secret);
  expect(read).toBe(200);
  await shot(page, 'admin');
  await page.reload();
  await expect(tokens.locator('tr.token')).toHaveCount(1);
  await expect(page.locator('.token-secret')).toHaveCount(0);
  await tokens.locator('tr.token button:has-text("Revoke")').click();
  await tokens.locator('tr.token button:has-text("Confirm revoke")').click();
  await expect(tokens.locator('tr.token')).toHaveCount(0);
  const after = await page.evaluate((t) => fetch('/api/v1/hosts', { credentials: 'omit', headers: { Authorization: `Bearer ${t}` } }).then((r) => r.status), secret);
  expect(after).toBe(401);
  await logout(page);

  // sam sees only shop in Explore, and no Admin page
  await login(page, 'sam', 'sam-pa55word');
  await expect(page.locator('header .me')).toContainText('team shop-team');
  await expect(page.locator('header nav a:has-text("Admin")')).toHaveCount(0);
  await page.goto('/#/explore?preset=logical&range=15m');
  const ns = page.locator('table.grid[data-level="k8s.ns.name"] tr.row');
  await expect(ns).toHaveCount(1);
  await expect(ns.first()).toHaveAttribute('data-name', 'shop');
  await shot(page, 'admin-team-explore');
  expect(await page.evaluate(() => fetch('/api/v1/users').then((r) => r.status))).toBe(403);
});

for (const who of ['SONDE_VIEWER', 'SONDE_EDITOR']) {
  test(`no Admin page for ${who === 'SONDE_VIEWER' ? 'a viewer' : 'an editor'}`, async ({ page }) => {
    const [user, pw] = (process.env[who] || ':').split(':');
    await login(page, user, pw);
    await expect(page.locator('header nav a')).not.toHaveCount(0);
    await expect(page.locator('header nav a:has-text("Admin")')).toHaveCount(0);
    await page.goto('/#/admin');
    await expect(page.locator('main .error')).toContainText("no page 'admin'");
    const status = await page.evaluate(async () => {
      const call = (m: string, p: string, b?: unknown) =>
        fetch(p, { method: m, headers: { 'Content-Type': 'application/json' }, body: b === undefined ? undefined : JSON.stringify(b) }).then((r) => r.status);
      return [
        await call('GET', '/api/v1/users'),
        await call('POST', '/api/v1/users', { name: 'mallory', password: 'mallory-pw-1', role: 'admin' }),
        await call('PUT', '/api/v1/users/val', { role: 'admin' }),
        await call('GET', '/api/v1/teams'),
        await call('PUT', '/api/v1/teams/evil', { namespaces: ['shop'] }),
      ];
    });
    expect(status).toEqual([403, 403, 403, 403, 403]);
  });
}
