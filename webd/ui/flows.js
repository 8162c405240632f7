// evflow UI: the flows list (filters, columns, keyset pages) and one
// flow's page.
// Loaded after app.js (index.html), whose helpers it uses.
'use strict';

// ---- flows

const FLOW_FILTERS = [
	{ key: 'iface', label: 'Interface', type: 'iface' },
	{ key: 'proto', label: 'Protocol', type: 'select', options: ['', 'tcp', 'udp', 'icmp', 'icmpv6'] },
	{ key: 'addr', label: 'Address / CIDR', ph: '10.0.0.0/8' },
	{ key: 'port', label: 'Port', ph: '443', size: 6 },
	{ key: 'app', label: 'Application', ph: 'TLS or DNS', size: 10 },
	{ key: 'sni', label: 'Server name', ph: 'example.org', size: 14 },
	{ key: 'process', label: 'Process', ph: 'curl or /usr/bin/curl' },
	{ key: 'pid', label: 'PID', size: 7 },
	{ key: 'user', label: 'User', size: 9 },
	{ key: 'container', label: 'Container', size: 10 },
	{ key: 'pod', label: 'Pod', size: 10 },
	{ key: 'state', label: 'TCP state', type: 'select', options: ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'RESET'] },
	{ key: 'attributed', label: 'Process known', type: 'select', options: ['', 'yes', 'no'] },
	{ key: 'from', label: 'Since', type: 'range', options: ['', '-300', '-3600', '-86400', '-604800', 'custom'], names: ['any time', '5 min', '1 hour', '1 day', '7 days', 'custom…'] },
	{ key: 'live', label: 'Live', type: 'select', options: ['', 'yes', 'no'], names: ['all', 'live (2 min)', 'ended'] },
];

function fmtDur(s) {
	if (s === null || s === undefined || !(s >= 0)) return '–';
	if (s < 1) return (s * 1000).toFixed(0) + ' ms';
	if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
	if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
	return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
}
function flowBytes(r) {
	return r.c2s_bytes === null && r.s2c_bytes === null ? null : (r.c2s_bytes || 0) + (r.s2c_bytes || 0);
}
function flowDur(r) { return r.first_seen ? r.last_seen - r.first_seen : null; }
// Bits per second over the flow's life; nothing for an instant flow.
function flowRate(r) {
	const b = flowBytes(r), d = flowDur(r);
	return b === null || !(d > 0) ? null : b * 8 / d;
}
// The server's name: what the capture saw (TLS SNI, HTTP host, the DNS
// question of a DNS flow), else a name the store learned for it.
function serverName(r) { return r.tls_sni || r.http_host || r.dns_query || r.srv_name || null; }

const FLOW_COLS = [
	{ label: 'Last seen', sort: 'last_seen', fmt: (r) => h('span', { title: fmtTime(r.last_seen) }, fmtAgo(r.last_seen)) },
	{ label: 'Interface', sort: 'iface', fmt: (r) => r.iface },
	{ label: 'Proto', sort: 'proto', fmt: (r) => fmtProto(r.proto) },
	{ label: 'Application', sort: 'app', cls: 'app', fmt: (r) => r.app_proto ? h('span', { title: r.app_category || '' }, r.app_proto) : '–' },
	{ label: 'Client', sort: 'cli_addr', fmt: (r) => endpointLink(r.cli_addr, r.cli_port, r.cli_name) },
	{ label: 'Client process', sort: 'cli_process', fmt: (r) => proc(r.cli_process, r.cli_pid, r.cli_user, r.cli_container_name || r.cli_pod) },
	{ label: 'Server', sort: 'srv_addr', fmt: (r) => endpointLink(r.srv_addr, r.srv_port, r.srv_name) },
	{ label: 'Server name', sort: 'sni', cls: 'sni', fmt: (r) => serverName(r) ? h('span', { title: serverName(r) }, serverName(r)) : '–' },
	{ label: 'Server process', sort: 'srv_process', fmt: (r) => proc(r.srv_process, r.srv_pid, r.srv_user, r.srv_container_name || r.srv_pod) },
	{ label: 'TCP state', sort: 'state', cls: 'state', fmt: (r) => r.state || '–' },
	{ label: 'Last event', sort: 'event', cls: 'event', fmt: (r) => r.event || '–' },
	{ label: 'Source', sort: 'source', fmt: (r) => r.source },
	{ label: 'Duration', sort: 'duration', cls: 'num dur', fmt: (r) => flowDur(r) === null ? '–' : h('span', { 'data-s': String(flowDur(r)) }, fmtDur(flowDur(r))) },
	{ label: 'Bytes', sort: 'bytes', cls: 'num', fmt: (r) => flowBytes(r) === null ? '–' : fmtBytes(flowBytes(r)) },
	{ label: 'Throughput', cls: 'num rate', fmt: (r) => flowRate(r) === null ? '–' : fmtBits(flowRate(r)) },
	{ label: 'RTT', sort: 'rtt', cls: 'num', fmt: (r) => r.rtt_ms === null || r.rtt_ms === undefined ? '–' : r.rtt_ms.toFixed(2) + ' ms' },
];

