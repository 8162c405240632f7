// evflow UI: the dashboard, and the key numbers, bars and byte cells
// other pages use too.
// Loaded after app.js (index.html), whose helpers it uses.
'use strict';

// ---- dashboard

PAGES.dashboard = async (root, r) => {
	const seq = S.seq;
	const rg = rangeOf(r.params, '900');
	const wl = rg.custom ? rg.label : rg.label.replace(/^last /, '');
	const rl = rg.custom ? rg.label : rg.label;
	const sw = rangeBar(r.params, rg, '900', (q) => setHash('dashboard', q));
	const draw = async () => {
		const j = await api('/api/v1/summary?' + rangeParams(rg, new URLSearchParams(), 'window'));
		const d = await api('/api/v1/daemons');
		if (!current(seq)) return;
		const step = j.step;
		const names = [...new Set(j.throughput.map((r) => r.iface))];
		const series = names.map((n) => {
			const by = new Map(j.throughput.filter((r) => r.iface === n).map((r) => [r.t, r.bytes * 8 / step]));
			const pts = [];
			for (let t = Math.floor(j.from / step) * step; t <= j.to; t += step)
				pts.push([t, by.get(t) || 0]);
			return { name: n, points: pts };
		});
		const fseries = names.map((n) => {
			const by = new Map(j.throughput.filter((r) => r.iface === n).map((r) => [r.t, r.flows]));
			const pts = [];
			for (let t = Math.floor(j.from / step) * step; t <= j.to; t += step)
				pts.push([t, by.get(t) || 0]);
			return { name: n, points: pts };
		});
		// Captured throughput: rates between successive samples of each
		// capture daemon's byte counter (a restart resets it: skipped).
		const cap = new Map();
		for (const r of j.capture_bytes) {
			if (!cap.has(r.daemon)) cap.set(r.daemon, []);
			cap.get(r.daemon).push(r);
		}
		const cseries = [...cap].map(([d, rows]) => {
			const pts = [];
			for (let k = 1; k < rows.length; k++) {
				const dt = rows[k].t - rows[k - 1].t, db = rows[k].bytes - rows[k - 1].bytes;
				if (dt > 0 && db >= 0) pts.push([rows[k].t, db * 8 / dt]);
			}
			return { name: d.replace(/^capture-/, ''), points: pts };
		});
		const tot = j.totals[0] || {};
		// Attribution has one definition everywhere: packet flows (seen
		// on a packet interface) that carry a process on some side.
		// Event rows always carry one and would make it meaningless.
		const kpis = h('div', { class: 'kpis' },
			kpi('Flows (' + wl + ')', fmtNum(tot.flows || 0)),
			kpi('Bytes (' + wl + ')', tot.bytes === null || tot.bytes === undefined ? '–' : fmtBytes(tot.bytes),
				tot.bytes === null || tot.bytes === undefined ? 'no byte counters: flows seen through events only' : null),
			kpi('Packet flows with a process', tot.packet_flows ? pct(tot.attributed / tot.packet_flows) : '–',
				tot.packet_flows ? fmtNum(tot.attributed) + ' of ' + fmtNum(tot.packet_flows) + ' packet flows' : 'no packet flows in this range', 'kpi-attribution'),
			kpi('Daemons up', d.live.filter((x) => x.up).length + ' / ' + d.live.length));
		const attr = j.attribution.length ? table([
			{ key: 'iface', label: 'Packet interface' },
			{ key: 'packet_flows', label: 'Packet flows', cls: 'num', fmt: (r) => fmtNum(r.packet_flows) },
			{ key: 'with_process', label: 'With a process', cls: 'num', fmt: (r) => fmtNum(r.with_process) },
			{ label: 'Attribution', cls: 'num', fmt: (r) => bar(r.packet_flows ? r.with_process / r.packet_flows : 0) },
		], j.attribution, { cls: 'attribution' }) : h('p', { class: 'muted' }, 'No packet flows in this range.');
		const drops = j.drops.filter((r) => r.value > 0);
		// A store whose commits fail (disk full, I/O errors), from its
		// live stats: its counters in the database are not written then.
		const failing = d.live.filter((x) => x.stats && x.stats.write_state === 'failing').map((x) =>
			h('p', { class: 'error write-failing', role: 'alert' }, x.name + ': writes failing since ' +
				new Date(x.stats.write_failing_since * 1000).toLocaleString() + ': ' + (x.stats.write_error || '?') + ' (' +
				fmtNum(x.stats.counters.write_retry_rows || 0) + ' rows held for the next attempt, ' +
				fmtNum(x.stats.counters.write_rows_dropped || 0) + ' dropped)'));
		root.replaceChildren(
			h('div', { class: 'titlebar' }, h('h1', {}, 'Dashboard'), h('span', { class: 'spacer' }), sw),
			...failing,
			kpis,
			h('div', { class: 'cols' },
				cseries.length ? card('Captured throughput by packet interface (bits/s, ' + rl + ')',
					lineChart(cseries, { from: j.from, to: j.to, fmt: fmtBits, label: 'Captured throughput per interface',
						// One counter sample per daemon gives no rate yet (the
						// store samples every store.history_interval): say so
						// rather than claim nothing was captured.
						zero: cseries.some((s) => s.points.length) ? 'no packets captured in this window'
							: 'one counter sample so far: rates need two' }))
				: card('Flow bytes by interface (bits/s, by last update, ' + rl + ')',
					series.length ? lineChart(series, { from: j.from, to: j.to, fmt: fmtBits, label: 'Flow bytes per interface',
						zero: 'no byte counters in this window (event-only flows carry none)' })
						: h('p', { class: 'muted' }, 'No flows in the window.')),
				card('Flows updated per ' + (step >= 60 ? step / 60 + ' min' : step + ' s') + ', by interface',
					fseries.length ? lineChart(fseries, { from: j.from, to: j.to, fmt: (v) => fmtNum(Math.round(v * 10) / 10), label: 'Flows per interval per interface' })
						: h('p', { class: 'muted' }, 'No flows in the window.'))),
			h('div', { class: 'cols' },
				card('Top processes', table([
					{ key: 'process', label: 'Process', fmt: (r) => h('a', { href: '#/flows?process=' + encodeURIComponent(r.process), title: r.process }, base(r.process)) },
					{ key: 'flows', label: 'Flows', cls: 'num', fmt: (r) => fmtNum(r.flows) },
					{ key: 'bytes', label: 'Bytes', cls: 'num', fmt: (r) => bytesCell(r.bytes) },
				], j.top_processes, { cls: 'top-processes' })),
				card('Top talkers', table([
					{ key: 'addr', label: 'Address', fmt: (r) => hostLink(r.addr) },
					{ key: 'flows', label: 'Flows', cls: 'num', fmt: (r) => fmtNum(r.flows) },
					{ key: 'bytes', label: 'Bytes', cls: 'num', fmt: (r) => bytesCell(r.bytes) },
				], j.top_talkers, { cls: 'top-talkers' }))),
			h('div', { class: 'cols' },
				card('Attribution (packet flows carrying a process)', attr),
				card('Drops at every stage', drops.length ? table([
					{ key: 'daemon', label: 'Daemon' },
					{ key: 'key', label: 'Counter' },
					{ key: 'value', label: 'Value', cls: 'num bad', fmt: (r) => fmtNum(r.value) },
				], drops) : h('p', { class: 'ok' }, 'No drops recorded: ' + j.drops.length + ' drop counters, all zero.'))));
		status('updated ' + new Date().toLocaleTimeString());
	};
	await draw();
	// A past custom range does not change; a chart being read (pointer
	// or focus on it) is not redrawn under the reader.
	if (!rg.custom || !rg.to)
		every(5000, () => {
			// Nor while the range is being picked (a redraw moves the
			// range bar, which would take the focus from its fields).
			if (!root.querySelector('svg.chart:hover, svg.chart:focus') && !sw.contains(document.activeElement))
				draw().catch((e) => status(e.message, true));
		});
};

// Bytes, or a dash that says why when nothing was measured.
function bytesCell(n) {
	return n === null || n === undefined ? h('span', { class: 'muted', title: 'no byte counters: seen through events only' }, '–') : fmtBytes(n);
}
function hostLink(a) {
	return a ? h('a', { href: '#/host/' + encodeURIComponent(a), class: 'host' }, a) : '–';
}

function kpi(label, value, title, id) {
	return h('div', { class: 'kpi', id, title }, h('div', { class: 'kv' }, value), h('div', { class: 'kl' }, label));
}
// One rounding for every percentage shown.
function pct(f) { return (100 * f).toFixed(1) + ' %'; }
function bar(f) {
	const p = Math.round(f * 100);
	return h('span', { class: 'bar', title: pct(f) }, h('span', { class: 'barfill w' + Math.min(100, Math.max(0, Math.round(p / 5) * 5)) }), pct(f));
}
