import { expect, Page, TestInfo } from '@playwright/test';

/** A user name unique to this test and project, so tests run in parallel. */
export function uniqueUser(testInfo: TestInfo, tag: string) {
  const id = `${tag}${testInfo.project.name.replace(/[^a-z]/g, '')}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return { username: id, email: `${id}@example.org`, password: `pw-${id}-Secret!` };
}

/** Opens a page; in the hydrated project also waits until the wasm has hydrated it. */
export async function open(page: Page, path: string, testInfo: TestInfo) {
  await page.goto(path);
  await settle(page, testInfo);
}

/** After a navigation: in the hydrated project, wait for hydration to finish. */
export async function settle(page: Page, testInfo: TestInfo) {
  if (testInfo.project.name === 'hydrated') {
    await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  }
}

export async function signUp(page: Page, testInfo: TestInfo, user: { username: string; email: string; password: string }) {
  await open(page, '/accounts/signup/', testInfo);
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByLabel('Confirm password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/accounts\/profile\/$/);
  await settle(page, testInfo);
}

export async function signIn(page: Page, testInfo: TestInfo, login: string, password: string) {
  await open(page, '/accounts/login/', testInfo);
  await page.getByLabel('Username or email').fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
