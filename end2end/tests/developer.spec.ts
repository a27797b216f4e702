import { test, expect } from '@playwright/test';
import { allowApp, callbackServer, createApp, createUser, gatehouse, settle, signIn, uniqueUser } from './helpers';

// The developer portal, authorized apps and the admin page, as people use
// them in the browser (hydrated, and with JavaScript off).

test('a developer registers an app, copies its credentials, tries the flow and rotates the secret', async ({ page, request, context }, testInfo) => {
  const dev = createUser(testInfo, 'dev');
  await signIn(page, testInfo, dev.username, dev.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await page.getByRole('link', { name: 'Your apps' }).click();
  await expect(page).toHaveURL(/\/o\/applications\/$/);
  await page.getByRole('link', { name: 'Register a new application' }).click();
  await expect(page).toHaveURL(/\/o\/applications\/register\/$/);
  await settle(page, testInfo);

  // A first try with a bad redirect URI: the error shows beside the field, the rest is kept.
  const name = `Notebook ${testInfo.project.name} ${Date.now().toString(36)}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Client type').selectOption('confidential');
  await page.getByLabel(/^Client credentials/).check();
  await page.getByLabel('Redirect URIs', { exact: true }).fill('http://app.example.org/callback');
  await page.getByLabel('Signing algorithm').selectOption('ES256');
  await page.getByRole('button', { name: 'Register' }).click();
  await settle(page, testInfo);
  await expect(page.locator('#redirect_uris-error')).toContainText('http://app.example.org/callback');
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(page.getByLabel(/^Client credentials/)).toBeChecked();

  await page.getByLabel('Redirect URIs', { exact: true }).fill('https://app.example.org/callback');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/o\/applications\/\d+\/$/);
  await settle(page, testInfo);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(page.getByText('it will not be shown again')).toBeVisible();
  const clientId = await page.getByLabel('Client ID', { exact: true }).inputValue();
  const secret = await page.getByLabel('Client secret', { exact: true }).inputValue();
  expect(secret).toHaveLength(43);
  if (testInfo.project.name === 'hydrated') {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    // The button names the value it copies; "Copied" is announced once
    // the clipboard has it.
    const copy = page.locator('.notice-secret').getByRole('button', { name: 'Copy Client secret' });
    await expect(page.locator('.notice-secret').getByRole('status')).toHaveText('');
    await copy.click();
    await expect(page.locator('.notice-secret').getByRole('status')).toHaveText('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  }
  const appUrl = page.url();

  // Try it: add Gatehouse's playground callback, build the request, follow it.
  await page.getByRole('button', { name: 'Add playground callback' }).click();
  await expect(page).toHaveURL(appUrl);
  await settle(page, testInfo);
  await expect(page.getByText('it will not be shown again')).toHaveCount(0);
  await expect(page.getByLabel('Redirect URI', { exact: true })).toHaveValue(/\/o\/playground\/callback\/$/);
  await page.getByLabel('Scope', { exact: true }).fill('openid profile read');
  await page.getByRole('button', { name: 'Build authorization URL' }).click();
  await settle(page, testInfo);
  await page.getByRole('link', { name: 'Open the authorization URL' }).click();
  await expect(page).toHaveURL(/\/o\/authorize\/\?/);
  await settle(page, testInfo);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(name);
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect(page).toHaveURL(/\/o\/playground\/callback\/\?code=/);
  await settle(page, testInfo);
  await page.getByLabel('Client secret', { exact: true }).fill(secret);
  await page.getByRole('button', { name: 'Exchange code' }).click();
  await settle(page, testInfo);
  await expect(page.getByRole('heading', { name: 'id_token claims' })).toBeVisible();
  const claims = JSON.parse(await page.locator('#id_token_claims').innerText());
  expect(claims.preferred_username).toBe(dev.username);
  expect(claims.aud).toBe(clientId);
  expect(claims.nonce).toBeTruthy();
  const tokens = JSON.parse(await page.locator('#token_response').innerText());
  expect(tokens.scope).toBe('openid profile read');
  const userinfo = JSON.parse(await page.locator('#userinfo').innerText());
  expect(userinfo.sub).toBe(claims.sub);

  // Rotate: the new secret is shown once; the old one is refused at /o/token/.
  await page.goto(appUrl);
  await settle(page, testInfo);
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await expect(page).toHaveURL(appUrl);
  await settle(page, testInfo);
  const rotated = await page.getByLabel('Client secret', { exact: true }).inputValue();
  expect(rotated).not.toBe(secret);
  const asClient = (s: string) =>
    request.post('/o/token/', {
      headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${s}`).toString('base64')}` },
      form: { grant_type: 'client_credentials', scope: 'read' },
    });
  const old = await asClient(secret);
  expect(old.status()).toBe(401);
  expect((await old.json()).error).toBe('invalid_client');
  expect((await asClient(rotated)).status()).toBe(200);
});

test('a person sees an app they allowed and revokes it; its token is then inactive', async ({ page, request }, testInfo) => {
  const callback = await callbackServer();
  try {
    const user = createUser(testInfo, 'granter');
    const app = createApp(testInfo, 'Plotter');
    const { code, verifier } = await allowApp(page, testInfo, user, app, callback.url);
    const basic = `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`;
    const tokens = await (await request.post('/o/token/', {
      headers: { Authorization: basic },
      form: { grant_type: 'authorization_code', code, redirect_uri: callback.url, code_verifier: verifier },
    })).json();
    const introspect = async () => (await request.post('/o/introspect/', {
      headers: { Authorization: basic }, form: { token: tokens.access_token },
    })).json();
    expect((await introspect()).active).toBe(true);

    await page.goto('/o/authorized_tokens/');
    await settle(page, testInfo);
    const row = page.locator('li.grant', { hasText: app.name });
    await expect(row).toBeVisible();
    await expect(row.getByText('Read your account details')).toBeVisible();
    await row.getByRole('button', { name: `Revoke ${app.name}` }).click();
    await settle(page, testInfo);
    await expect(page.getByText(`Access for ${app.name} was revoked.`)).toBeVisible();
    await expect(page.locator('li.grant', { hasText: app.name })).toHaveCount(0);
    expect(await introspect()).toEqual({ active: false });
  } finally {
    await callback.close();
  }
});

test('staff deactivate an account; its token fails at /profile/ at once', async ({ page, request }, testInfo) => {
  const staff = uniqueUser(testInfo, 'staff');
  gatehouse(['createsuperuser', '--username', staff.username, '--email', staff.email, '--password-stdin'], `${staff.password}\n`);
  const user = createUser(testInfo, 'member');
  const app = JSON.parse(gatehouse([
    'app', 'create', '--name', `Script ${testInfo.project.name}`, '--client-type', 'confidential',
    '--grant-types', 'password', '--scopes', 'read', '--json',
  ]));
  const token = await (await request.post('/o/token/', {
    headers: { Authorization: `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}` },
    form: { grant_type: 'password', username: user.username, password: user.password },
  })).json();
  const profile = () => request.get('/profile/', { headers: { Authorization: `Bearer ${token.access_token}` } });
  expect((await profile()).status()).toBe(200);

  await signIn(page, testInfo, staff.username, staff.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await page.getByRole('link', { name: 'Admin' }).click();
  await expect(page).toHaveURL(/\/admin\/$/);
  await settle(page, testInfo);
  await page.getByLabel('Search').fill(user.username);
  await page.getByRole('button', { name: 'Search' }).click();
  await settle(page, testInfo);
  const row = page.locator(`tr[data-username="${user.username}"]`);
  await expect(row).toContainText('active');
  await row.getByRole('button', { name: `Deactivate ${user.username}` }).click();
  await settle(page, testInfo);
  await expect(page.locator(`tr[data-username="${user.username}"]`)).toContainText('deactivated');

  const refused = await profile();
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error).toBe('invalid_token');
});
