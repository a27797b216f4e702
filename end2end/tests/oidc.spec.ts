import { test, expect } from '@playwright/test';
import { callbackServer, createApp, createUser, pkce, settle } from './helpers';

// A relying party signs a person in with OpenID Connect, then signs them
// out of Gatehouse with RP-initiated logout and gets them back at its
// registered post-logout URI.

let callback: Awaited<ReturnType<typeof callbackServer>>;
test.beforeEach(async () => {
  callback = await callbackServer();
});
test.afterEach(async () => {
  await callback.close();
});

test('sign in through a relying party, then RP-initiated logout ends the session', async ({ page, request }, testInfo) => {
  const user = createUser(testInfo, 'rp');
  const bye = callback.url.replace('/callback', '/signed-out');
  const app = createApp(testInfo, 'Portal RP', {
    scopes: 'openid profile',
    extra: ['--post-logout-redirect-uris', bye],
  });
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: app.clientId,
    redirect_uri: callback.url,
    scope: 'openid profile',
    state: 'in-1',
    nonce: 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  await page.goto(`/o/authorize/?${q}`);
  await settle(page, testInfo);
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/o\/authorize\/\?/);
  await settle(page, testInfo);
  await expect(page.getByText('Confirm who you are')).toBeVisible();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${callback.url}?**`);
  const code = new URL(page.url()).searchParams.get('code')!;

  const basic = Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64');
  const token = await request.post('/o/token/', {
    headers: { Authorization: `Basic ${basic}` },
    form: { grant_type: 'authorization_code', code, redirect_uri: callback.url, code_verifier: verifier },
  });
  expect(token.status()).toBe(200);
  const { id_token } = await token.json();
  expect(id_token.split('.')).toHaveLength(3);
  const claims = JSON.parse(Buffer.from(id_token.split('.')[1], 'base64url').toString());
  expect(claims.nonce).toBe('n-1');
  expect(claims.preferred_username).toBe(user.username);

  // The relying party sends the person to Gatehouse to sign out.
  const out = new URLSearchParams({ id_token_hint: id_token, post_logout_redirect_uri: bye, state: 'out-1' });
  await page.goto(`/o/logout/?${out}`);
  await page.waitForURL(`${bye}?**`);
  expect(new URL(page.url()).searchParams.get('state')).toBe('out-1');

  // The Gatehouse session is gone.
  await page.goto('/accounts/profile/');
  await expect(page).toHaveURL(/\/accounts\/login\/\?next=/);
});
