import * as path from 'node:path';

// Where the server under test runs and keeps its data; shared by the
// Playwright config (which starts it) and tests that provision through
// the `gatehouse` command line against the same database.
export const root = path.resolve(__dirname, '..');
export const port = Number(process.env.E2E_PORT ?? 3100);
export const baseURL = `http://127.0.0.1:${port}`;
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
export const binary = process.env.E2E_BINARY ?? path.join(targetDir, 'debug', 'gatehouse');
/** The device-flow example program (`server/examples/device_login.rs`). */
export const deviceLogin = process.env.E2E_DEVICE_LOGIN ?? path.join(targetDir, 'debug', 'examples', 'device_login');
export const siteRoot = process.env.LEPTOS_SITE_ROOT ?? path.join(root, 'target', 'site');
export const dbDir = path.join(root, 'target', 'e2e');
// E2E_DATABASE_URL runs the suite on another database (scripts/test uses
// it for a fresh PostgreSQL database); by default a fresh SQLite file.
export const databaseUrl = process.env.E2E_DATABASE_URL ?? `sqlite://${dbDir}/e2e.db`;

// A second server for the mail flows: verification on, its mail sent to
// an SMTP server process (aiosmtpd, installed by scripts/setup) that
// stores each message in a Maildir the tests read.
export const mailPort = port + 1;
export const mailBaseURL = `http://127.0.0.1:${mailPort}`;
export const smtpPort = port + 2;
export const maildir = path.join(dbDir, 'maildir');
export const sinkPython = path.join(root, '.venv-mail', 'bin', 'python');
