// evflow UI: interfaces and their settings (mirrored, companion), and
// every daemon's counters.
// Loaded after app.js (index.html), whose helpers it uses.
'use strict';

// ---- interfaces and their settings

PAGES.interfaces = async (root) => {
	const seq = S.seq;
	const holder = h('div');
	const msg = h('p', { class: 'msg', id: 'iface-msg', role: 'status', 'aria-live': 'polite' });
	const counters = h('div', { id: 'ifcounters' });
	root.append(h('h1', {}, 'Interfaces'),
		h('p', { class: 'muted' }, 'Mark a packet interface "Mirrored Traffic" when it sees traffic of other hosts; pick it as the "Companion Interface" of a ZMQ interface to also send that interface\'s events there, where they join the packet flows. Changes apply at once.'),
		msg, holder, counters);
	let last = {};
	// Interface counters exported by the probes (`counter` topic), as a
	// time series per device interface: in and out bits/s.
	const loadCounters = async () => {
		const j = await api('/api/v1/ifcounters?from=-3600');
		if (!current(seq)) return;
		const by = new Map();
		for (const r of j.samples) {
			const k = (r.device || '?') + ' ' + (r.if_name || '#' + r.if_index);
			if (!by.has(k)) by.set(k, []);
			by.get(k).push(r);
		}
		const now = Date.now() / 1000;
		const series = [];
		for (const [k, rows] of by) {
			series.push({ name: k + ' in', points: rows.filter((r) => r.in_bps !== null).map((r) => [r.ts, r.in_bps]) });
			series.push({ name: k + ' out', points: rows.filter((r) => r.out_bps !== null).map((r) => [r.ts, r.out_bps]) });
		}
		counters.replaceChildren(card('Interface counters from the probes (last hour)',
			j.samples.length ? h('div', {}, lineChart(series, { from: now - 3600, to: now, fmt: fmtBits, label: 'Interface counters',
				zero: 'one sample so far per interface: rates need two' }),
			table([
				{ label: 'Device', fmt: (r) => r.device },
				{ label: 'Interface', fmt: (r) => r.if_name || '#' + r.if_index },
				{ label: 'Speed', cls: 'num', fmt: (r) => r.if_speed ? fmtBits(r.if_speed).replace('/s', '') : '–' },
				{ label: 'In', cls: 'num', fmt: (r) => fmtBytes(r.in_octets) },
				{ label: 'Out', cls: 'num', fmt: (r) => fmtBytes(r.out_octets) },
				{ label: 'Errors', cls: 'num', fmt: (r) => fmtNum((r.in_errors || 0) + (r.out_errors || 0)) },
				{ label: 'Sample', fmt: (r) => fmtAgo(r.ts) },
			], [...by.values()].map((rows) => rows[rows.length - 1])))
				: h('p', { class: 'muted' }, 'No probe has sent interface counters in the last hour.')));
	};
	loadCounters().catch(() => {});
	const rates = new Map();
	// A setting the router accepted is shown as applied until the
	// router's table (polled by webd once a second) says the same, or
	// for PENDING_MS at most: a reload never shows the old value again.
	const PENDING_MS = 5000;
	const pending = new Map();	// name -> {mirrored?, companion?, t}
	const set = async (body, what) => {
		msg.className = 'msg';
		msg.textContent = 'Applying ' + what + '…';
		try {
			await api('/api/v1/interfaces/settings', { method: 'POST', body });
			const was = pending.get(body.name) || {};
			pending.set(body.name, Object.assign(was, body, { t: Date.now() }));
			msg.className = 'msg ok';
			msg.textContent = 'Applied: ' + what + '.';
		} catch (e) {
			msg.className = 'msg bad';
			msg.textContent = 'Refused: ' + e.message;
		}
		load().catch(() => {});
	};
	const load = async () => {
		const j = await api('/api/v1/interfaces');
		if (!current(seq)) return;
		// The router's live table wins for the settings (the store's
		// copy follows a moment later) and adds dispatch counters.
		const live = new Map((j.router || []).map((x) => [x.name, x]));
		for (const i of j.interfaces) {
			const x = live.get(i.name);
			if (x) {
				i.mirrored = x.mirrored ? 1 : 0;
				i.companion = x.companion;
				i.router = x.counters;
			}
			const w = pending.get(i.name);
			if (!w) continue;
			const agrees = (w.mirrored === undefined || !!i.mirrored === w.mirrored) &&
				(w.companion === undefined || (i.companion || null) === w.companion);
			if (agrees || Date.now() - w.t > PENDING_MS) { pending.delete(i.name); continue; }
			if (w.mirrored !== undefined) i.mirrored = w.mirrored ? 1 : 0;
			if (w.companion !== undefined) i.companion = w.companion;
		}
		S.ifaces = j.interfaces;
		const now = Date.now() / 1000;
		const packet = j.interfaces.filter((i) => i.kind === 'packet');
		swap(holder, table([
			{ label: 'Id', cls: 'num', fmt: (i) => i.router_id ?? '–' },
			{ label: 'Interface', fmt: (i) => h('a', { href: '#/flows?iface=' + encodeURIComponent(i.name) }, i.name) },
			{ label: 'Kind', fmt: (i) => i.kind === 'zmq' ? 'ZMQ' : i.kind === 'packet' ? 'packet' : i.kind },
			{ label: 'Mirrored Traffic', fmt: (i) => i.kind !== 'packet' ? '–' : h('label', { class: 'check' },
				h('input', { type: 'checkbox', class: 'mirrored', 'data-iface': i.name, checked: !!i.mirrored,
					onchange: (ev) => set({ name: i.name, mirrored: ev.target.checked }, i.name + ' mirrored ' + (ev.target.checked ? 'on' : 'off')) }),
				' mirrored') },
			{ label: 'Companion Interface', fmt: (i) => i.kind !== 'zmq' ? '–' : h('select', { class: 'companion', 'data-iface': i.name,
				'aria-label': 'Companion of ' + i.name,
				onchange: (ev) => set({ name: i.name, companion: ev.target.value || null }, i.name + ' companion ' + (ev.target.value || 'none')) },
				h('option', { value: '' }, 'none'),
				packet.map((pi) => h('option', { value: pi.name, selected: i.companion === pi.name, disabled: !pi.mirrored && i.companion !== pi.name },
					pi.name + (pi.mirrored ? '' : ' (not mirrored)')))) },
			{ label: 'Flows (2 min)', cls: 'num', fmt: (i) => fmtNum(i.recent_flows) },
			{ label: 'Delivered', cls: 'num', fmt: (i) => i.router ? h('span', { title: 'router: ' + fmtNum(i.router.origin_delivered) + ' own, ' +
				fmtNum(i.router.ifname_delivered) + ' by IF_NAME, ' + fmtNum(i.router.companion_delivered) + ' as companion' }, fmtNum(i.router.delivered)) : '–' },
			{ label: 'Records/s', cls: 'num', fmt: (i) => {
				const m = i.router ? i.router.delivered : i.counters && i.counters.merged;
				const prev = last[i.name];
				let rate = rates.get(i.name);
				if (m !== undefined && prev && now > prev.t) { rate = (m - prev.m) / (now - prev.t); rates.set(i.name, rate); }
				last[i.name] = { m, t: now };
				return rate === undefined ? '–' : rate.toFixed(1);
			} },
			{ label: 'Merged', cls: 'num', fmt: (i) => fmtNum(i.counters && i.counters.merged) },
			{ label: 'Joins / misses', cls: 'num', fmt: (i) => i.kind !== 'packet' ? '–' : fmtNum(i.counters && i.counters.joins) + ' / ' + fmtNum(i.counters && i.counters.misses) },
			// The dashboard's definition (packet flows with a process), over
			// the flows ended and live since the store started: the
			// store's own attribution_ratio.
			{ label: 'Attribution (since start)', cls: 'num', fmt: (i) => {
				const c = i.counters || {};
				const all = (c.packet_flows || 0) + (c.live_packet_flows || 0);
				return i.kind === 'packet' && all ? bar(((c.packet_flows_with_process || 0) + (c.live_packet_flows_with_process || 0)) / all) : '–';
			} },
			{ label: 'Last listed', fmt: (i) => fmtAgo(i.last_seen) },
		], j.interfaces, { empty: 'The store has not recorded any interface yet.', cls: 'ifaces' }));
		status('updated ' + new Date().toLocaleTimeString());
	};
	await load();
	let ticks = 0;
	every(3000, () => {
		if (!holder.contains(document.activeElement) || document.activeElement.tagName !== 'SELECT') load().catch((e) => status(e.message, true));
		if (++ticks % 5 === 0) loadCounters().catch(() => {});
	});
};

