import { test, expect } from '@playwright/test';
import { gatehouse, reportHydrationTime, settle, signIn, uniqueUser } from './helpers';

// Every page that renders server-loaded data hydrates without a console
// error or warning (a hydration mismatch shows up as one) and without a
// failed resource load.

test('the portal pages hydrate without console errors', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'hydrated', 'hydration only happens with JavaScript');
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()} at ${m.location().url}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const staff = uniqueUser(testInfo, 'hydr');
  gatehouse(['createsuperuser', '--username', staff.username, '--email', staff.email, '--password-stdin'], `${staff.password}\n`);
  await signIn(page, testInfo, staff.username, staff.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await settle(page, testInfo);
  for (const path of ['/', '/device/', '/o/applications/', '/o/applications/register/', '/o/authorized_tokens/', '/admin/', '/accounts/activity/', '/admin/audit/?kind=signed_in']) {
    await page.goto(path);
    await settle(page, testInfo);
  }
  await page.goto('/o/applications/register/');
  await settle(page, testInfo);
  await page.getByLabel('Name', { exact: true }).fill('Hydration check');
  await page.getByLabel('Redirect URIs', { exact: true }).fill('https://app.example.org/cb');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/o\/applications\/\d+\/$/);
  await settle(page, testInfo);
  await page.getByRole('button', { name: 'Build authorization URL' }).click();
  await settle(page, testInfo);
  await expect(page.getByRole('link', { name: 'Open the authorization URL' })).toBeVisible();
  expect(problems).toEqual([]);
});

// Reported, not asserted: how long after navigation the sign-in page is
// hydrated (debug build here; release/hydration-time.spec.ts for the
// release build). Timings on a shared machine vary.
test('hydration time of the sign-in page is reported', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'hydrated', 'hydration only happens with JavaScript');
  await reportHydrationTime(page, testInfo, 5, 'sign-in page (debug build)');
});
