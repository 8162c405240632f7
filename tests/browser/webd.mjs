// Browser test of evflow-webd's UI with Debian's chromium, driven by
// playwright-core.  Run by tests/integration/webd_browser.sh, which
// starts the real pipeline, a live event stream and webd, and passes:
//   WEBD_URL, WEBD_USER, WEBD_PASS, ZMQ_IFACE, PACKET_IFACE, SHOTS (dir)
// Every step waits for a condition (no fixed sleeps); a screenshot of
// each page goes to $SHOTS.  Exit 0 = pass.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WAIT, check, checkCount, env, launch, until } from './lib.mjs';

const URL = env('WEBD_URL'), USER = env('WEBD_USER'), PASS = env('WEBD_PASS');
const ZMQ = env('ZMQ_IFACE'), PKT = env('PACKET_IFACE'), SHOTS = env('SHOTS');
mkdirSync(SHOTS, { recursive: true });

const ctx = await launch();
const problems = [];
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(WAIT);
	page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));
	const shot = (name) => page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true });

	// ---- login
	await page.goto(URL + '/');
	await page.waitForSelector('#login-form', { state: 'visible' });
	check(await page.locator('#top').isHidden(), 'the app is hidden before login');
	await page.fill('#login-user', USER);
	await page.fill('#login-pass', 'not-the-password');
	await page.click('#login-submit');
	await until(page, () => document.querySelector('#login-error').textContent.length > 0);
	check((await page.textContent('#login-error')).includes('wrong'), 'a wrong password is refused');
	await shot('login');
	await page.fill('#login-pass', PASS);
	await page.press('#login-pass', 'Enter');
	await page.waitForSelector('h1:text("Dashboard")');
	check(await page.locator('#who').textContent() === USER, 'logged in as ' + USER);

	// ---- dashboard: a real chart, tops
	// The first draw can come before the capture daemon's byte counter
	// has two samples in counter_history (a rate needs two), so the
	// throughput chart has no line yet; the dashboard redraws every 5 s.
	// Wait (with a deadline) until both charts carry a series.
	const chartsDrawn = () => {
		const charts = [...document.querySelectorAll('svg.chart')];
		return charts.length >= 2 && charts.every((g) => g.querySelector('path.series'));
	};
	await until(page, chartsDrawn, null, 30000).catch(() => false);
	check(await page.locator('svg.chart path.series').count() >= 2 && await page.evaluate(chartsDrawn),
		'throughput and flow charts drawn');
	check(await page.locator('.kpi').count() === 4, 'four key numbers');
	await page.waitForSelector('text=Top processes');
	if (process.env.CAPTURE === '1') {
		// The capture of webd's own port: the browser's requests are
		// the traffic.  Rates need two counter samples (1 s apart).
		await until(page, () => [...document.querySelectorAll('.card h2')].some((e) => e.textContent.startsWith('Captured throughput')) &&
			[...document.querySelectorAll('svg.chart')].some((g) => g.getAttribute('aria-label') === 'Captured throughput per interface' &&
				!g.querySelector('text.note')), null, 30000);
		check(true, 'captured throughput drawn from the capture daemon\'s counters');
	}
	await shot('dashboard');

	// ---- flows: live updates
	await page.keyboard.press('2');
	await page.waitForSelector('#flows-table table.flows tbody tr');
	const firstRow = async () => (await page.locator('#flows-table tbody tr').first().textContent());
	const before = await firstRow();
	await until(page, (b) => {
		const r = document.querySelector('#flows-table tbody tr');
		return r && r.textContent !== b;
	}, before);
	check(true, 'the flows table updates live');
	await shot('flows');

	// pause / resume
	await page.keyboard.press('p');
	check((await page.getAttribute('#pause', 'aria-pressed')) === 'true', 'auto-refresh paused');
	check((await page.textContent('#live-note')).includes('paused'), 'pause is visible');
	await page.click('#pause');
	check((await page.getAttribute('#pause', 'aria-pressed')) === 'false', 'auto-refresh resumed');

	// filter
	await page.fill('#f-process', 'curl');
	await page.press('#f-process', 'Enter');
	await until(page, () => location.hash.includes('process=curl'));
	await until(page, () => {
		const rows = [...document.querySelectorAll('#flows-table tbody tr')];
		return rows.length > 0 && rows.every((r) => r.textContent.includes('curl'));
	});
	check(true, 'filtered on process=curl: every row is curl');
	await page.selectOption('#f-proto', 'tcp');
	await until(page, () => location.hash.includes('proto=tcp'));
	await until(page, () => {
		const rows = [...document.querySelectorAll('#flows-table tbody tr')];
		return rows.length > 0 && rows.every((r) => r.children[2].textContent === 'TCP');
	});
	check(true, 'filtered on proto=tcp');

	// sort
	await page.click('th button.sort:text("Bytes")');
	await until(page, () => location.hash.includes('sort=bytes'));
	await page.waitForSelector('th button.sort.on[aria-sort="descending"]:text("Bytes")');
	check(true, 'sorted by bytes, descending');
	await page.click('th button.sort:text("Bytes")');
	await page.waitForSelector('th button.sort.on[aria-sort="ascending"]:text("Bytes")');
	check(true, 'sorted by bytes, ascending');
	await page.click('th button.sort:text("Client")');
	await until(page, () => location.hash.includes('sort=cli_addr'));
	await page.waitForSelector('th button.sort.on:text("Client")');
	check(true, 'sorted by client address');

	// permalink: the view survives a reload
	const hash = await page.evaluate(() => location.hash);
	await page.reload();
	await page.waitForSelector('#flows-table tbody tr');
	check(await page.inputValue('#f-process') === 'curl', 'permalink restores the filter');
	check((await page.evaluate(() => location.hash)) === hash, 'permalink keeps the sort');
	await shot('flows-filtered');

	// open a flow
	await page.locator('#flows-table tbody tr').first().click();
	await page.waitForSelector('h1:text-matches("^Flow [0-9]+$")');
	check(await page.locator('.card h2:text-matches("^Client")').count() === 1, 'flow page shows the client side');
	check(await page.locator('.card h2:text-matches("^Server")').count() === 1, 'flow page shows the server side');
	check((await page.textContent('main')).includes('curl'), 'flow page shows the process');
	await shot('flow');

	// ---- the other pages
	for (const [key, title, name] of [['3', 'Processes', 'processes'], ['4', 'Containers and pods', 'containers'],
		['5', 'Listening sockets', 'listening'], ['6', 'Producers', 'producers'], ['8', 'Pipeline', 'pipeline']]) {
		await page.keyboard.press(key);
		await page.waitForSelector(`h1:text("${title}")`);
		await page.waitForSelector('main table, main .empty');
		check(true, title + ' page');
		await shot(name);
	}
	await page.waitForSelector('.daemons .card');
	check(await page.locator('.daemons .pill.ok').count() >= 3, 'pipeline: store, router, collector up');
	await page.keyboard.press('3');
	await page.waitForSelector('main table tbody tr a');
	check((await page.textContent('main table')).includes('/usr/bin/curl'), 'processes lists curl');

	// ---- interfaces: mirrored, then companion; the next events land there
	await page.keyboard.press('7');
	await page.waitForSelector('h1:text("Interfaces")');
	const mir = page.locator(`input.mirrored[data-iface="${PKT}"]`);
	await mir.waitFor();
	check(!(await mir.isChecked()), PKT + ' starts not mirrored');
	await mir.check();
	await page.waitForSelector('#iface-msg.ok');
	check((await page.textContent('#iface-msg')).includes('Applied'), 'mirrored applied');
	// The table reloads from the store: the box stays checked.
	await until(page, (p) => {
		const e = document.querySelector(`input.mirrored[data-iface="${p}"]`);
		const o = document.querySelector(`select.companion option[value="${p}"]`);
		return e && e.checked && o && !o.disabled;
	}, PKT);
	check(true, PKT + ' is mirrored in the store');
	await page.selectOption(`select.companion[data-iface="${ZMQ}"]`, PKT);
	await until(page, () => document.querySelector('#iface-msg').textContent.includes('companion'));
	await page.waitForSelector('#iface-msg.ok');
	check(true, 'companion applied');
	await until(page, ([z, p]) => {
		const s = document.querySelector(`select.companion[data-iface="${z}"]`);
		return s && s.value === p;
	}, [ZMQ, PKT]);
	await shot('interfaces');

	await page.goto(URL + '/#/flows?iface=' + encodeURIComponent(PKT));
	await until(page, () => document.querySelectorAll('#flows-table tbody tr').length > 0, null, 30000);
	const ifaces = await page.locator('#flows-table tbody tr td:nth-child(2)').allTextContents();
	check(ifaces.length > 0 && ifaces.every((t) => t === PKT), 'the next events land in ' + PKT);
	await shot('flows-companion');

	// ---- narrow window
	await page.setViewportSize({ width: 420, height: 860 });
	await page.goto(URL + '/#/');
	await page.waitForSelector('svg.chart');
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	check(overflow <= 1, 'no horizontal scroll on a narrow window (' + overflow + ' px)');
	await shot('dashboard-narrow');

	// ---- log out
	await page.setViewportSize({ width: 1400, height: 900 });
	await page.click('#logout');
	await page.waitForSelector('#login-form', { state: 'visible' });
	check(true, 'logged out');

	const csp = problems.filter((p) => /Content Security Policy|Refused to/.test(p));
	check(csp.length === 0, 'no CSP violations: ' + csp.join('; '));
	const errs = problems.filter((p) => !/401|Unauthorized/.test(p));
	check(errs.length === 0, 'no page errors: ' + errs.join('; '));
	console.log(`PASS: ${checkCount()} checks, screenshots in ${SHOTS}`);
} catch (e) {
	console.log('FAIL: ' + e.message);
	for (const p of problems) console.log('  ' + p);
	try {
		const pages = ctx.pages();
		if (pages[0]) await pages[0].screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true });
	} catch (e2) { /* best effort */ }
	process.exitCode = 1;
} finally {
	await ctx.closeAll();
}
