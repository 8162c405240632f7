// Shared by the browser tests (webd.mjs, webd_bidi.mjs): environment,
// checks, waits, and Debian's chromium through playwright-core.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const WAIT = 20000;	// ms, the default deadline of a wait

// The value of environment variable k; throws when it is unset.
export function env(k) {
	const v = process.env[k];
	if (!v) throw new Error('missing ' + k);
	return v;
}

let checks = 0;
// Counts a check; throws with `what` unless cond holds.
export function check(cond, what) {
	checks++;
	if (!cond) throw new Error('check failed: ' + what);
	console.log('ok ' + checks + ' - ' + what);
}
export function checkCount() { return checks; }

// Polls fn(arg) in the page until it is truthy.  page.waitForFunction
// evaluates a string, which the UI's CSP (rightly) forbids; page.evaluate
// goes through the debugger protocol instead.
export async function until(page, fn, arg, timeout = WAIT) {
	const end = Date.now() + timeout;
	for (;;) {
		let v = false;
		try { v = await page.evaluate(fn, arg); } catch (e) { v = false; }
		if (v) return v;
		if (Date.now() > end) throw new Error('timed out waiting for ' + String(fn).slice(0, 120));
		await new Promise((r) => setTimeout(r, 100));
	}
}

// Headless chromium on a fresh profile directory (playwright passes it
// as --user-data-dir), with the flags this closed network needs.
// close() ends it and removes the profile.
export async function launch() {
	const profile = mkdtempSync(join(tmpdir(), 'evflow-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		viewport: { width: 1400, height: 900 },
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	ctx.closeAll = async () => {
		await ctx.close();
		rmSync(profile, { recursive: true, force: true });
	};
	return ctx;
}
