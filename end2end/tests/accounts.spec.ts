import { test, expect } from '@playwright/test';
import { open, settle, signIn, signUp, uniqueUser } from './helpers';

// Every test runs twice: hydrated, and with JavaScript disabled.

test('a person signs up, signs out, signs in, edits their name and changes their password', async ({ page }, testInfo) => {
  const user = uniqueUser(testInfo, 'life');
  await signUp(page, testInfo, user);
  const header = page.getByRole('banner');
  await expect(header).toContainText(`Signed in as ${user.username}`);

  await header.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/accounts\/login\/\?signed_out=1$/);
  await settle(page, testInfo);
  await expect(page.getByRole('status')).toContainText('You have signed out.');
  await expect(header.getByRole('link', { name: 'Sign in' })).toBeVisible();

  await signIn(page, testInfo, user.email, user.password);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await settle(page, testInfo);

  await page.getByLabel('First name').fill('Ada');
  await page.getByLabel('Last name').fill('Lovelace');
  await page.getByRole('button', { name: 'Save' }).click();
  // Without JavaScript the page reloads; hydrated, it answers in place.
  if (testInfo.project.name === 'no-js') await expect(page).toHaveURL(/saved=profile/);
  await settle(page, testInfo);
  await expect(page.getByRole('status')).toContainText('Your profile was saved.');
  await expect(header).toContainText('Signed in as Ada Lovelace');
  await expect(page.getByLabel('First name')).toHaveValue('Ada');

  const newPassword = `${user.password}-v2`;
  await page.getByLabel('Current password').fill(user.password);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Confirm new password').fill(newPassword);
  await page.getByRole('button', { name: 'Change password' }).click();
  if (testInfo.project.name === 'no-js') await expect(page).toHaveURL(/saved=password/);
  await expect(page.getByText('Your password was changed.')).toBeVisible();
  await settle(page, testInfo);

  await header.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/signed_out=1/);

  await signIn(page, testInfo, user.username, user.password);
  await expect(page.getByRole('alert')).toContainText('do not match an account');

  await signIn(page, testInfo, user.username, newPassword);
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await expect(header).toContainText('Signed in as Ada Lovelace');
});

test('sign-up errors appear beside the field and keep what was typed', async ({ page }, testInfo) => {
  const user = uniqueUser(testInfo, 'err');
  await open(page, '/accounts/signup/', testInfo);
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Email', { exact: true }).fill('not-an-email');
  await page.getByLabel('Password', { exact: true }).fill('password123');
  await page.getByLabel('Confirm password').fill('something else');
  await page.getByRole('button', { name: 'Create account' }).click();
  await settle(page, testInfo);

  await expect(page.getByLabel('Username', { exact: true })).toHaveValue(user.username);
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue('not-an-email');
  await expect(page.getByLabel('Password', { exact: true })).toHaveValue('');
  await expect(page.locator('#email-error')).toHaveText('Enter a valid email address.');
  await expect(page.locator('#password-error')).toContainText('too common');
  await expect(page.locator('#confirm-error')).toHaveText('The two passwords do not match.');
  await expect(page.getByLabel('Email', { exact: true })).toHaveAttribute('aria-describedby', 'email-error');
});

test('the profile page sends a signed-out visitor to sign in and back', async ({ page, context }, testInfo) => {
  const user = uniqueUser(testInfo, 'next');
  await signUp(page, testInfo, user);
  await context.clearCookies();

  await open(page, '/accounts/profile/', testInfo);
  await expect(page).toHaveURL(/\/accounts\/login\/\?next=\/accounts\/profile\/$/);
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue(user.email);
});

test('inputs carry the autocomplete hints password managers need', async ({ page }, testInfo) => {
  await open(page, '/accounts/signup/', testInfo);
  await expect(page.getByLabel('Username', { exact: true })).toHaveAttribute('autocomplete', 'username');
  await expect(page.getByLabel('Email', { exact: true })).toHaveAttribute('autocomplete', 'email');
  await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('autocomplete', 'new-password');
  await open(page, '/accounts/login/', testInfo);
  await expect(page.getByLabel('Username or email')).toHaveAttribute('autocomplete', 'username');
  await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('autocomplete', 'current-password');
});