// An address (linked to its host page) and port, with its name.
function endpointLink(a, port, name) {
	if (!a) return '–';
	if (name === a) name = null;	// an HTTP Host that is the address itself
	return h('span', { class: 'ep' }, h('a', { href: '#/host/' + encodeURIComponent(a), class: 'host', title: name || null }, endpoint(a, port)),
		name ? h('span', { class: 'muted name' }, ' ' + name) : null);
}

function proc(path, pid, user, cont) {
	if (!path && !pid) return h('span', { class: 'muted' }, '–');
	return h('span', { class: 'proc', title: [path, pid && 'pid ' + pid, user && 'user ' + user, cont && 'container ' + cont].filter(Boolean).join(', ') },
		h('b', {}, base(path) || '?'), pid ? h('span', { class: 'muted' }, ' ' + pid) : null,
		cont ? h('span', { class: 'tag' }, cont) : null);
}

async function loadIfaces() {
	try {
		const j = await api('/api/v1/interfaces');
		S.ifaces = j.interfaces;
	} catch (e) { if (e.status === 401) throw e; }
	return S.ifaces;
}

PAGES.flows = async (root, r) => {
	const seq = S.seq;
	const p = r.params;
	const cursors = []; // the cursors of the pages before this one
	let cursor = null, next = null;
	await loadIfaces();
	if (!current(seq)) return;

	const form = h('form', { class: 'filters', id: 'flow-filters', onsubmit: (ev) => { ev.preventDefault(); apply(); } });
	for (const f of FLOW_FILTERS) {
		let input;
		if (f.type === 'iface') {
			input = h('select', { name: f.key, id: 'f-' + f.key }, h('option', { value: '' }, 'all'),
				S.ifaces.map((i) => h('option', { value: i.name }, i.name)));
		} else if (f.type === 'select' || f.type === 'range') {
			input = h('select', { name: f.key, id: 'f-' + f.key }, f.options.map((o, k) =>
				h('option', { value: o }, f.names ? f.names[k] : (o || 'any'))));
		} else {
			input = h('input', { name: f.key, id: 'f-' + f.key, placeholder: f.ph || '', size: f.size || 14, autocomplete: 'off', spellcheck: 'false' });
		}
		input.value = p.get(f.key) || '';
		if (f.type === 'range') {
			// A custom range: absolute from/to, picked as local times.
			const custom = Number(p.get('from')) > 0;
			input.value = custom ? 'custom' : p.get('from') || '';
			const now = Date.now() / 1000;
			const at = (id, label, t) => h('label', { class: 'field', hidden: !custom }, h('span', {}, label),
				h('input', { type: 'datetime-local', id, value: t ? localInput(t) : '' }));
			const fa = at('f-from-at', 'From', custom ? Number(p.get('from')) : now - 3600);
			const ta = at('f-to-at', 'To', Number(p.get('to')) > 0 ? Number(p.get('to')) : null);
			input.addEventListener('change', () => {
				if (input.value === 'custom') { fa.hidden = ta.hidden = false; fa.querySelector('input').focus(); } else apply();
			});
			form.append(h('label', { class: 'field' }, h('span', {}, f.label), input), fa, ta);
			continue;
		}
		if (f.type) input.addEventListener('change', apply);
		form.append(h('label', { class: 'field' }, h('span', {}, f.label), input));
	}
	form.append(h('div', { class: 'field actions' },
		h('button', { type: 'submit', id: 'f-apply' }, 'Filter'),
		h('button', { type: 'button', class: 'secondary', onclick: () => { setHash('flows', new URLSearchParams()); } }, 'Clear')));

	const pause = h('button', { type: 'button', id: 'pause', class: 'secondary', 'aria-pressed': String(S.paused),
		onclick: () => togglePause() }, S.paused ? 'Resume (p)' : 'Pause (p)');
	const live = h('span', { class: 'muted', id: 'live-note' });
	const prev = h('button', { type: 'button', id: 'prev', class: 'secondary', onclick: () => { cursor = cursors.pop() || null; load(); } }, '← Newer');
	const nextb = h('button', { type: 'button', id: 'next', class: 'secondary', onclick: () => { if (next) { cursors.push(cursor); cursor = next; load(); } } }, 'Older →');
	const holder = h('div', { id: 'flows-table' });
	const link = h('a', { href: location.hash, id: 'permalink', title: 'This view, filters included' }, 'Permalink');
	root.append(h('div', { class: 'titlebar' }, h('h1', {}, 'Flows'), h('span', { class: 'spacer' }), live, pause, link),
		form, holder, h('div', { class: 'pager' }, prev, nextb));

	function togglePause() {
		S.paused = !S.paused;
		pause.textContent = S.paused ? 'Resume (p)' : 'Pause (p)';
		pause.setAttribute('aria-pressed', String(S.paused));
		live.textContent = S.paused ? 'auto-refresh paused' : '';
	}
	PAGES.flows.togglePause = togglePause;

	function apply() {
		const q = new URLSearchParams();
		for (const f of FLOW_FILTERS) {
			const v = form.elements[f.key].value.trim();
			if (f.type === 'range' && v === 'custom') {
				const fv = $('f-from-at').value, tv = $('f-to-at').value;
				if (fv) q.set('from', String(Math.floor(new Date(fv).getTime() / 1000)));
				if (tv) q.set('to', String(Math.ceil(new Date(tv).getTime() / 1000)));
			} else if (v) q.set(f.key, v);
		}
		if (p.get('sort')) q.set('sort', p.get('sort'));
		if (p.get('order')) q.set('order', p.get('order'));
		setHash('flows', q);
	}
	function onSort(col) {
		const q = new URLSearchParams(p);
		if (q.get('sort') === col || (!q.get('sort') && col === 'last_seen'))
			q.set('order', (q.get('order') || 'desc') === 'desc' ? 'asc' : 'desc');
		else { q.set('sort', col); q.set('order', 'desc'); }
		setHash('flows', q);
	}
	async function load() {
		const q = new URLSearchParams(p);
		q.set('limit', '50');
		if (cursor) q.set('cursor', cursor);
		const j = await api('/api/v1/flows?' + q.toString());
		if (!current(seq)) return;
		next = j.next;
		swap(holder, table(FLOW_COLS, j.flows, {
			sort: j.sort, order: j.order, onSort, key: (row) => row.id,
			onRow: (row) => { location.hash = '#/flow/' + row.id; },
			empty: 'No flows match these filters.', cls: 'flows' }));
		prev.disabled = !cursors.length && !cursor;
		nextb.disabled = !next;
		status((cursor ? 'older page, ' : '') + j.flows.length + ' flows, ' + new Date().toLocaleTimeString());
	}
	try { await load(); } catch (e) {
		// A refused filter stays on screen to be fixed; anything else
		// (no database yet, webd away) is retried by route().
		if (e.status < 400 || e.status >= 500) throw e;
		holder.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
		return;
	}
	// Only the newest page refreshes: older pages hold still.
	every(2000, () => { if (!cursor) load().catch((e) => status(e.message, true)); });
};

