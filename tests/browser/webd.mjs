// Browser test of evflow-webd's UI with Debian's chromium, driven by
// playwright-core.  Run by tests/integration/webd_browser.sh, which
// starts the real pipeline, a live event stream and webd, and passes:
//   WEBD_URL, WEBD_USER, WEBD_PASS, ZMQ_IFACE, PACKET_IFACE, SHOTS (dir),
//   DB (the store's database, read here with sqlite3 to check what the
//   pages show), NAME_ADDR/NAME (a host name the script stored),
//   LATE_URL/LATE_DB (a second webd whose database does not exist yet),
//   CAPTURE (1: webd's own port is captured on lo, so packet flows exist)
// Every step waits for a condition (no fixed sleeps); a screenshot of
// each page, desktop and phone, goes to $SHOTS.  Exit 0 = pass.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WAIT, check, checkCount, env, launch, until } from './lib.mjs';

const URL = env('WEBD_URL'), USER = env('WEBD_USER'), PASS = env('WEBD_PASS');
const ZMQ = env('ZMQ_IFACE'), PKT = env('PACKET_IFACE'), SHOTS = env('SHOTS');
const DB = env('DB'), NAME = env('NAME'), NAME_ADDR = env('NAME_ADDR');
const LATE_URL = env('LATE_URL'), LATE_DB = env('LATE_DB');
mkdirSync(SHOTS, { recursive: true });

