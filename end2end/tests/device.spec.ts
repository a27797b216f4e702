import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { baseURL, deviceLogin } from '../e2e-env';
import { createUser, gatehouse, settle } from './helpers';

// A command-line program (the repo's device_login example, the real
// binary) signs its user in with the device flow: it prints a code, a
// person enters it at /device/ in the browser, signs in and allows, and
// the program receives tokens and prints the person's profile.

function deviceApp(testInfo: { project: { name: string } }) {
  const name = `Terminal ${testInfo.project.name} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const out = gatehouse([
    'app', 'create', '--name', name, '--client-type', 'public',
    '--grant-types', 'device_code,refresh_token',
    '--scopes', 'openid profile email read', '--json',
  ]);
  return { name, clientId: JSON.parse(out).client_id as string };
}

/** Starts the program; resolves the code it prints, and later its outcome. */
function startProgram(clientId: string) {
  const child = spawn(deviceLogin, ['--issuer', baseURL, '--client-id', clientId, '--scope', 'openid profile read'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/^user_code: ([A-Z]{4}-[A-Z]{4})$/m);
      if (m) resolve(m[1]);
    });
    child.on('exit', () => reject(new Error(`program ended before printing a code: ${stderr}`)));
  });
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
  return { code, done, kill: () => child.kill('SIGKILL') };
}

test('a command-line program signs a person in with the device flow and prints their profile', async ({ page }, testInfo) => {
  const user = createUser(testInfo, 'device');
  const app = deviceApp(testInfo);
  const program = startProgram(app.clientId);
  try {
    const code = await program.code;

    // The person opens the page the program named; signed out, they sign in first.
    await page.goto('/device/');
    await expect(page).toHaveURL(/\/accounts\/login\/\?next=/);
    await settle(page, testInfo);
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/device\/$/);
    await settle(page, testInfo);

    // A typo first: the error shows beside the field and keeps what was typed.
    await page.getByLabel('Code').fill('BBBB-BBBB');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByText('This code is not valid')).toBeVisible();
    await settle(page, testInfo);
    await expect(page.getByLabel('Code')).toHaveValue('BBBB-BBBB');

    // Typed in lower case: accepted all the same.
    await page.getByLabel('Code').fill(code.toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await settle(page, testInfo);
    await expect(page.getByRole('heading', { level: 1 })).toContainText(app.name);
    await expect(page.getByText(code)).toBeVisible();
    await expect(page.getByText('Confirm who you are')).toBeVisible();
    await expect(page.getByText('Read your account details')).toBeVisible();
    await page.getByRole('button', { name: 'Allow' }).click();
    await expect(page.getByRole('heading', { name: 'Your device is connected' })).toBeVisible();

    const outcome = await program.done;
    expect(outcome.stderr).toBe('');
    expect(outcome.status).toBe(0);
    expect(outcome.stdout).toContain('Signed in (scope: openid profile read).');
    const profile = JSON.parse(outcome.stdout.slice(outcome.stdout.indexOf('{')));
    expect(profile.username).toBe(user.username);
    expect(profile.email).toBe(user.email);
  } finally {
    program.kill();
  }
});

test('when the person denies, the program says so and exits 1', async ({ page }, testInfo) => {
  const user = createUser(testInfo, 'devdeny');
  const app = deviceApp(testInfo);
  const program = startProgram(app.clientId);
  try {
    const code = await program.code;
    // The link with the code filled in, as a phone would open from a QR code.
    await page.goto(`/device/?user_code=${code}`);
    await settle(page, testInfo);
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/device\/\?user_code=/);
    await settle(page, testInfo);
    await expect(page.getByLabel('Code')).toHaveValue(code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await settle(page, testInfo);
    await page.getByRole('button', { name: 'Deny' }).click();
    await expect(page.getByRole('heading', { name: 'Access denied' })).toBeVisible();

    const outcome = await program.done;
    expect(outcome.status).toBe(1);
    expect(outcome.stderr).toContain('access was refused');
  } finally {
    program.kill();
  }
});