PAGES.flow = async (root, r) => {
	const j = await api('/api/v1/flows/' + encodeURIComponent(r.arg || ''));
	const f = j.flow;
	const kv = (pairs) => h('dl', { class: 'kv' }, pairs.filter((x) => x[1] !== null && x[1] !== undefined && x[1] !== '')
		.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
	const side = (name, s, addr, port) => card(name + ' ' + endpoint(addr, port), kv([
		['Process', s.process], ['Command line', s.cmdline], ['PID', s.pid], ['TID', s.tid],
		['User', s.user !== null ? s.user + (s.uid !== null ? ' (' + s.uid + ')' : '') : s.uid],
		['Group', s.grp], ['VM size', s.vm_size ? fmtNum(s.vm_size) + ' kB' : null],
		['Parent', s.parent_process ? s.parent_process + (s.parent_pid ? ' (' + s.parent_pid + ')' : '') : null],
		['Parent command', s.parent_cmdline],
		['Container', s.container_name || s.container_id ? (s.container_name || '') + ' ' + (s.container_id || '').slice(0, 12) + (s.container_kind ? ' (' + s.container_kind + ')' : '') : null],
		['Pod', s.pod ? s.pod + (s.namespace ? ' / ' + s.namespace : '') : null],
	].concat(s.pid === null && s.process === null ? [['', h('span', { class: 'muted' }, 'No process information for this side.')]] : [])));
	root.append(
		h('div', { class: 'titlebar' }, h('h1', {}, 'Flow ' + f.id), h('span', { class: 'spacer' }),
			h('a', { href: '#/flows', class: 'button secondary' }, '← Flows')),
		h('p', { class: 'lead' }, fmtProto(f.protocol) + (f.app_proto ? ' ' + f.app_proto : '') + ' ', h('b', {}, endpointLink(f.client.addr, f.client.port)), ' → ',
			h('b', {}, endpointLink(f.server.addr, f.server.port, f.tls_sni || f.http_host || null)), ' on ' + f.iface + (f.iface_kind ? ' (' + f.iface_kind + ')' : '')),
		h('div', { class: 'cols' }, side('Client', f.client, f.client.addr, f.client.port), side('Server', f.server, f.server.addr, f.server.port)),
		h('div', { class: 'cols' },
			card('Flow', kv([
				['First seen', fmtTime(f.first_seen)], ['Last seen', fmtTime(f.last_seen) + ' (' + fmtAgo(f.last_seen) + ')'],
				['Duration', f.first_seen ? fmtDur(f.last_seen - f.first_seen) : null],
				['Throughput', flowRate(f) === null ? null : fmtBits(flowRate(f))],
				['Community ID', f.community_id ? h('code', { id: 'community-id' }, f.community_id) : null],
				['Source', f.source], ['Last event', f.last_event], ['TCP state', f.tcp_state],
				['Sides', f.sides_guessed ? 'guessed from ports' : 'known'], ['Events merged', f.events], ['Updates', f.updates],
				['VLAN', f.vlan || null], ['IF_NAME', f.ifname], ['Exporter', f.exporter], ['Producer', f.producer],
			])),
			card('Traffic and TCP info', kv([
				['Client → server', f.c2s_bytes === null ? null : fmtBytes(f.c2s_bytes) + ' in ' + fmtNum(f.c2s_packets) + ' packets'],
				['Server → client', f.s2c_bytes === null ? null : fmtBytes(f.s2c_bytes) + ' in ' + fmtNum(f.s2c_packets) + ' packets'],
				['Retransmissions', f.c2s_retrans === null && f.s2c_retrans === null ? null : fmtNum(f.c2s_retrans || 0) + ' / ' + fmtNum(f.s2c_retrans || 0)],
				['Connect latency', f.nw_latency_ms === null ? null : f.nw_latency_ms.toFixed(3) + ' ms'],
				['Handshake (client / server)', f.client.latency_ms === null && f.server.latency_ms === null ? null :
					(f.client.latency_ms ?? '–') + ' / ' + (f.server.latency_ms ?? '–') + ' ms'],
				['RTT', f.rtt_ms === null ? null : f.rtt_ms.toFixed(3) + ' ms ± ' + (f.rtt_var_ms ?? 0).toFixed(3)],
				['Segments in / out', f.segs_in === null ? null : fmtNum(f.segs_in) + ' / ' + fmtNum(f.segs_out)],
				['Unacked segments', f.unack_segs], ['Lost packets', f.lost_packets],
				['Bytes received / acked', f.bytes_rcvd === null ? null : fmtBytes(f.bytes_rcvd) + ' / ' + fmtBytes(f.bytes_acked)],
				['TCP flags (client / server)', f.client.tcp_flags === null ? null : '0x' + f.client.tcp_flags.toString(16) + ' / 0x' + (f.server.tcp_flags || 0).toString(16)],
			].concat(f.c2s_bytes === null && f.rtt_ms === null ? [['', h('span', { class: 'muted' }, 'No packet or TCP counters: this flow was seen through events only.')]] : [])))),
		f.app_proto || f.tls_sni || f.http_host || f.dns_query || f.ja3 || f.ja4 ? card('Application', kv([
			['Protocol', f.app_proto], ['Category', f.app_category], ['TLS server name', f.tls_sni],
			['JA3 (client / server)', f.ja3 || f.ja3s ? (f.ja3 || '–') + ' / ' + (f.ja3s || '–') : null], ['JA4', f.ja4],
			['HTTP host', f.http_host], ['DNS query', f.dns_query]])) : '',
		f.extra ? card('Other probe fields', h('pre', {}, f.extra)) : '');
};
