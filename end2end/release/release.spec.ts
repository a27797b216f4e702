import { test, expect } from '@playwright/test';

// The release binary alone in an empty folder (see release.config.ts).

test('the copied binary serves a styled portal: sign up, sign out, sign in', async ({ page }, testInfo) => {
  const hydrated = testInfo.project.name === 'hydrated';
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${m.text()} at ${m.location().url}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const failed: string[] = [];
  // Without JavaScript, Chromium drops the module preload itself: only
  // the hydrated project counts requests that never completed.
  page.on('requestfailed', (r) => {
    if (hydrated) failed.push(r.url());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  const settle = async () => {
    if (hydrated) await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  };

  await page.goto('/accounts/signup/');
  await settle();
  // The stylesheet applied: body margin 0 and the header laid out in a row.
  expect(await page.evaluate(() => getComputedStyle(document.body).marginTop)).toBe('0px');
  expect(await page.locator('.site-header').evaluate((e) => getComputedStyle(e).display)).toBe('flex');

  const id = `rel${testInfo.project.name.replace(/[^a-z]/g, '')}${Date.now().toString(36)}`;
  const password = `pw-${id}-Secret!`;
  await page.getByLabel('Username', { exact: true }).fill(id);
  await page.getByLabel('Email', { exact: true }).fill(`${id}@example.org`);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await settle();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await settle();

  await page.goto('/accounts/login/');
  await settle();
  await page.getByLabel('Username or email').fill(id);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await settle();
  await expect(page.getByText(`Signed in as`)).toBeVisible();
  expect(problems).toEqual([]);
  expect(failed).toEqual([]);
});

test('the bundle has content-hashed names, long-lived caching and compression', async ({ page, request }) => {
  await page.goto('/');
  const css = await page.locator('link[rel="stylesheet"]').getAttribute('href');
  const js = await page.locator('link[rel="modulepreload"]').getAttribute('href');
  const wasm = await page.locator('link[rel="preload"][as="fetch"]').getAttribute('href');
  for (const [url, ext] of [[css, 'css'], [js, 'js'], [wasm, 'wasm']] as const) {
    expect(url, ext).toMatch(new RegExp(`^/pkg/gatehouse\\.[0-9a-f]{16}\\.${ext}$`));
    const br = await request.get(url!, { headers: { 'accept-encoding': 'br' } });
    expect(br.status(), url!).toBe(200);
    expect(br.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.headers()['content-encoding']).toBe('br');
    expect(br.headers()['vary']).toBe('Accept-Encoding');
    const etag = br.headers()['etag'];
    expect(etag).toMatch(/^"[0-9a-f]+-br"$/);
    const gz = await request.get(url!, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers()['content-encoding']).toBe('gzip');
    const again = await request.get(url!, { headers: { 'accept-encoding': 'br', 'if-none-match': etag } });
    expect(again.status()).toBe(304);
  }
  // What travels is the compressed form: report its size (Content-Length;
  // Playwright hands the body over decoded).
  for (const coding of ['br', 'gzip', 'identity']) {
    const r = await request.head(wasm!, { headers: { 'accept-encoding': coding } });
    console.log(`wasm bundle, ${coding}: ${r.headers()['content-length']} bytes`);
  }
  const favicon = await request.get('/favicon.svg');
  expect(favicon.status()).toBe(200);
  expect(favicon.headers()['cache-control']).toBe('no-cache');
  expect(favicon.headers()['content-type']).toBe('image/svg+xml');
});
