import { test, expect } from '@playwright/test';
import { callbackServer, createApp, createUser, pkce, settle } from './helpers';

// A client app sends a person to /o/authorize/; the person signs in,
// decides on the consent page, and the browser lands on the app's
// redirect URI (a small listener started by the test).

let callback: Awaited<ReturnType<typeof callbackServer>>;
test.beforeEach(async () => {
  callback = await callbackServer();
});
test.afterEach(async () => {
  await callback.close();
});

function authorizeUrl(clientId: string, challenge: string, state: string) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: callback.url,
    scope: 'read write',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return `/o/authorize/?${q}`;
}

test('a signed-out person authorizes an app, which exchanges the code for tokens; the second time skips consent', async ({ page, request }, testInfo) => {
  const user = createUser(testInfo, 'consent');
  const app = createApp(testInfo, 'Notebook');
  const { verifier, challenge } = pkce();

  await page.goto(authorizeUrl(app.clientId, challenge, 'xyz-1'));
  await expect(page).toHaveURL(/\/accounts\/login\/\?next=/);
  await settle(page, testInfo);
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page).toHaveURL(/\/o\/authorize\/\?/);
  await settle(page, testInfo);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(app.name);
  await expect(page.getByText('Read your account details')).toBeVisible();
  await expect(page.getByText('Change your account details')).toBeVisible();
  await page.getByRole('button', { name: 'Allow' }).click();

  await page.waitForURL(`${callback.url}?**`);
  const back = new URL(page.url());
  expect(back.searchParams.get('state')).toBe('xyz-1');
  const code = back.searchParams.get('code');
  expect(code).toBeTruthy();

  const basic = Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64');
  const token = await request.post('/o/token/', {
    headers: { Authorization: `Basic ${basic}` },
    form: { grant_type: 'authorization_code', code: code!, redirect_uri: callback.url, code_verifier: verifier },
  });
  expect(token.status()).toBe(200);
  const tokens = await token.json();
  expect(tokens.token_type).toBe('Bearer');
  const profile = await request.get('/profile/', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
  expect(profile.status()).toBe(200);
  expect((await profile.json()).username).toBe(user.username);

  // Same app, same scopes: no consent page this time.
  await page.goto(authorizeUrl(app.clientId, challenge, 'xyz-2'));
  await page.waitForURL(`${callback.url}?**`);
  const again = new URL(page.url());
  expect(again.searchParams.get('state')).toBe('xyz-2');
  expect(again.searchParams.get('code')).toBeTruthy();
});

test('Deny sends the person back with access_denied', async ({ page }, testInfo) => {
  const user = createUser(testInfo, 'deny');
  const app = createApp(testInfo, 'Plotter');
  const { challenge } = pkce();

  await page.goto(authorizeUrl(app.clientId, challenge, 'no-thanks'));
  await settle(page, testInfo);
  await page.getByLabel('Username or email').fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/o\/authorize\/\?/);
  await settle(page, testInfo);
  await page.getByRole('button', { name: 'Deny' }).click();

  await page.waitForURL(`${callback.url}?**`);
  const back = new URL(page.url());
  expect(back.searchParams.get('error')).toBe('access_denied');
  expect(back.searchParams.get('state')).toBe('no-thanks');
  expect(back.searchParams.get('code')).toBeNull();
});

test('an unregistered redirect URI is shown as an error, never followed', async ({ page }, testInfo) => {
  const app = createApp(testInfo, 'Strict');
  const q = new URLSearchParams({ response_type: 'code', client_id: app.clientId, redirect_uri: 'https://evil.example/steal', scope: 'read' });
  const response = await page.goto(`/o/authorize/?${q}`);
  expect(response?.status()).toBe(400);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Authorization request refused');
  expect(page.url()).toContain('/o/authorize/');
});
