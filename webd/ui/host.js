// evflow UI: one host's page (everything about an address) and the
// search box in the header.
// Loaded after app.js (index.html), whose helpers it uses.
'use strict';

// ---- one host: everything about an address

PAGES.host = async (root, r) => {
	const seq = S.seq;
	const addr = r.arg || '';
	const p = r.params;
	const rg = rangeOf(p, '86400');
	const go = (q) => setHash('host/' + encodeURIComponent(addr), q);
	const holder = h('div', { id: 'host' });
	const flows = h('div', { id: 'host-flows' });
	root.append(h('div', { class: 'titlebar' }, h('h1', {}, 'Host ', h('span', { id: 'host-addr' }, addr)),
		h('span', { class: 'spacer' }), rangeBar(p, rg, '86400', go)), holder,
	card(h('span', {}, 'Flows of this host (', h('a', { href: '#/flows?addr=' + encodeURIComponent(addr), id: 'host-all-flows' }, 'all, with filters'), ')'), flows));
	const load = async () => {
		const q = rangeParams(rg, new URLSearchParams(), 'from');
		const j = await api('/api/v1/hosts/' + encodeURIComponent(addr) + '?' + q);
		const fq = rangeParams(rg, new URLSearchParams({ addr, limit: '20' }), 'from');
		const fl = await api('/api/v1/flows?' + fq);
		if (!current(seq)) return;
		const x = j.host, t = x.totals[0] || {};
		const step = x.step;
		const bucket = (key) => {
			const by = new Map(x.series.map((s) => [s.t, s[key]]));
			const pts = [];
			for (let u = Math.floor(x.from / step) * step; u <= x.to; u += step)
				pts.push([u, key === 'flows' ? by.get(u) || 0 : (by.get(u) || 0) * 8 / step]);
			return pts;
		};
		const measured = x.series.some((s) => s.bytes_sent !== null || s.bytes_rcvd !== null);
		const names = x.names.map((n) => n.name).filter((n) => n !== addr);
		swap(holder, h('div', {},
			names.length ? h('p', { class: 'lead', id: 'host-names' }, 'Known as ', names.map((n, i) =>
				[i ? ', ' : '', h('b', {}, n)])) : h('p', { class: 'muted', id: 'host-names' }, 'No name seen for this address.'),
			h('div', { class: 'kpis' },
				kpi('Flows (' + rg.label + ')', fmtNum(t.flows || 0), null, 'host-flows-kpi'),
				kpi('As client / as server', fmtNum(t.as_client || 0) + ' / ' + fmtNum(t.as_server || 0)),
				kpi('Sent / received', (t.bytes_sent === null ? '–' : fmtBytes(t.bytes_sent)) + ' / ' + (t.bytes_rcvd === null ? '–' : fmtBytes(t.bytes_rcvd)),
					t.bytes_sent === null && t.bytes_rcvd === null ? 'no byte counters: seen through events only' : null, 'host-bytes-kpi'),
				kpi('Peers', fmtNum(t.peers || 0)),
				kpi('Seen', t.last_seen ? fmtAgo(t.last_seen) : '–', t.first_seen ? 'first ' + fmtTime(t.first_seen) + ', last ' + fmtTime(t.last_seen) : null)),
			h('div', { class: 'cols' },
				card('Bytes over time (bits/s, ' + rg.label + ')', measured ? lineChart([
					{ name: 'sent', points: bucket('bytes_sent') }, { name: 'received', points: bucket('bytes_rcvd') }],
				{ from: x.from, to: x.to, fmt: fmtBits, label: 'Bytes of ' + addr }) :
					h('p', { class: 'muted' }, 'No byte counters in this range (events carry none).')),
				card('Flows per ' + (step >= 60 ? Math.round(step / 60) + ' min' : step + ' s'), lineChart([{ name: 'flows', points: bucket('flows') }],
					{ from: x.from, to: x.to, fmt: (v) => fmtNum(Math.round(v * 10) / 10), label: 'Flows of ' + addr }))),
			h('div', { class: 'cols' },
				card('Processes on this host', table([
					{ label: 'Process', fmt: (z) => h('a', { href: '#/flows?addr=' + encodeURIComponent(addr) + (z.pid ? '&pid=' + z.pid : '') + (z.process ? '&process=' + encodeURIComponent(z.process) : ''), title: z.process || '' }, base(z.process) || '?') },
					{ label: 'PID', cls: 'num', fmt: (z) => z.pid },
					{ label: 'User', fmt: (z) => z.user },
					{ label: 'Container', fmt: (z) => z.container },
					{ label: 'Flows', cls: 'num', fmt: (z) => fmtNum(z.flows) },
					{ label: 'Bytes', cls: 'num', fmt: (z) => bytesCell(z.bytes) },
				], x.processes, { cls: 'host-processes', empty: 'No process known on this side of its flows.' })),
				card('Peers', table([
					{ label: 'Address', fmt: (z) => hostLink(z.addr) },
					{ label: 'Flows', cls: 'num', fmt: (z) => fmtNum(z.flows) },
					{ label: 'Bytes', cls: 'num', fmt: (z) => bytesCell(z.bytes) },
					{ label: 'Last seen', fmt: (z) => fmtAgo(z.last_seen) },
				], x.peers, { cls: 'host-peers' }))),
			h('div', { class: 'cols' },
				card('Services it answered', table([
					{ label: 'Port', fmt: (z) => fmtProto(z.proto) + ' ' + z.port },
					{ label: 'Clients', cls: 'num', fmt: (z) => fmtNum(z.clients) },
					{ label: 'Flows', cls: 'num', fmt: (z) => fmtNum(z.flows) },
					{ label: 'Bytes', cls: 'num', fmt: (z) => bytesCell(z.bytes) },
				], x.services, { cls: 'host-services', empty: 'It answered no flow in this range.' })),
				card('Names', table([
					{ label: 'Name', fmt: (z) => z.name },
					{ label: 'Seen in', fmt: (z) => z.source },
					{ label: 'Last seen', fmt: (z) => fmtAgo(z.last_seen) },
				], x.names, { cls: 'host-names', empty: 'No DNS answer, TLS or HTTP name seen for it.' })))));
		swap(flows, table(FLOW_COLS, fl.flows, { key: (row) => row.id, onRow: (row) => { location.hash = '#/flow/' + row.id; },
			empty: 'No flows in this range.', cls: 'flows' }));
		status('updated ' + new Date().toLocaleTimeString());
	};
	await load();
	if (!rg.custom || !rg.to)
		every(10000, () => {
			if (!root.querySelector('svg.chart:hover, svg.chart:focus')) load().catch((e) => status(e.message, true));
		});
};

