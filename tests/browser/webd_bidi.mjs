// Browser check of how evflow-webd's UI shows hostile text from the
// database, with Debian's chromium through playwright-core.  Run by
// tests/integration/webd_sql_utf8.sh, whose flows view holds a process
// name with a U+202E (right-to-left override) and one with a byte that
// is not UTF-8.  Environment: WEBD_URL, WEBD_USER, WEBD_PASS, SHOTS.
// Checks: the override is shown as the visible text <U+202E> and never
// reaches the page as a character (it would reverse the PID beside it);
// the PID is still its own text, in order, after the name; the bad byte
// is shown as U+FFFD.  Exit 0 = pass.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, checkCount, env, launch, until } from './lib.mjs';

const URL = env('WEBD_URL'), USER = env('WEBD_USER'), PASS = env('WEBD_PASS'), SHOTS = env('SHOTS');
mkdirSync(SHOTS, { recursive: true });

const ctx = await launch();
const problems = [];
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(20000);
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));
	await page.goto(URL + '/');
	await page.waitForSelector('#login-form', { state: 'visible' });
	await page.fill('#login-user', USER);
	await page.fill('#login-pass', PASS);
	await page.press('#login-pass', 'Enter');
	await page.waitForSelector('h1:text("Dashboard")');

	await page.goto(URL + '/#/flows?sort=id&order=asc');
	await until(page, () => document.querySelectorAll('#flows-table tbody tr').length === 3);
	await page.screenshot({ path: join(SHOTS, 'flows-bidi.png'), fullPage: true });
	const seen = await page.evaluate(() => {
		const rows = [...document.querySelectorAll('#flows-table tbody tr')];
		const all = document.body.innerText + [...document.querySelectorAll('[title]')].map((e) => e.title).join(' ');
		const proc = rows.map((r) => { const p = r.querySelector('.proc'); return p ? p.textContent : null; });
		return { proc, raw: /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/.test(all) };
	});
	check(!seen.raw, 'no bidi control reaches the page as a character');
	check(seen.proc[1] !== null && seen.proc[1].includes('evil<U+202E>lru'), 'the override is shown as <U+202E>: ' + seen.proc[1]);
	check(seen.proc[1].trim().endsWith('4242') && seen.proc[1].indexOf('4242') > seen.proc[1].indexOf('lru'),
		'the PID follows the name, in order');
	check(seen.proc[0] !== null && seen.proc[0].includes('\ufffdevil'), 'the bad byte is shown as U+FFFD: ' + seen.proc[0]);
	// The flow's own page shows the full path the same way.
	await page.goto(URL + '/#/flow/2');
	await until(page, () => document.body.innerText.includes('/usr/bin/evil'));
	const detail = await page.evaluate(() => document.body.innerText);
	check(detail.includes('/usr/bin/evil<U+202E>lru'), "the flow's page shows the escape");
	check(!/[\u202a-\u202e]/.test(detail), "the flow's page has no raw override");
	check(problems.length === 0, 'no page errors: ' + problems.join('; '));
} finally {
	await ctx.closeAll();
}
console.log('webd_bidi: ' + checkCount() + ' checks passed');
