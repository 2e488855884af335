import { defineConfig } from '@playwright/test';

// Run by crates/server/tests/web_ui.rs against a real sonde-server
// (SONDE_URL), with Debian's chromium (no Playwright browser download).
export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  workers: 1,
  retries: 0,
  outputDir: process.env.SONDE_SCREENSHOTS ? `${process.env.SONDE_SCREENSHOTS}/results` : 'test-results',
  use: {
    baseURL: process.env.SONDE_URL,
    ignoreHTTPSErrors: true,
    viewport: { width: 1400, height: 900 },
    launchOptions: { executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] },
    headless: true,
  },
});
