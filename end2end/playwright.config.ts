import { defineConfig } from '@playwright/test';
import { baseURL, binary, databaseUrl, dbDir, port, siteRoot } from './e2e-env';

// The server under test: the debug build made by `cargo leptos build`,
// on its own port and its own fresh SQLite file.

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list'], ['html', { open: 'never' }]],
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'hydrated', use: { browserName: 'chromium', javaScriptEnabled: true } },
    { name: 'no-js', use: { browserName: 'chromium', javaScriptEnabled: false } },
  ],
  webServer: {
    command: `rm -rf "${dbDir}" && mkdir -p "${dbDir}" && exec "${binary}" serve`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      GATEHOUSE_BIND: `127.0.0.1:${port}`,
      GATEHOUSE_PUBLIC_URL: baseURL,
      GATEHOUSE_DATABASE_URL: databaseUrl,
      LEPTOS_SITE_ROOT: siteRoot,
      RUST_LOG: 'info,sqlx=warn',
    },
  },
});
