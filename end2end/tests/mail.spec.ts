import { expect, test, Page, TestInfo } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mailBaseURL, maildir } from '../e2e-env';
import { open, settle, uniqueUser } from './helpers';

// The mail flows, on the server that verifies addresses and sends its mail
// to a real SMTP server process (aiosmtpd); the messages are read from the
// Maildir it writes.
test.use({ baseURL: mailBaseURL });

/** The text of a message part, decoded (quoted-printable or base64). */
function decodePart(part: string): string {
  const split = part.search(/\r?\n\r?\n/);
  const head = part.slice(0, split);
  const body = part.slice(split).trim();
  if (/content-transfer-encoding:\s*base64/i.test(head)) {
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    return body.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  }
  return body;
}

/** Waits for a message to `to` whose subject contains `subject`; returns the path of its link. */
async function linkIn(to: string, subject: string): Promise<string> {
  const dir = path.join(maildir, 'new');
  let found: string | undefined;
  await expect
    .poll(
      () => {
        const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
        for (const f of files) {
          const raw = fs.readFileSync(path.join(dir, f), 'utf8');
          if (!new RegExp(`^X-RcptTo: ${to}$`, 'mi').test(raw) || !raw.includes(subject)) continue;
          const boundary = /boundary="?([^";\r\n]+)"?/i.exec(raw)?.[1];
          const parts = boundary ? raw.split(`--${boundary}`) : [raw];
          const text = parts.filter((p) => /content-type:\s*text\/plain/i.test(p)).map(decodePart).join('\n');
          const url = text.split(/\s+/).find((w) => w.startsWith(mailBaseURL));
          if (url) {
            found = url.slice(mailBaseURL.length);
            return true;
          }
        }
        return false;
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  return found!;
}

async function signIn(page: Page, testInfo: TestInfo, login: string, password: string) {
  await open(page, '/accounts/login/', testInfo);
  await page.getByLabel('Username or email').fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('a person signs up, confirms the address from the mail, then resets a forgotten password', async ({ page }, testInfo) => {
  const user = uniqueUser(testInfo, 'mail');
  await open(page, '/accounts/signup/', testInfo);
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByLabel('Confirm password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/accounts\/signup\/done\/$/);
  await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();

  // The verification mail: open its link, confirm.
  const verify = await linkIn(user.email, 'confirm your email address');
  await open(page, verify, testInfo);
  await expect(page.getByText(user.email)).toBeVisible();
  await page.getByRole('button', { name: 'Confirm email address' }).click();
  await expect(page.getByText(`${user.email} is confirmed`)).toBeVisible();
  await settle(page, testInfo);

  await signIn(page, testInfo, user.username, user.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await expect(page.getByText(`${user.email} is verified.`)).toBeVisible();
  await settle(page, testInfo);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();

  // Forgotten: ask for a link from the sign-in page.
  await open(page, '/accounts/login/', testInfo);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page).toHaveURL(/\/accounts\/password_reset\/$/);
  await settle(page, testInfo);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expect(page).toHaveURL(/\/accounts\/password_reset\/done\/$/);
  await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();

  const reset = await linkIn(user.email, 'reset your password');
  await open(page, reset, testInfo);
  const newPassword = `${user.password}-new`;
  if (testInfo.project.name === 'hydrated') {
    // The core's password policy, checked while typing.
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('New password', { exact: true }).blur();
    await expect(page.locator('#new_password-error')).toHaveText('Use at least 10 characters.');
    await page.getByLabel('New password', { exact: true }).fill(user.email);
    await expect(page.locator('#new_password-error')).toHaveText('Your password cannot be your username or email address.');
  }
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Confirm new password', { exact: true }).fill('not the same one');
  await page.getByRole('button', { name: 'Set password' }).click();
  await expect(page.locator('#confirm_new_password-error')).toContainText('do not match');
  await settle(page, testInfo);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Confirm new password', { exact: true }).fill(newPassword);
  await page.getByRole('button', { name: 'Set password' }).click();
  await expect(page).toHaveURL(/\/accounts\/reset\/done\/$/);
  await expect(page.getByRole('heading', { name: 'Your password is set' })).toBeVisible();

  // The link worked once; the new password signs in.
  await open(page, reset, testInfo);
  await expect(page.getByRole('heading', { name: 'Reset link not valid' })).toBeVisible();
  await signIn(page, testInfo, user.username, newPassword);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
});