// One value from the store's database (read-only, as webd reads it).
function sql(q) {
	return execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 5000', DB, q], { encoding: 'utf8' }).trim();
}
const texts = (page, sel) => page.locator(sel).allTextContents();

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

	// The State column holds TCP states only; event names have their own.
	const EVENTS = ['CONNECT', 'ACCEPT', 'CLOSE', 'RETRANSMIT', 'CONNECT_FAILED', 'SEND', 'RECV', 'UPDATE', 'END'];
	const states = await texts(page, '#flows-table tbody td.state');
	const events = await texts(page, '#flows-table tbody td.event');
	check(states.length > 0 && states.every((t) => !EVENTS.includes(t)), 'no event name in the TCP state column (' + [...new Set(states)].join(',') + ')');
	check(events.some((t) => EVENTS.includes(t)), 'event names in the Last event column (' + [...new Set(events)].join(',') + ')');

	// Keyboard focus survives the 2 s refresh.  Oldest first, so the
	// page's rows stay while new flows arrive.
	await page.goto(URL + '/#/flows?sort=last_seen&order=asc');
	await page.waitForSelector('#flows-table tbody tr:nth-child(3)');
	await page.focus('#flows-table tbody tr:nth-child(2)');
	await page.keyboard.press('ArrowDown');
	const fkey = await page.evaluate(() => document.activeElement.dataset.key);
	check(fkey === await page.getAttribute('#flows-table tbody tr:nth-child(3)', 'data-key'), 'the arrow keys move between rows');
	const oldBody = await page.evaluateHandle(() => document.querySelector('#flows-table tbody'));
	await until(page, (b) => !document.contains(b), oldBody);
	check(await page.evaluate(() => document.activeElement.tagName === 'TR' && document.activeElement.dataset.key) === fkey,
		'the focused row keeps the focus across a refresh (flow ' + fkey + ')');
	await page.keyboard.press('Enter');
	await page.waitForSelector('h1:text("Flow ' + fkey + '")');
	check(true, 'Enter on the focused row opens it');
	await page.goBack();
	await page.waitForSelector('#flows-table tbody tr');

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
	await page.locator('#flows-table tbody tr td:first-child').first().click();
	await page.waitForSelector('h1:text-matches("^Flow [0-9]+$")');
	check(await page.locator('.card h2:text-matches("^Client")').count() === 1, 'flow page shows the client side');
	check(await page.locator('.card h2:text-matches("^Server")').count() === 1, 'flow page shows the server side');
	check((await page.textContent('main')).includes('curl'), 'flow page shows the process');
	await shot('flow');

	// ---- new flow columns and filters: duration sort, a custom range,
	// the TCP state filter, application and server name
	await page.goto(URL + '/#/flows');
	await page.waitForSelector('#flows-table tbody tr');
	await page.click('th button.sort:text("Duration")');
	await until(page, () => location.hash.includes('sort=duration'));
	await page.waitForSelector('th button.sort.on[aria-sort="descending"]:text("Duration")');
	const durs = await page.evaluate(() => [...document.querySelectorAll('#flows-table tbody td.dur')].map((c) => {
		const e = c.querySelector('[data-s]'); return e ? Number(e.dataset.s) : 0; }));
	const maxDur = Number(sql('SELECT max(last_seen - coalesce(first_seen, last_seen)) FROM flows'));
	check(durs.length > 0 && durs.every((d, i) => i === 0 || d <= durs[i - 1]) && Math.abs(durs[0] - maxDur) < 10,
		'sorted by duration, longest first (' + durs[0].toFixed(1) + ' s; the database\'s longest: ' + maxDur.toFixed(1) + ' s)');
	const tput = await texts(page, '#flows-table tbody td.rate');
	check(tput.length > 0, 'a throughput column');
	// A custom range picked in the form lands in the URL as unix seconds.
	await page.selectOption('#f-from', 'custom');
	await page.waitForSelector('#f-from-at', { state: 'visible' });
	const t1 = Math.floor(Date.now() / 1000 / 60) * 60 + 120;
	const local = (t) => { const d = new Date(t * 1000); const z = (x) => String(x).padStart(2, '0');
		return `${d.getFullYear()}-${z(d.getMonth() + 1)}-${z(d.getDate())}T${z(d.getHours())}:${z(d.getMinutes())}`; };
	await page.fill('#f-from-at', local(t1 - 3600));
	await page.fill('#f-to-at', local(t1));
	await page.click('#f-apply');
	await until(page, (t) => location.hash.includes('from=' + (t - 3600)) && location.hash.includes('to=' + t), t1);
	await page.waitForSelector('#flows-table tbody tr');
	check(await page.inputValue('#f-from') === 'custom', 'a custom range in the flows filter (' + (t1 - 3600) + ' to ' + t1 + ')');
	await page.goto(URL + '/#/flows?state=FIN_WAIT1');
	await page.waitForSelector('#flows-table table');
	const fw = await texts(page, '#flows-table tbody td.state');
	check(fw.length === Number(sql("SELECT min(count(*), 50) FROM flows WHERE tcp_state = 'FIN-WAIT-1'")) && fw.every((t) => t === 'FIN-WAIT-1'),
		'state=FIN_WAIT1 shows the stored FIN-WAIT-1 rows (' + fw.length + ')');
	if (process.env.CAPTURE === '1') {
		// curl's TLS requests to the local server, as nDPI named them.
		const TLS_NAME = env('TLS_NAME');
		const nSni = () => Number(sql(`SELECT count(*) FROM flows WHERE tls_sni = '${TLS_NAME}'`));
		for (let i = 0; i < 100 && nSni() === 0; i++) await new Promise((res) => setTimeout(res, 200));
		const n = Math.min(nSni(), 50);
		await page.goto(URL + '/#/flows');
		await page.waitForSelector('#flows-table tbody tr');
		await page.fill('#f-sni', TLS_NAME);
		await page.press('#f-sni', 'Enter');
		await until(page, (x) => location.hash.includes('sni=' + x), TLS_NAME);
		await until(page, (k) => document.querySelectorAll('#flows-table tbody tr').length === k, n);
		const snis = await texts(page, '#flows-table tbody td.sni');
		const apps = await texts(page, '#flows-table tbody td.app');
		check(n > 0 && snis.every((t) => t === TLS_NAME), 'filtered on server name ' + TLS_NAME + ': ' + n + ' flows, as in the database');
		check(apps.every((t) => /^TLS/.test(t)), 'their application: ' + [...new Set(apps)].join(','));
		await shot('flows-sni');
		const nTls = Math.min(Number(sql("SELECT count(*) FROM flows WHERE app_proto = 'TLS' OR app_proto LIKE 'TLS.%'")), 50);
		await page.goto(URL + '/#/flows');
		await page.waitForSelector('#flows-table tbody tr');
		await page.fill('#f-app', 'TLS');
		await page.press('#f-app', 'Enter');
		await until(page, () => location.hash.includes('app=TLS'));
		await until(page, (k) => document.querySelectorAll('#flows-table tbody tr').length === k, nTls);
		check((await texts(page, '#flows-table tbody td.app')).every((t) => /^TLS(\.|$)/.test(t)), 'filtered on application TLS: ' + nTls + ' flows, as in the database');
		await page.locator('#flows-table tbody tr td:first-child').first().click();
		await page.waitForSelector('.card h2:text("Application")');
		check((await page.textContent('main')).includes(TLS_NAME), 'the flow page shows the TLS server name');
		await shot('flow-tls');
		// The name the capture saw in the SNI, found by the search box.
		for (let i = 0; i < 100 && !Number(sql(`SELECT count(*) FROM host_names WHERE name = '${TLS_NAME}'`)); i++)
			await new Promise((res) => setTimeout(res, 200));
		await page.fill('#search-q', TLS_NAME.slice(0, 9));
		await until(page, (x) => [...document.querySelectorAll('#search-results a.result[data-kind="name"] .main')].some((e) => e.textContent === x), TLS_NAME);
		check(true, 'search finds ' + TLS_NAME + ', the name seen on the wire');
		await page.fill('#search-q', '');
	} else
		console.log('# not root: no capture, so no application protocol or server name to filter on');

	// ---- search: an address, a process, a container, a name
	const search = async (q) => {
		await page.fill('#search-q', '');
		await page.fill('#search-q', q);
		await until(page, (x) => !document.querySelector('#search-results').hidden &&
			document.querySelector('#search-results').textContent.includes(x), q.split('.')[0]);
	};
	await search('192.168.1.');
	const found = await texts(page, '#search-results a.result[data-kind="host"] .main');
	const wantAddrs = sql("SELECT group_concat(a) FROM (SELECT DISTINCT a FROM (SELECT cli_addr a FROM flows UNION SELECT srv_addr FROM flows) WHERE a LIKE '192.168.1.%' ORDER BY a)");
	check(found.slice().sort().join(',') === wantAddrs, 'search 192.168.1.: the addresses of the flows (' + found.join(',') + ')');
	await shot('search');
	await search('resolved');
	check((await texts(page, '#search-results a.result[data-kind="process"] .main')).includes('/usr/lib/systemd/systemd-resolved'), 'search finds a process');
	await search('sleepy');
	check((await texts(page, '#search-results a.result[data-kind="container"] .main')).includes('sleepy_haibt'), 'search finds a container');
	await page.click('#search-results a.result[data-kind="container"]');
	await until(page, () => location.hash.includes('container=sleepy_haibt'));
	await page.waitForSelector('#flows-table tbody tr');
	check((await texts(page, '#flows-table tbody tr')).every((t) => t.includes('sleepy_haibt')), 'the container\'s flows');
	await search(NAME.slice(0, 8));
	check((await texts(page, '#search-results a.result[data-kind="name"] .main')).includes(NAME), 'search finds the host name ' + NAME);
	await page.press('#search-q', 'Enter');
	await until(page, (a) => location.hash === '#/host/' + encodeURIComponent(a), NAME_ADDR);
	check(true, 'Enter opens the first result, the host page of ' + NAME_ADDR);

	// ---- the host page
	await page.waitForSelector('#host-names b');
	check((await page.textContent('#host-names')).includes(NAME), 'the host page shows its name');
	const H = '192.168.1.23';
	await page.goto(URL + '/#/host/' + H);
	await page.waitForSelector('table.host-processes tbody tr');
	const hp = (await texts(page, 'table.host-processes tbody tr td:first-child')).sort();
	const wantHp = sql(`SELECT group_concat(p) FROM (SELECT DISTINCT replace(p, rtrim(p, replace(p, '/', '')), '') AS p FROM (
		SELECT cli_process p FROM flows WHERE cli_addr = '${H}' AND cli_process IS NOT NULL UNION
		SELECT srv_process FROM flows WHERE srv_addr = '${H}' AND srv_process IS NOT NULL) ORDER BY 1)`);
	check(hp.join(',') === wantHp, 'the processes on ' + H + ': ' + hp.join(','));
	const peers = await texts(page, 'table.host-peers tbody td:first-child');
	check(peers.includes('203.0.113.80') && peers.includes('198.51.100.7') && !peers.includes(H), 'its peers: ' + peers.join(','));
	check((await texts(page, 'table.host-services tbody td:first-child')).includes('TCP 443'), 'it answered on TCP 443 (nginx)');
	// The flow count shown equals what the same range holds (the page
	// and the query are a moment apart: live flows keep coming).
	const shownFlows = async () => Number((await page.textContent('#host-flows-kpi .kv')).replace(/,/g, ''));
	const hf = await shownFlows();
	const dbf = Number(sql(`SELECT count(*) FROM flows WHERE (cli_addr = '${H}' OR srv_addr = '${H}') AND last_seen >= strftime('%s','now') - 86400`));
	check(hf > 0 && hf <= dbf && dbf - hf < 100, 'its flow count ' + hf + ' (database now: ' + dbf + ')');
	const hrows = await texts(page, '#host-flows tbody tr');
	check(hrows.length > 0 && hrows.every((t) => t.includes(H)), 'its flows, each with ' + H);
	await page.hover('#host svg.chart');
	await page.waitForSelector('#host .tip:not([hidden])');
	const htip = await page.textContent('#host .tip');
	check(/flows: [0-9]/.test(htip), 'the flows chart tells its value under the pointer: ' + htip);
	await shot('host');
	// A custom range before the flows: nothing.
	const past = Math.floor(Date.now() / 1000) - 7 * 86400;
	await page.goto(URL + `/#/host/${H}?from=${past}&to=${past + 3600}`);
	await until(page, () => document.querySelector('#host-flows-kpi .kv') && document.querySelector('#host-flows-kpi .kv').textContent === '0');
	check((await page.textContent('#host-flows')).includes('No flows in this range'), 'a week-old range of the host holds no flow');
	check(await page.getAttribute('#range-custom', 'aria-pressed') === 'true', 'the custom range is marked');
	if (process.env.CAPTURE === '1') {
		await page.goto(URL + '/#/host/127.0.0.1');
		await until(page, () => document.querySelector('#host-bytes-kpi .kv') && /[0-9] [KMGT]?B/.test(document.querySelector('#host-bytes-kpi .kv').textContent));
		check(true, '127.0.0.1 (captured packets): bytes sent and received ' + await page.textContent('#host-bytes-kpi .kv'));
		await shot('host-captured');
	}

	// ---- the process tree: bash (a parent only) -> curl, with its flows
	await page.goto(URL + '/#/processes?by=tree');
	await page.waitForSelector('#process-tree li.node');
	const curl = page.locator('#process-tree li.node[data-pid="26219"] > ul > li.node[data-pid="30197"]');
	await curl.waitFor();
	check((await curl.locator('.node-line b').first().textContent()) === 'curl', 'curl (30197) under its parent bash (26219)');
	check(await page.locator('#process-tree li.node.only-parent[data-pid="26219"]').count() === 1, 'bash is shown as a parent only');
	check(await page.locator('#process-tree li.node[data-pid="1"] li.node[data-process="/usr/lib/systemd/systemd-resolved"]').count() === 1,
		'systemd-resolved under systemd (1)');
	await curl.locator('.node-toggle').first().click();
	await curl.locator('.node-flows tbody tr').first().waitFor();
	const cf = await curl.locator('.node-flows tbody tr').allTextContents();
	check(cf.length > 0 && cf.every((t) => t.includes('192.168.1.23') && t.includes('203.0.113.80')), 'curl\'s flows open under it (' + cf.length + ')');
	await shot('processes-tree');

	// ---- the dashboard: a custom range, tooltips, one attribution figure
	await page.goto(URL + '/#/');
	await page.waitForSelector('.kpi');
	const tops = await texts(page, 'table.top-processes tbody td:nth-child(3)');
	check(tops.length > 0 && !tops.every((t) => t === '0 B'), 'top processes are not all "0 B" (' + tops.join(',') + ')');
	const attrKpi = (await page.textContent('#kpi-attribution .kv')).trim();
	const attrRows = await page.evaluate(() => [...document.querySelectorAll('table.attribution tbody tr')].map((r) =>
		[Number(r.children[1].textContent.replace(/,/g, '')), Number(r.children[2].textContent.replace(/,/g, ''))]));
	const pf = attrRows.reduce((a, r) => a + r[0], 0), wp = attrRows.reduce((a, r) => a + r[1], 0);
	check(attrKpi === (pf ? (100 * wp / pf).toFixed(1) + ' %' : '–'), 'the attribution figure (' + attrKpi + ') is the attribution table\'s (' + wp + ' of ' + pf + ')');
	await page.click('#range-custom');
	await page.waitForSelector('#range-form', { state: 'visible' });
	const T0 = Math.floor(Date.now() / 1000 / 60) * 60;
	await page.fill('#range-from', local(T0 - 7200));
	await page.fill('#range-to', local(T0 - 3600));
	await page.click('#range-apply');
	await until(page, (t) => location.hash.includes('from=' + (t - 7200)) && location.hash.includes('to=' + (t - 3600)), T0);
	await until(page, () => document.querySelector('.kpi .kv') && document.querySelector('h2') &&
		[...document.querySelectorAll('.kpi .kl')].some((e) => e.textContent.includes(' to ')));
	const k0 = await page.textContent('.kpi .kv');
	check(k0 === String(Number(sql(`SELECT count(*) FROM flow_rows WHERE last_seen >= ${T0 - 7200} AND last_seen <= ${T0 - 3600}`))),
		'a custom range two hours back: ' + k0 + ' flows, as in the database');
	await shot('dashboard-custom');
	// A range that holds the live flows, ended a few seconds ago so that
	// the store has written all of it.
	const tB = Math.floor(Date.now() / 1000) - 3, tA = tB - 600;
	await new Promise((res) => setTimeout(res, 2500));
	await page.goto(URL + `/#/?from=${tA}&to=${tB}`);
	await until(page, (a) => document.querySelector('.kpi .kl') && document.querySelector('.kpi .kl').textContent.includes(' to '), tA);
	const k1 = Number((await page.textContent('.kpi .kv')).replace(/,/g, ''));
	const d1 = Number(sql(`SELECT count(*) FROM flow_rows WHERE last_seen >= ${tA} AND last_seen <= ${tB}`));
	check(k1 > 0 && k1 === d1, 'the last 10 minutes as a custom range: ' + k1 + ' flows, as in the database (' + d1 + ')');
	await page.goto(URL + '/#/?window=3600');
	await page.waitForSelector('svg.chart path.series');
	const chart = page.locator('svg.chart[aria-label="Flows per interval per interface"]');
	await chart.focus();
	await page.keyboard.press('ArrowLeft');
	const tip = page.locator('.chartbox:has(svg.chart[aria-label="Flows per interval per interface"]) .tip');
	await tip.waitFor();
	const tipText = await tip.textContent();
	check(tipText.includes(ZMQ) && /: [0-9]/.test(tipText), 'the chart\'s tooltip gives each series\' value: ' + tipText);
	const box = await chart.boundingBox();
	await page.mouse.move(box.x + box.width - 20, box.y + box.height / 2);
	await until(page, (z) => { const t = document.querySelectorAll('.tip:not([hidden])'); return t.length > 0 && [...t].some((e) => e.textContent.includes(z)); }, ZMQ);
	check(true, 'the tooltip follows the pointer');
	await shot('dashboard-tooltip');

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
	// From "Applied" on, the dropdown never shows the old value again
	// (sampled every 50 ms for 4 s, through the reloads of the table).
	await page.evaluate(() => document.activeElement.blur());
	const shown = [];
	for (let i = 0; i < 80; i++) {
		shown.push(await page.evaluate((z) => { const e = document.querySelector(`select.companion[data-iface="${z}"]`); return e ? e.value : '?'; }, ZMQ));
		await new Promise((res) => setTimeout(res, 50));
	}
	check(shown.every((v) => v === PKT), 'the companion dropdown shows ' + PKT + ' from "Applied" on (' + [...new Set(shown)].join(',') + ')');
	await shot('interfaces');

	await page.goto(URL + '/#/flows?iface=' + encodeURIComponent(PKT));
	await until(page, () => document.querySelectorAll('#flows-table tbody tr').length > 0, null, 30000);
	const ifaces = await page.locator('#flows-table tbody tr td:nth-child(2)').allTextContents();
	check(ifaces.length > 0 && ifaces.every((t) => t === PKT), 'the next events land in ' + PKT);
	await shot('flows-companion');

	// ---- a phone: every page's link on screen, readable chart labels,
	// no sideways scroll, a screenshot of every page
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(URL + '/#/');
	await page.waitForSelector('svg.chart');
	const navOut = await page.evaluate(() => [...document.querySelectorAll('#nav a')].filter((a) => {
		const b = a.getBoundingClientRect();
		return b.width === 0 || b.left < 0 || b.right > window.innerWidth + 0.5;
	}).map((a) => a.textContent));
	check(navOut.length === 0, 'every navigation link on a phone screen' + (navOut.length ? ': not ' + navOut.join(',') : ''));
	const axisPx = await page.evaluate(() => Math.min(...[...document.querySelectorAll('svg.chart text.axis')].map((t) => t.getBoundingClientRect().height)));
	check(axisPx >= 10, 'chart labels ' + axisPx.toFixed(1) + ' px high on a phone (at least 10)');
	for (const [hash, name, sel] of [['#/', 'dashboard', 'svg.chart'], ['#/flows', 'flows', '#flows-table tbody tr'],
		['#/flow/' + fkey, 'flow', '.card'], ['#/host/192.168.1.23', 'host', 'table.host-processes'],
		['#/processes', 'processes', 'main table'], ['#/processes?by=tree', 'processes-tree', '#process-tree'],
		['#/containers', 'containers', 'main table'], ['#/listening', 'listening', 'main table, main .empty'],
		['#/producers', 'producers', 'main table'], ['#/interfaces', 'interfaces', 'main table'], ['#/pipeline', 'pipeline', '.daemons .card']]) {
		await page.goto(URL + '/' + hash);
		await page.waitForSelector(sel);
		const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		check(over <= 1, name + ' on a phone: no sideways scroll (' + over + ' px)');
		await shot(name + '-phone');
	}
	await page.fill('#search-q', 'curl');
	await page.waitForSelector('#search-results a.result');
	await shot('search-phone');

	// ---- log out
	await page.setViewportSize({ width: 1400, height: 900 });
	await page.click('#logout');
	await page.waitForSelector('#login-form', { state: 'visible' });
	check(true, 'logged out');
	await page.setViewportSize({ width: 390, height: 844 });
	await shot('login-phone');
	await page.setViewportSize({ width: 1400, height: 900 });


	// ---- a page opened before the database exists tries again (after
	// the log out: its login replaces the first webd's session cookie)
	const late = await ctx.newPage();
	late.on('pageerror', (e) => problems.push('page error (late): ' + e.message));
	await late.goto(LATE_URL + '/#/flows');
	await late.waitForSelector('#login-form', { state: 'visible' });
	await late.fill('#login-user', USER);
	await late.fill('#login-pass', PASS);
	await late.press('#login-pass', 'Enter');
	await late.waitForSelector('#page-error');
	check((await late.textContent('#page-error')).includes('trying again'), 'no database yet: the page says it will try again');
	execFileSync('sqlite3', [DB, '.timeout 5000', `.backup ${LATE_DB}`]);
	await late.waitForSelector('#flows-table tbody tr', { timeout: 30000 });
	check(await late.locator('#page-error').count() === 0, 'the database appeared: the page shows its flows without a reload');
	await late.close();

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
