import * as path from 'node:path';
import { defineConfig } from '@playwright/test';
import config from './playwright.config';
import { root } from './e2e-env';

// The release binary, copied alone into an empty folder and started there
// with no other file and no LEPTOS_SITE_ROOT: the portal it serves must be
// styled and hydrate from what is built into it (`scripts/test` builds it
// with `cargo leptos build --release --precompress` first).
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
const release = process.env.E2E_RELEASE_BINARY ?? path.join(targetDir, 'release', 'gatehouse');
// Outside the checkout: nothing of target/ is reachable from it.
const dir = process.env.E2E_RELEASE_DIR ?? '/tmp/gatehouse-e2e-release';
export const port = Number(process.env.E2E_RELEASE_PORT ?? 3150);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  ...config,
  testDir: './release',
  use: { ...config.use, baseURL },
  webServer: {
    command:
      `rm -rf "${dir}" && mkdir -p "${dir}" && cp "${release}" "${dir}/gatehouse" && cd "${dir}" ` +
      `&& exec env -u LEPTOS_SITE_ROOT -u LEPTOS_OUTPUT_NAME ./gatehouse serve`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      GATEHOUSE_BIND: `127.0.0.1:${port}`,
      GATEHOUSE_PUBLIC_URL: baseURL,
      // Its spec signs up and goes on signed in (mail has its own spec).
      GATEHOUSE_VERIFY_EMAIL: 'false',
      RUST_LOG: 'info,sqlx=warn',
    },
  },
});