// ---- pipeline counters

PAGES.pipeline = async (root) => {
	const seq = S.seq;
	const holder = h('div');
	root.append(h('h1', {}, 'Pipeline'), h('p', { class: 'muted' }, 'Every daemon\'s counters: live from its control socket, or the last values the store recorded. Drop counters that are not zero are red.'), holder);
	const isDrop = (k) => /drop|lost|bad|error|refused|evicted/.test(k);
	const load = async () => {
		const j = await api('/api/v1/daemons');
		if (!current(seq)) return;
		const liveNames = new Set(j.live.map((d) => d.name));
		const blocks = j.live.map((d) => ({ name: d.name, up: d.up, role: d.stats && d.stats.role, seen: d.last_seen,
			counters: (d.stats && d.stats.counters) || {} }));
		for (const s of j.stored) if (!liveNames.has(s.daemon) && !s.daemon.includes('.'))
			blocks.push({ name: s.daemon, up: false, role: s.role, seen: s.updated, counters: s.counters || {}, stored: true });
		// In pipeline order: producers' side first, the store last.
		const order = { collector: 0, capture: 1, router: 2, store: 3, webd: 4 };
		blocks.sort((a, b) => (order[a.role] ?? 5) - (order[b.role] ?? 5) || a.name.localeCompare(b.name));
		holder.replaceChildren(h('div', { class: 'daemons' }, blocks.map((b) => card(
			h('span', {}, h('span', { class: 'pill ' + (b.up ? 'ok' : 'bad') }, b.up ? 'up' : 'down'), ' ' + b.name + (b.role && b.role !== b.name ? ' (' + b.role + ')' : '')),
			h('p', { class: 'muted' }, (b.stored ? 'stored ' : 'live, ') + fmtAgo(b.seen)),
			h('table', { class: 'grid compact' }, h('tbody', {}, Object.entries(b.counters).filter(([k]) => !k.startsWith('iface.')).map(([k, v]) =>
				h('tr', { class: isDrop(k) && v > 0 ? 'bad' : '' }, h('td', {}, k), h('td', { class: 'num' }, fmtNum(v))))))))));
		status('updated ' + new Date().toLocaleTimeString());
	};
	await load();
	every(3000, () => load().catch((e) => status(e.message, true)));
};
