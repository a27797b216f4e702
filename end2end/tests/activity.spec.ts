import { test, expect } from '@playwright/test';
import { callbackServer, createApp, createUser, gatehouse, open, pkce, settle, signIn, signUp, uniqueUser } from './helpers';

// What a person and staff see of the audit trail.

test('the activity page shows a sign-in, a name change and an allowed app', async ({ page, browser }, testInfo) => {
  const user = createUser(testInfo, 'act');
  const app = createApp(testInfo, 'Activity');
  const callback = await callbackServer();
  try {
    // Someone else tries a wrong password for this account first.
    const other = await browser.newContext({ javaScriptEnabled: testInfo.project.name === 'hydrated' });
    const stranger = await other.newPage();
    await signIn(stranger, testInfo, user.username, 'not the password at all');
    await expect(stranger.getByText('do not match an account')).toBeVisible();
    await other.close();

    await signIn(page, testInfo, user.username, user.password);
    await expect(page).toHaveURL(/\/accounts\/profile\/$/);
    await settle(page, testInfo);
    await page.getByLabel('First name').fill('Ada');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('Your profile was saved.')).toBeVisible();
    await settle(page, testInfo);

    const { challenge } = pkce();
    const q = new URLSearchParams({
      response_type: 'code', client_id: app.clientId, redirect_uri: callback.url,
      scope: 'read', state: 's1', code_challenge: challenge, code_challenge_method: 'S256',
    });
    await page.goto(`/o/authorize/?${q}`);
    await settle(page, testInfo);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${callback.url}?**`);
  } finally {
    await callback.close();
  }

  await open(page, '/accounts/profile/', testInfo);
  await page.getByRole('link', { name: 'Activity' }).click();
  await expect(page).toHaveURL(/\/accounts\/activity\/$/);
  await settle(page, testInfo);
  await expect(page.getByRole('heading', { name: 'Account activity' })).toBeVisible();
  const events = page.locator('ol.events > li');
  // Newest first, in words, with where from and which browser.
  await expect(events.nth(0)).toContainText(`Allowed an app (${app.clientId}) from 127.0.0.1`);
  await expect(events.nth(0)).toContainText('scopes: read');
  await expect(events.nth(1)).toContainText('Profile changed from 127.0.0.1');
  await expect(events.nth(1)).toContainText('changed name');
  await expect(events.nth(2)).toContainText(/Signed in from 127\.0\.0\.1, (Headless )?Chrom(e|ium) on Linux/);
  await expect(events.nth(3)).toContainText('Failed sign-in from 127.0.0.1');
  // The account was made on the command line.
  await expect(events.nth(4)).toContainText('Account created on the command line');
  await expect(events).toHaveCount(5);
});

test('staff search the audit trail; others get a missing page', async ({ page }, testInfo) => {
  const staff = uniqueUser(testInfo, 'aud');
  gatehouse(['createsuperuser', '--username', staff.username, '--email', staff.email, '--password-stdin'], `${staff.password}\n`);
  const person = uniqueUser(testInfo, 'audp');
  await signUp(page, testInfo, person);
  const missing = await page.goto('/admin/audit/');
  expect(missing?.status()).toBe(404);

  await page.context().clearCookies();
  await signIn(page, testInfo, staff.username, staff.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await open(page, '/admin/', testInfo);
  await page.getByRole('link', { name: 'Audit trail' }).click();
  await settle(page, testInfo);
  await page.getByRole('textbox', { name: 'Account', exact: true }).fill(person.username);
  await page.getByLabel('Event', { exact: true }).selectOption('signed_up');
  await page.getByRole('button', { name: 'Search' }).click();
  await settle(page, testInfo);
  const rows = page.locator('table.events tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('signed_up');
  await expect(rows.first()).toContainText(person.username);
  // The search is kept in the form.
  await expect(page.getByRole('textbox', { name: 'Account', exact: true })).toHaveValue(person.username);

  await page.getByLabel('From', { exact: true }).fill('2999-01-01');
  await page.getByRole('button', { name: 'Search' }).click();
  await settle(page, testInfo);
  await expect(page.getByText('No event matches.')).toBeVisible();
});
