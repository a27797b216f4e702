import { expect, Page, TestInfo } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { baseURL, binary, databaseUrl } from '../e2e-env';

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

/** Runs the `gatehouse` command line against the server's database. */
export function gatehouse(args: string[], input?: string): string {
  return execFileSync(binary, args, {
    input,
    env: { ...process.env, GATEHOUSE_DATABASE_URL: databaseUrl, GATEHOUSE_PUBLIC_URL: baseURL, RUST_LOG: 'warn' },
    encoding: 'utf8',
  });
}

/** An account made with `gatehouse user create`. */
export function createUser(testInfo: TestInfo, tag: string) {
  const user = uniqueUser(testInfo, tag);
  gatehouse(['user', 'create', '--username', user.username, '--email', user.email, '--password-stdin'], `${user.password}\n`);
  return user;
}

/**
 * The loopback redirect URI test apps register. Requests use it with the
 * port of a real listener (RFC 8252 lets loopback ports vary), because
 * Playwright's request interception does not see redirect targets.
 */
export const CALLBACK = 'http://127.0.0.1/callback';

/** A real client-app callback on an ephemeral port of 127.0.0.1. */
export async function callbackServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('back at the client app');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A confidential code-flow app made with `gatehouse app create`. */
export function createApp(
  testInfo: TestInfo,
  tag: string,
  opts: { scopes?: string; extra?: string[] } = {},
): { name: string; clientId: string; clientSecret: string } {
  const name = `${tag} ${testInfo.project.name} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const out = gatehouse([
    'app', 'create', '--name', name, '--client-type', 'confidential',
    '--grant-types', 'authorization_code,refresh_token', '--redirect-uris', CALLBACK,
    '--scopes', opts.scopes ?? 'read write', '--json', ...(opts.extra ?? []),
  ]);
  const app = JSON.parse(out);
  return { name, clientId: app.client_id, clientSecret: app.client_secret };
}

/** A PKCE verifier and its S256 challenge. */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/**
 * Signs `user` in on the authorization page of `app` and allows it; returns
 * the code the browser brought back to `callbackUrl`, and the PKCE verifier.
 */
export async function allowApp(
  page: Page,
  testInfo: TestInfo,
  user: { username: string; password: string },
  app: { clientId: string },
  callbackUrl: string,
): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({
    response_type: 'code', client_id: app.clientId, redirect_uri: callbackUrl, scope: 'read',
    state: 's1', code_challenge: challenge, code_challenge_method: 'S256',
  });
  await page.goto(`/o/authorize/?${q}`);
  await settle(page, testInfo);
  await page.getByLabel('Username or email').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await settle(page, testInfo);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${callbackUrl}?**`);
  return { code: new URL(page.url()).searchParams.get('code')!, verifier };
}

/**
 * Opens the sign-in page `runs` times and reports (in the output and the
 * test's annotations) the median time from navigation start, and from the
 * load event, to the wasm's `gatehouse-hydrated` performance mark.
 */
export async function reportHydrationTime(page: Page, testInfo: TestInfo, runs: number, what: string) {
  const times: { hydrated: number; afterLoad: number }[] = [];
  for (let i = 0; i < runs; i++) {
    await page.goto('/accounts/login/');
    await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
    times.push(await page.evaluate(() => {
      const mark = performance.getEntriesByName('gatehouse-hydrated')[0];
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { hydrated: mark.startTime, afterLoad: mark.startTime - nav.loadEventEnd };
    }));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const report = `${what} hydrated ${median(times.map((r) => r.hydrated)).toFixed(1)} ms after navigation start, ` +
    `${median(times.map((r) => r.afterLoad)).toFixed(1)} ms after the load event (median of ${runs})`;
  console.log(report);
  testInfo.annotations.push({ type: 'hydration', description: report });
  expect(times.every((r) => r.hydrated > 0)).toBe(true);
}
