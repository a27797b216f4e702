import { defineConfig } from '@playwright/test';
import {
  baseURL, binary, databaseUrl, dbDir, mailBaseURL, maildir, mailPort, port, siteRoot, sinkPython, smtpPort,
} from './e2e-env';

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
  webServer: [
    {
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
        // These specs sign up and go on signed in; mail.spec.ts uses the
        // server below, which verifies addresses.
        GATEHOUSE_VERIFY_EMAIL: 'false',
        RUST_LOG: 'info,sqlx=warn',
      },
    },
    {
      // The SMTP server the mail server sends to.
      command: `rm -rf "${maildir}" && exec "${sinkPython}" -m aiosmtpd -n -l 127.0.0.1:${smtpPort} -c aiosmtpd.handlers.Mailbox "${maildir}"`,
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `mkdir -p "${dbDir}" && rm -f "${dbDir}"/mail.db* && exec "${binary}" serve`,
      url: `${mailBaseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        GATEHOUSE_BIND: `127.0.0.1:${mailPort}`,
        GATEHOUSE_PUBLIC_URL: mailBaseURL,
        GATEHOUSE_DATABASE_URL: `sqlite://${dbDir}/mail.db`,
        GATEHOUSE_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        GATEHOUSE_MAIL_RETRY_SECS: '1',
        LEPTOS_SITE_ROOT: siteRoot,
        RUST_LOG: 'info,sqlx=warn',
      },
    },
  ],
});