// ---- the search box: addresses, processes, containers, names

const IP_RE = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;
let searchSeq = 0, searchTimer = null;

async function search(q) {
	const box = $('search-results');
	const mine = ++searchSeq;
	if (!q) { box.hidden = true; box.replaceChildren(); return; }
	let j;
	try {
		j = await api('/api/v1/search?' + new URLSearchParams({ q, limit: '6' }));
	} catch (e) {
		if (mine !== searchSeq) return;
		box.replaceChildren(h('p', { class: 'error' }, e.message));
		box.hidden = false;
		return;
	}
	if (mine !== searchSeq) return;
	const groups = [];
	const item = (href, kind, main, note) => h('a', { href, class: 'result', 'data-kind': kind, role: 'option' },
		h('span', { class: 'kind' }, kind), h('span', { class: 'main' }, main), note ? h('span', { class: 'muted' }, ' ' + note) : null);
	const addrs = j.addresses.map((a) => item('#/host/' + encodeURIComponent(a.addr), 'host', a.addr, fmtNum(a.flows) + ' flows'));
	// An address without flows still has a (empty) host page.
	if (IP_RE.test(q) && !j.addresses.some((a) => a.addr === q.toLowerCase()))
		addrs.push(item('#/host/' + encodeURIComponent(q), 'host', q, 'no flows in 24 h'));
	if (addrs.length) groups.push(['Addresses', addrs]);
	if (j.names.length) groups.push(['Names', j.names.map((n) => item('#/host/' + encodeURIComponent(n.addr), 'name', n.name, n.addr))]);
	if (j.processes.length) groups.push(['Processes', j.processes.map((x) => item('#/flows?' + new URLSearchParams(x.pid ? { pid: String(x.pid), process: x.process } : { process: x.process }),
		'process', x.process, x.pid ? 'pid ' + x.pid : fmtNum(x.pids) + ' pids'))]);
	if (j.containers.length) groups.push(['Containers and pods', j.containers.map((c) => item('#/flows?' + new URLSearchParams(c.name ? { container: c.name } : { pod: c.pod }),
		'container', c.name || c.pod, [c.kind, c.pod, c.id && c.id.slice(0, 12)].filter(Boolean).join(' · ')))]);
	box.replaceChildren(...(groups.length ? groups.map(([t, items]) => h('div', { class: 'group', role: 'group', 'aria-label': t }, h('div', { class: 'gtitle', 'aria-hidden': 'true' }, t), items))
		: [h('p', { class: 'muted empty' }, 'Nothing matches "' + q + '".')]));
	box.hidden = false;
}
function searchClose() {
	$('search-results').hidden = true;
}
function searchSetup() {
	const input = $('search-q'), box = $('search-results');
	input.addEventListener('input', () => {
		clearTimeout(searchTimer);
		searchTimer = setTimeout(() => search(input.value.trim()), 150);
	});
	$('search').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearTimeout(searchTimer);
		await search(input.value.trim());
		const first = box.querySelector('a.result');
		if (first) { location.hash = first.getAttribute('href'); searchClose(); input.value = ''; input.blur(); }
	});
	input.addEventListener('keydown', (ev) => {
		if (ev.key === 'ArrowDown') { const a = box.querySelector('a.result'); if (a) { a.focus(); ev.preventDefault(); } }
		else if (ev.key === 'Escape') { searchClose(); input.blur(); }
	});
	box.addEventListener('keydown', (ev) => {
		const all = [...box.querySelectorAll('a.result')], i = all.indexOf(document.activeElement);
		if (ev.key === 'ArrowDown' && i + 1 < all.length) { all[i + 1].focus(); ev.preventDefault(); }
		else if (ev.key === 'ArrowUp') { (i > 0 ? all[i - 1] : input).focus(); ev.preventDefault(); }
		else if (ev.key === 'Escape') { searchClose(); input.focus(); }
	});
	box.addEventListener('click', (ev) => { if (ev.target.closest('a.result')) { searchClose(); input.value = ''; } });
	document.addEventListener('click', (ev) => { if (!ev.target.closest('#search')) searchClose(); });
}
