import { test, expect, Page } from '@playwright/test';
import { allowApp, callbackServer, createApp, createUser, gatehouse, open, settle, signIn, signUp, uniqueUser } from './helpers';

// What the hydrated portal does beyond the page without JavaScript: forms
// answered in place by their server functions, and the core's rules
// checked while typing. (Every form also works with JavaScript off: the
// other specs run in both projects.)

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name !== 'hydrated', 'only a hydrated page answers in place');
});

/** Marks the loaded document; a full page load loses the mark. */
async function mark(page: Page) {
  await page.evaluate(() => { (window as any).__sameDocument = true; });
}

async function sameDocument(page: Page) {
  return page.evaluate(() => (window as any).__sameDocument === true);
}

test('a refused sign-up shows its errors beside the fields without a page load', async ({ page }, testInfo) => {
  const user = uniqueUser(testInfo, 'inpl');
  await open(page, '/accounts/signup/', testInfo);
  await mark(page);
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Email', { exact: true }).fill('not-an-email');
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByLabel('Confirm password').fill(`${user.password}x`);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#email-error')).toHaveText('Enter a valid email address.');
  await expect(page.locator('#confirm-error')).toHaveText('The two passwords do not match.');
  await expect(page.getByLabel('Email', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  // The first marked field has the focus.
  await expect(page.getByLabel('Email', { exact: true })).toBeFocused();
  expect(await sameDocument(page)).toBe(true);

  // Passwords are not kept, as after the page load without JavaScript.
  await expect(page.getByLabel('Password', { exact: true })).toHaveValue('');
  // Fixed, the same form creates the account and goes on signed in.
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByLabel('Confirm password').fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await expect(page.getByRole('banner')).toContainText(`Signed in as ${user.username}`);
});

test('a weak password and a taken username are reported before submitting', async ({ page }, testInfo) => {
  const existing = createUser(testInfo, 'taken');
  await open(page, '/accounts/signup/', testInfo);
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('short');
  // The message comes after a pause in typing, in a polite live region.
  await expect(page.locator('#password-error')).toHaveText('Use at least 10 characters.');
  await expect(page.locator('#password-error')).toHaveAttribute('aria-live', 'polite');
  await expect(password).toHaveAttribute('aria-invalid', 'true');
  // Fixing it clears the message as soon as it is right.
  await password.fill('a much longer passphrase');
  await expect(page.locator('#password-error')).toHaveText('');
  await expect(password).not.toHaveAttribute('aria-invalid', 'true');

  const username = page.getByLabel('Username', { exact: true });
  await username.fill(existing.username);
  await expect(page.locator('#username-error')).toHaveText('That username is taken.');
  await username.fill('has space');
  await expect(page.locator('#username-error')).toHaveText('Use only letters, digits and the characters . + - _');
  await username.fill(`${existing.username}new`);
  await expect(page.locator('#username-error')).toHaveText('');

  await page.getByLabel('Confirm password').fill('something else');
  await page.getByLabel('Confirm password').blur();
  await expect(page.locator('#confirm-error')).toHaveText('The two passwords do not match.');
  // Nothing was submitted.
  await expect(page).toHaveURL(/\/accounts\/signup\/$/);
});

test('the profile saves in place and the header follows', async ({ page }, testInfo) => {
  const user = uniqueUser(testInfo, 'prof');
  await signUp(page, testInfo, user);
  await mark(page);
  await page.getByLabel('First name').fill('Grace');
  await page.getByLabel('Last name').fill('Hopper');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toHaveText('Your profile was saved.');
  await expect(page.getByRole('banner')).toContainText('Signed in as Grace Hopper');
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);

  // A wrong current password: the message sits beside that field.
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password', { exact: true }).fill('another long passphrase');
  await page.getByLabel('Confirm new password').fill('another long passphrase');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#current_password-error')).not.toHaveText('');
  expect(await sameDocument(page)).toBe(true);
});

test('revoking an authorized app removes it without a page load', async ({ page }, testInfo) => {
  const callback = await callbackServer();
  try {
    const user = createUser(testInfo, 'revk');
    const app = createApp(testInfo, 'Inplace');
    await allowApp(page, testInfo, user, app, callback.url);

    await open(page, '/o/authorized_tokens/', testInfo);
    await mark(page);
    await page.getByRole('button', { name: `Revoke ${app.name}` }).click();
    await expect(page.getByRole('status')).toHaveText(`Access for ${app.name} was revoked.`);
    await expect(page.locator('li.grant', { hasText: app.name })).toHaveCount(0);
    await expect(page.getByText('You have not allowed any application')).toBeVisible();
    expect(await sameDocument(page)).toBe(true);
    await expect(page).toHaveURL(/\/o\/authorized_tokens\/$/);
  } finally {
    await callback.close();
  }
});

test('an invalid redirect URI line is marked while typing', async ({ page }, testInfo) => {
  const dev = createUser(testInfo, 'lines');
  await signIn(page, testInfo, dev.username, dev.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await open(page, '/o/applications/register/', testInfo);
  const uris = page.getByLabel('Redirect URIs', { exact: true });
  await uris.fill('https://app.example.org/cb\nhttp://evil.example/cb');
  await expect(page.locator('#redirect_uris-error')).toHaveText(
    'http://evil.example/cb: must use https (http is allowed only for 127.0.0.1, [::1] and localhost).',
  );
  await expect(uris).toHaveAttribute('aria-invalid', 'true');
  await expect(uris).toHaveAttribute('aria-describedby', 'redirect_uris-hint redirect_uris-error');
  await uris.fill('https://app.example.org/cb\nhttp://127.0.0.1:8080/cb');
  await expect(page.locator('#redirect_uris-error')).toHaveText('');
  const origins = page.getByLabel('Allowed origins', { exact: true });
  await origins.fill('https://spa.example.org/app');
  await origins.blur();
  await expect(page.locator('#allowed_origins-error')).toContainText('https://spa.example.org/app: ');
  await expect(page).toHaveURL(/\/o\/applications\/register\/$/);
});

test('staff deactivate and reactivate an account in place', async ({ page }, testInfo) => {
  const staff = uniqueUser(testInfo, 'boss');
  gatehouse(['createsuperuser', '--username', staff.username, '--email', staff.email, '--password-stdin'], `${staff.password}\n`);
  const member = createUser(testInfo, 'memb');
  await signIn(page, testInfo, staff.username, staff.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await open(page, `/admin/?q=${member.username}`, testInfo);
  await mark(page);
  const row = page.locator(`tr[data-username="${member.username}"]`);
  await row.getByRole('button', { name: `Deactivate ${member.username}` }).click();
  await expect(page.getByRole('status')).toContainText(`${member.username} was deactivated`);
  await expect(row).toContainText('deactivated');
  await row.getByRole('button', { name: `Reactivate ${member.username}` }).click();
  await expect(page.getByRole('status')).toHaveText(`${member.username} can sign in again.`);
  await expect(row.getByRole('button', { name: `Deactivate ${member.username}` })).toBeVisible();
  // Staff cannot stop themselves: said beside the button, in place.
  await open(page, `/admin/?q=${staff.username}`, testInfo);
  await mark(page);
  await page.locator(`tr[data-username="${staff.username}"]`)
    .getByRole('button', { name: `Deactivate ${staff.username}` }).click();
  await expect(page.getByRole('alert')).toHaveText('You cannot deactivate your own account.');
  expect(await sameDocument(page)).toBe(true);
});

test('a public app is registered in place and tried in the browser, PKCE and exchange included', async ({ page, baseURL }, testInfo) => {
  const dev = createUser(testInfo, 'spa');
  await signIn(page, testInfo, dev.username, dev.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await open(page, '/o/applications/register/', testInfo);
  await mark(page);
  const name = `Browser app ${Date.now().toString(36)}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Client type').selectOption('public');
  await page.getByLabel('Redirect URIs', { exact: true }).fill('http://spa.example.org/cb');
  await page.getByRole('button', { name: 'Register' }).click();
  // Refused by the server function: the message beside the field, no page load.
  await expect(page.getByRole('alert')).toContainText('The application was not registered');
  await expect(page.locator('#redirect_uris-error')).toContainText('http://spa.example.org/cb');
  expect(await sameDocument(page)).toBe(true);
  await page.getByLabel('Redirect URIs', { exact: true }).fill('http://127.0.0.1:9/cb');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/o\/applications\/\d+\/$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await settle(page, testInfo);

  // The playground callback, and this page's origin, become the app's.
  await page.getByRole('button', { name: 'Add playground callback' }).click();
  const tryHere = page.getByRole('button', { name: 'Try it in this browser' });
  await expect(tryHere).toBeEnabled();
  await expect(page.locator('#try-origin-warning')).toHaveCount(0);
  await tryHere.click();
  await expect(page).toHaveURL(/\/o\/authorize\/\?.*code_challenge_method=S256/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(name);
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect(page).toHaveURL(/\/o\/playground\/callback\/\?code=/);

  // The page exchanged the code itself and called userinfo.
  await expect(page.locator('#userinfo')).toBeVisible();
  const userinfo = JSON.parse(await page.locator('#userinfo').innerText());
  expect(userinfo.sub).toBeTruthy();
  const log = page.locator('.exchange-log');
  await expect(log).toContainText('POST /o/token/');
  await expect(log).toContainText('code_verifier=');
  await expect(log).toContainText(`Access-Control-Allow-Origin: ${new URL(baseURL!).origin}`);
  await expect(log).toContainText('"token_type": "Bearer"');

  // The verifier was spent: the same answer again finds nothing pending.
  await page.reload();
  await expect(page.getByRole('alert')).toContainText('This tab holds no pending request');
});

test('the admin search answers in place and keeps its address', async ({ page }, testInfo) => {
  const staff = uniqueUser(testInfo, 'seek');
  gatehouse(['createsuperuser', '--username', staff.username, '--email', staff.email, '--password-stdin'], `${staff.password}\n`);
  const member = createUser(testInfo, 'found');
  await signIn(page, testInfo, staff.username, staff.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await open(page, '/admin/', testInfo);
  await mark(page);
  await page.getByRole('searchbox', { name: 'Search' }).fill(member.username);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page.locator('#admin-results')).toHaveText(`1 account matching “${member.username}”.`);
  await expect(page.locator('table.accounts tbody tr')).toHaveCount(1);
  await expect(page.locator(`tr[data-username="${member.username}"]`)).toBeVisible();
  expect(await sameDocument(page)).toBe(true);
  await expect(page).toHaveURL(new RegExp(`/admin/\\?page=1&q=${member.username}$`));
  // The rows found act in place too.
  await page.getByRole('button', { name: `Deactivate ${member.username}` }).click();
  await expect(page.getByRole('status')).toContainText(`${member.username} was deactivated`);
  // Nothing found is said, not shown as an empty table alone.
  await page.getByRole('searchbox', { name: 'Search' }).fill('nobody-has-this-name');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page.locator('#admin-results')).toHaveText('0 accounts matching “nobody-has-this-name”.');
  await expect(page.locator('table.accounts tbody tr')).toHaveCount(0);
  expect(await sameDocument(page)).toBe(true);
  // A reload shows the same search, from the server.
  await page.reload();
  await expect(page.locator('#admin-results')).toHaveText('0 accounts matching “nobody-has-this-name”.');
});

test('a form that succeeded keeps its button disabled while the next page loads', async ({ page }, testInfo) => {
  const dev = createUser(testInfo, 'once');
  await signIn(page, testInfo, dev.username, dev.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await open(page, '/o/applications/register/', testInfo);
  const name = `Registered once ${Date.now().toString(36)}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Redirect URIs', { exact: true }).fill('https://once.example.org/cb');
  // Hold the next page back, as a slow network would.
  await page.route(/\/o\/applications\/\d+\/$/, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  // In the page: once the server function has answered (and while the
  // next page is held back), note whether the button is disabled and
  // click it again, as an impatient person would.
  await page.evaluate(() => {
    const button = [...document.querySelectorAll('button')].find((e) => e.textContent === 'Register') as HTMLButtonElement;
    const fetch = window.fetch.bind(window);
    window.fetch = async (...args: Parameters<typeof window.fetch>) => {
      const response = await fetch(...args);
      const url = args[0] instanceof Request ? args[0].url : String(args[0]);
      if (url.endsWith('/fn/app')) {
        setTimeout(() => {
          sessionStorage.setItem('disabled-after-answer', String(button.disabled));
          button.click();
        }, 300);
      }
      return response;
    };
  });
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/o\/applications\/\d+\/$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  expect(await page.evaluate(() => sessionStorage.getItem('disabled-after-answer'))).toBe('true');
  await page.unroute(/\/o\/applications\/\d+\/$/);
  // One app, not two.
  await open(page, '/o/applications/', testInfo);
  await expect(page.getByRole('link', { name })).toHaveCount(1);
});
