// evflow UI: processes (by executable, by pid, as a tree), containers
// and pods, listening sockets, producers.
// Loaded after app.js (index.html), whose helpers it uses.
'use strict';

// ---- processes, containers, listening, producers

function groupPage(kind) {
	return async (root, r) => {
		const seq = S.seq;
		const p = r.params;
		const by = p.get('by') || (kind === 'processes' ? 'exe' : 'container');
		const choices = kind === 'processes' ? [['exe', 'By executable'], ['pid', 'By process (pid)'], ['tree', 'Tree (parent → child)']] : [['container', 'Containers'], ['pod', 'Pods']];
		const sw = h('div', { class: 'seg', role: 'group' }, choices.map(([v, l]) =>
			h('button', { type: 'button', class: v === by ? 'on' : '', 'aria-pressed': String(v === by),
				onclick: () => { const q = new URLSearchParams(p); q.set('by', v); setHash(kind, q); } }, l)));
		const holder = h('div');
		root.append(h('div', { class: 'titlebar' }, h('h1', {}, kind === 'processes' ? 'Processes' : 'Containers and pods'), h('span', { class: 'spacer' }), sw),
			h('p', { class: 'muted' }, 'Flows seen in the last 24 hours, both sides of each flow counted.'), holder);
		const onSort = (col) => {
			const q = new URLSearchParams(p);
			if (q.get('sort') === col) q.set('order', q.get('order') === 'asc' ? 'desc' : 'asc');
			else { q.set('sort', col); q.delete('order'); }
			setHash(kind, q);
		};
		if (by === 'tree') {
			await processTree(holder, p, seq);
			return;
		}
		const load = async () => {
			const q = new URLSearchParams(p);
			q.set('by', by);
			if (!q.get('from')) q.set('from', '-86400');
			const j = await api('/api/v1/' + kind + '?' + q.toString());
			if (!current(seq)) return;
			let cols, rows;
			if (kind === 'processes') {
				rows = j.processes;
				cols = [
					{ label: 'Process', sort: 'process', fmt: (x) => h('a', { href: '#/flows?process=' + encodeURIComponent(x.process) + (x.pid ? '&pid=' + x.pid : ''), title: x.process }, x.process) },
					by === 'pid' ? { label: 'PID', fmt: (x) => x.pid } : { label: 'PIDs', sort: 'pids', cls: 'num', fmt: (x) => fmtNum(x.pids) },
					{ label: 'User', fmt: (x) => x.user },
					{ label: 'Flows', sort: 'flows', cls: 'num', fmt: (x) => fmtNum(x.flows) },
					{ label: 'Bytes', sort: 'bytes', cls: 'num', fmt: (x) => fmtBytes(x.bytes) },
					{ label: 'Peers', sort: 'peers', cls: 'num', fmt: (x) => fmtNum(x.peers) },
					{ label: 'Last seen', sort: 'last_seen', fmt: (x) => fmtAgo(x.last_seen) },
				];
			} else {
				rows = by === 'pod' ? j.pods : j.containers;
				cols = [
					{ label: by === 'pod' ? 'Pod' : 'Container', sort: 'name', fmt: (x) => h('a', { href: '#/flows?' + (by === 'pod' ? 'pod=' : 'container=') + encodeURIComponent(x.name) }, x.name) },
					by === 'pod' ? { label: 'Namespace', fmt: (x) => x.namespace } : { label: 'Id', fmt: (x) => x.id ? h('code', {}, x.id.slice(0, 12)) : '–' },
					by === 'pod' ? null : { label: 'Kind', fmt: (x) => x.kind },
					{ label: 'Processes', fmt: (x) => (x.processes || '').split(',').map(base).join(', ') },
					{ label: 'Flows', sort: 'flows', cls: 'num', fmt: (x) => fmtNum(x.flows) },
					{ label: 'Bytes', sort: 'bytes', cls: 'num', fmt: (x) => fmtBytes(x.bytes) },
					{ label: 'Peers', sort: 'peers', cls: 'num', fmt: (x) => fmtNum(x.peers) },
					{ label: 'Last seen', sort: 'last_seen', fmt: (x) => fmtAgo(x.last_seen) },
				].filter(Boolean);
			}
			swap(holder, table(cols, rows, { sort: p.get('sort') || 'bytes', order: p.get('order') || 'desc', onSort,
				empty: kind === 'processes' ? 'No process information yet: flows need an eBPF or netstat producer.' : 'No containers or pods seen.' }));
			status('updated ' + new Date().toLocaleTimeString());
		};
		await load();
		every(5000, () => load().catch((e) => status(e.message, true)));
	};
}
// The process tree: each process (pid and executable) under its parent,
// as the events named it.  A parent seen only as a parent (no flows of
// its own) is shown too, in grey.  A node's flows open under it.
async function processTree(holder, p, seq) {
	const open = new Set();	// nodes whose flows are shown
	const load = async () => {
		const q = new URLSearchParams();
		for (const k of ['iface', 'addr', 'user', 'from', 'to']) if (p.get(k)) q.set(k, p.get(k));
		const j = await api('/api/v1/processes/tree?' + q);
		if (!current(seq)) return;
		const key = (pid, path) => pid + ' ' + (path || '');
		const nodes = new Map(), byPid = new Map();
		for (const x of j.processes) {
			const k = key(x.pid, x.process);
			const n = nodes.get(k) || { pid: x.pid, process: x.process, user: x.user, container: x.container,
				flows: 0, bytes: null, last_seen: 0, parents: new Set(), kids: [] };
			n.flows += x.flows;
			if (x.bytes !== null) n.bytes = (n.bytes || 0) + x.bytes;
			n.last_seen = Math.max(n.last_seen, x.last_seen);
			if (x.parent_pid !== null) n.parents.add(key(x.parent_pid, x.parent_process));
			nodes.set(k, n);
			if (!byPid.has(x.pid)) byPid.set(x.pid, []);
			byPid.get(x.pid).push(k);
		}
		// A parent is the node with its pid and path, else the node with
		// its pid, else a node of its own without flows.
		for (const x of j.processes) {
			if (x.parent_pid === null) continue;
			const pk = key(x.parent_pid, x.parent_process);
			if (!nodes.has(pk) && !(byPid.get(x.parent_pid) || []).length)
				nodes.set(pk, { pid: x.parent_pid, process: x.parent_process, flows: 0, bytes: null, last_seen: 0,
					parents: new Set(), kids: [], only_parent: true });
		}
		const roots = [];
		for (const [k, n] of nodes) {
			let parent = null;
			for (const pk of n.parents) {
				const [ppid] = pk.split(' ');
				parent = nodes.get(pk) || nodes.get((byPid.get(Number(ppid)) || [])[0]);
				if (parent && parent !== n) break;
				parent = null;
			}
			if (parent) parent.kids.push(k); else roots.push(k);
		}
		const seen = new Set();
		const li = (k) => {
			const n = nodes.get(k);
			if (seen.has(k)) return null;	// a pid loop: shown once
			seen.add(k);
			const flowsBox = h('div', { class: 'node-flows' });
			const showFlows = async () => {
				const fq = new URLSearchParams({ pid: String(n.pid), limit: '20' });
				if (n.process) fq.set('process', n.process);
				if (p.get('from')) fq.set('from', p.get('from')); else fq.set('from', '-86400');
				const fj = await api('/api/v1/flows?' + fq);
				swap(flowsBox, table(FLOW_COLS.filter((c) => !/process$/.test(c.label)), fj.flows, { key: (row) => row.id,
					onRow: (row) => { location.hash = '#/flow/' + row.id; }, cls: 'flows', empty: 'No flows in the range.' }));
			};
			const btn = n.flows ? h('button', { type: 'button', class: 'link node-toggle', 'aria-expanded': String(open.has(k)), 'data-fkey': k,
				onclick: () => {
					if (open.has(k)) { open.delete(k); flowsBox.replaceChildren(); btn.setAttribute('aria-expanded', 'false'); }
					else { open.add(k); btn.setAttribute('aria-expanded', 'true'); showFlows().catch((e) => status(e.message, true)); }
				} }, fmtNum(n.flows) + (n.flows === 1 ? ' flow' : ' flows')) : h('span', { class: 'muted' }, 'parent only');
			if (open.has(k)) showFlows().catch((e) => status(e.message, true));
			const kids = n.kids.map(li).filter(Boolean);
			return h('li', { class: 'node' + (n.only_parent ? ' only-parent' : ''), 'data-pid': String(n.pid), 'data-process': n.process || '' },
				h('div', { class: 'node-line' }, h('b', { title: n.process || '' }, base(n.process) || '?'), h('span', { class: 'muted' }, ' ' + n.pid),
					n.user ? h('span', { class: 'tag' }, n.user) : null, n.container ? h('span', { class: 'tag' }, n.container) : null,
					' ', btn, n.bytes !== null ? h('span', { class: 'muted' }, ' · ' + fmtBytes(n.bytes)) : null,
					n.last_seen ? h('span', { class: 'muted' }, ' · ' + fmtAgo(n.last_seen)) : null),
				flowsBox, kids.length ? h('ul', { class: 'tree' }, kids) : null);
		};
		roots.sort((a, b) => (nodes.get(b).last_seen || 0) - (nodes.get(a).last_seen || 0));
		const tree = h('ul', { class: 'tree', id: 'process-tree' }, roots.map(li).filter(Boolean));
		swap(holder, j.processes.length ? h('div', { class: 'card' }, tree,
			j.truncated ? h('p', { class: 'muted' }, 'The ' + j.limit + ' most recent processes; narrow the range for the others.') : null)
			: h('p', { class: 'muted empty' }, 'No process information yet: flows need an eBPF or netstat producer.'));
		status('updated ' + new Date().toLocaleTimeString());
	};
	await load();
	every(10000, () => load().catch((e) => status(e.message, true)));
}

PAGES.processes = groupPage('processes');
PAGES.containers = groupPage('containers');

PAGES.listening = async (root, r) => {
	const seq = S.seq;
	const p = r.params;
	const cur = p.get('current') || 'yes';
	const sw = h('div', { class: 'seg', role: 'group' }, [['yes', 'Current'], ['no', 'History']].map(([v, l]) =>
		h('button', { type: 'button', class: v === cur ? 'on' : '', 'aria-pressed': String(v === cur),
			onclick: () => { const q = new URLSearchParams(p); q.set('current', v); setHash('listening', q); } }, l)));
	const holder = h('div');
	root.append(h('div', { class: 'titlebar' }, h('h1', {}, 'Listening sockets'), h('span', { class: 'spacer' }), sw), holder);
	const load = async () => {
		const q = new URLSearchParams(p);
		q.set('current', cur);
		q.set('limit', '500');
		const j = await api('/api/v1/listening?' + q.toString());
		if (!current(seq)) return;
		holder.replaceChildren(table([
			{ label: 'Host', fmt: (x) => x.host },
			{ label: 'Proto', fmt: (x) => fmtProto(x.proto) + (x.ip_version ? 'v' + x.ip_version : '') },
			{ label: 'Address', fmt: (x) => endpoint(x.addr, x.port) },
			{ label: 'Process', fmt: (x) => x.process ? h('span', { title: x.process }, base(x.process)) : '–' },
			{ label: 'PID', cls: 'num', fmt: (x) => x.pid || '–' },
			{ label: 'Package', fmt: (x) => x.pkg },
			{ label: 'Interface', fmt: (x) => x.iface },
			{ label: 'First seen', fmt: (x) => fmtTime(x.first_seen) },
			{ label: 'Last seen', fmt: (x) => fmtAgo(x.last_seen) },
		], j.listening, { empty: cur === 'yes' ? 'No socket reported as listening in the last 2 minutes.' : 'No past listening sockets.' }));
		status('updated ' + new Date().toLocaleTimeString());
	};
	await load();
	every(10000, () => load().catch((e) => status(e.message, true)));
};

PAGES.producers = async (root) => {
	const seq = S.seq;
	const holder = h('div');
	root.append(h('h1', {}, 'Producers'), h('p', { class: 'muted' }, 'ZMQ publishers (ebpflowexport, nprobe_mini, ...) as the collectors see them. Lost messages are gaps in msg_id.'), holder);
	const load = async () => {
		const j = await api('/api/v1/producers');
		if (!current(seq)) return;
		holder.replaceChildren(table([
			{ label: 'Health', fmt: (x) => h('span', { class: 'pill ' + (!x.active ? 'bad' : x.lost_msgs || x.bad_msgs ? 'warn' : 'ok') }, !x.active ? 'silent' : x.lost_msgs || x.bad_msgs ? 'losing' : 'ok') },
			{ label: 'Interface', fmt: (x) => x.iface },
			{ label: 'Peer', fmt: (x) => x.peer },
			{ label: 'Probe', fmt: (x) => x.info && x.info.probe ? (x.info.probe.name || '') + ' ' + (x.info.probe.version || '') : '–' },
			{ label: 'Source id', cls: 'num', fmt: (x) => x.source_id },
			{ label: 'Messages', cls: 'num', fmt: (x) => fmtNum(x.msgs) },
			{ label: 'Events', cls: 'num', fmt: (x) => fmtNum(x.events) },
			{ label: 'Lost', cls: 'num', fmt: (x) => fmtNum(x.lost_msgs) },
			{ label: 'Bad', cls: 'num', fmt: (x) => fmtNum(x.bad_msgs) },
			{ label: 'Restarts', cls: 'num', fmt: (x) => fmtNum(x.restarts) },
			{ label: 'Probe drops', cls: 'num', fmt: (x) => fmtNum(x.probe_drops) },
			{ label: 'Last seen', fmt: (x) => fmtAgo(x.last_seen) },
		], j.producers, { empty: 'No producer has published yet.' }));
		status('updated ' + new Date().toLocaleTimeString());
	};
	await load();
	every(5000, () => load().catch((e) => status(e.message, true)));
};
