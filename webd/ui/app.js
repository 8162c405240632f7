// evflow UI: a small single-page app over /api/v1.  No framework, no
// build step, no inline script (the server's CSP forbids it).  Every
// value from the server is put in the page with textContent, never as
// HTML.  Pages are routed by the URL hash, and a page's filters live in
// the hash too, so every view is a permalink.
'use strict';

const S = { csrf: null, user: null, timer: null, paused: false, page: null,
	ifaces: [], seq: 0 };

// ---- DOM helpers

// Bidirectional controls in text from the server are shown, never
// obeyed: a U+202E in a process name would otherwise reverse the PID
// and addresses displayed after it.  Each becomes a visible <U+XXXX>.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
function shown(v) {
	return String(v).replace(BIDI, (c) => '<U+' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0') + '>');
}

function h(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k === 'class') e.className = v;
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else if (k === 'text') e.textContent = shown(v);
		else if (k === 'title') e.setAttribute(k, shown(v));
		else e.setAttribute(k, v === true ? '' : v);
	}
	for (const c of kids.flat(Infinity)) {
		if (c === null || c === undefined || c === false) continue;
		e.append(c instanceof Node ? c : document.createTextNode(shown(c)));
	}
	return e;
}
const $ = (id) => document.getElementById(id);

function svg(tag, attrs, ...kids) {
	const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
	for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
	for (const c of kids.flat(Infinity)) if (c) e.append(c instanceof Node ? c : document.createTextNode(shown(c)));
	return e;
}

// ---- formatting

function fmtBytes(n) {
	if (n === null || n === undefined) return '–';
	const u = ['B', 'KB', 'MB', 'GB', 'TB'];
	let i = 0;
	while (Math.abs(n) >= 1000 && i < u.length - 1) { n /= 1000; i++; }
	return (i ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : n) + ' ' + u[i];
}
function fmtBits(n) {
	const u = ['b/s', 'kb/s', 'Mb/s', 'Gb/s', 'Tb/s'];
	let i = 0;
	while (Math.abs(n) >= 1000 && i < u.length - 1) { n /= 1000; i++; }
	return (n < 10 && n !== Math.round(n) ? n.toFixed(1) : Math.round(n)) + ' ' + u[i];
}
function fmtNum(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'); }
function fmtTime(t) {
	if (!t) return '–';
	const d = new Date(t * 1000);
	const p = (x) => String(x).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
function fmtAgo(t) {
	if (!t) return '–';
	const s = Math.max(0, Date.now() / 1000 - t);
	if (s < 60) return Math.round(s) + ' s ago';
	if (s < 3600) return Math.round(s / 60) + ' min ago';
	if (s < 86400) return Math.round(s / 3600) + ' h ago';
	return Math.round(s / 86400) + ' d ago';
}
const PROTO = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP', 47: 'GRE', 50: 'ESP' };
function fmtProto(p) { return PROTO[p] || (p === null || p === undefined ? '–' : String(p)); }
function endpoint(a, p) {
	if (!a) return '–';
	return (a.includes(':') ? '[' + a + ']' : a) + (p ? ':' + p : '');
}
function base(p) { return p ? p.split('/').pop() : null; }

// ---- API

async function api(path, opts = {}) {
	const init = { method: opts.method || 'GET', headers: {}, credentials: 'same-origin' };
	if (opts.body !== undefined) {
		init.body = JSON.stringify(opts.body);
		init.headers['Content-Type'] = 'application/json';
	}
	if (init.method !== 'GET' && S.csrf) init.headers['X-CSRF-Token'] = S.csrf;
	let r;
	try {
		r = await fetch(path, init);
	} catch (e) {
		throw new ApiError(0, 'webd is not reachable');
	}
	const text = await r.text();
	let j = null;
	try { j = text ? JSON.parse(text) : null; } catch (e) { j = null; }
	if (!r.ok) {
		const msg = j && j.error ? j.error.message : r.statusText;
		if (r.status === 401 && !opts.noLogin) showLogin();
		throw new ApiError(r.status, msg);
	}
	return j;
}
class ApiError extends Error {
	constructor(status, msg) { super(msg); this.status = status; }
}

function status(msg, bad) {
	const s = $('status');
	s.textContent = msg || '';
	s.className = 'status' + (bad ? ' bad' : '');
}

// ---- login

function showLogin(msg) {
	stopTimer();
	S.csrf = null;
	$('top').hidden = true;
	$('page').hidden = true;
	$('login').hidden = false;
	$('login-error').textContent = msg || '';
	$('login-user').focus();
}

async function doLogin(ev) {
	ev.preventDefault();
	$('login-error').textContent = '';
	$('login-submit').disabled = true;
	try {
		const j = await api('/api/v1/login', { method: 'POST', noLogin: true,
			body: { user: $('login-user').value, password: $('login-pass').value } });
		$('login-pass').value = '';
		startSession(j);
	} catch (e) {
		$('login-error').textContent = e.message;
	} finally {
		$('login-submit').disabled = false;
	}
}

function startSession(j) {
	S.csrf = j.csrf || null;
	S.user = j.user;
	$('who').textContent = j.user;
	$('login').hidden = true;
	$('top').hidden = false;
	$('page').hidden = false;
	route();
}

async function doLogout() {
	try { await api('/api/v1/logout', { method: 'POST', body: {} }); } catch (e) { /* gone anyway */ }
	showLogin('Logged out.');
}

// ---- routing: #/page?key=value&...

function parseHash() {
	const hs = location.hash.replace(/^#/, '') || '/';
	const [path, qs] = hs.split('?');
	const parts = path.split('/').filter(Boolean);
	return { page: parts[0] || 'dashboard', arg: parts[1] ? decodeURIComponent(parts[1]) : null,
		params: new URLSearchParams(qs || '') };
}
function setHash(page, params, replace) {
	const qs = params && params.toString();
	const url = '#/' + (page === 'dashboard' ? '' : page) + (qs ? '?' + qs : '');
	if (replace) history.replaceState(null, '', url);
	else location.hash = url;
}

const PAGES = {};

function stopTimer() {
	if (S.timer) clearInterval(S.timer);
	S.timer = null;
}
function every(ms, fn) {
	stopTimer();
	S.timer = setInterval(() => { if (!S.paused && !document.hidden) fn(); }, ms);
}

async function route() {
	if (!S.user) return;
	const r = parseHash();
	stopTimer();
	const seq = ++S.seq;
	const page = PAGES[r.page] ? r.page : 'dashboard';
	S.page = page;
	const navPage = { flow: 'flows' }[page] || page;
	for (const a of document.querySelectorAll('#nav a'))
		a.classList.toggle('active', a.dataset.page === navPage);
	const root = $('page');
	status('');
	// A page whose first load fails (webd not reachable, the database
	// not created yet: 503) tries again, 1 s then up to 15 s apart, for
	// as long as it is the page shown.
	for (let delay = 1000; ; delay = Math.min(delay * 2, 15000)) {
		root.replaceChildren();
		try {
			await PAGES[page](root, r);
			return;
		} catch (e) {
			if (e.status === 401 || !current(seq)) return;
			stopTimer();
			if (e.status >= 400 && e.status < 500) {
				root.replaceChildren(h('p', { class: 'error', role: 'alert', id: 'page-error' }, e.message));
				return;
			}
			root.replaceChildren(h('p', { class: 'error', role: 'alert', id: 'page-error' },
				e.message + ' (trying again in ' + delay / 1000 + ' s)'));
			status(e.message, true);
			await new Promise((res) => setTimeout(res, delay));
			if (!current(seq)) return;
		}
	}
}

// A guard against a slow answer for a page the user already left.
function current(seq) { return seq === S.seq; }

// ---- tables

// cols: [{key, label, sort?, fmt?(row) -> node|text, cls?}]
function table(cols, rows, opts = {}) {
	const head = h('tr', {}, cols.map((c) => {
		const th = h('th', { scope: 'col', class: c.cls });
		if (c.sort && opts.onSort) {
			const active = opts.sort === c.sort;
			const b = h('button', { type: 'button', class: 'sort' + (active ? ' on' : ''), 'data-sort': c.sort,
				'aria-sort': active ? (opts.order === 'asc' ? 'ascending' : 'descending') : null,
				onclick: () => opts.onSort(c.sort) },
			c.label, active ? (opts.order === 'asc' ? ' ▲' : ' ▼') : '');
			th.append(b);
		} else th.textContent = c.label;
		return th;
	}));
	const body = h('tbody', {}, rows.map((row) => {
		const tr = h('tr', { 'data-key': opts.key ? String(opts.key(row)) : null }, cols.map((c) => {
			const v = c.fmt ? c.fmt(row) : row[c.key];
			return h('td', { class: c.cls }, v === null || v === undefined ? '–' : v);
		}));
		if (opts.onRow) {
			tr.tabIndex = 0;
			tr.classList.add('click');
			tr.addEventListener('click', (ev) => { if (!ev.target.closest('a,button,input,select')) opts.onRow(row); });
			tr.addEventListener('keydown', (ev) => {
				if (ev.target !== tr) return;
				// Enter opens the row; the arrows move between rows.
				if (ev.key === 'Enter') opts.onRow(row);
				else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
					const to = ev.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
					if (to) { to.focus(); ev.preventDefault(); }
				}
			});
		}
		return tr;
	}));
	const t = h('table', { class: 'grid' + (opts.cls ? ' ' + opts.cls : ''), tabindex: '-1' }, h('thead', {}, head), body);
	if (!rows.length) return h('div', {}, t, h('p', { class: 'muted empty' }, opts.empty || 'Nothing here yet.'));
	return h('div', { class: 'tablewrap' }, t);
}

// Replaces what holder shows, keeping the keyboard focus where it was: on
// the row with the same key (a refresh rebuilds every row), on the same
// sort button, or on the table if the row is gone, never on <body>.
function swap(holder, node) {
	const a = document.activeElement;
	let key = null, sort = null, inside = false;
	if (a && a !== document.body && holder.contains(a)) {
		inside = true;
		const tr = a.closest('tr[data-key]');
		if (tr && a === tr) key = tr.dataset.key;
		else if (a.dataset && a.dataset.sort) sort = a.dataset.sort;
	}
	holder.replaceChildren(node);
	if (!inside) return;
	let to = null;
	if (key !== null) to = [...holder.querySelectorAll('tr[data-key]')].find((e) => e.dataset.key === key);
	else if (sort !== null) to = [...holder.querySelectorAll('button.sort')].find((e) => e.dataset.sort === sort);
	(to || holder.querySelector('table') || holder).focus({ preventScroll: true });
}

function card(title, ...kids) {
	return h('section', { class: 'card' }, h('h2', {}, title), ...kids);
}

// ---- dashboard

// ---- time ranges: `window=SECONDS` (the last N seconds) or a custom
// `from=UNIX&to=UNIX` in a page's hash.

const WINDOWS = [['900', '15 min'], ['3600', '1 hour'], ['21600', '6 hours'], ['86400', '24 hours'], ['604800', '7 days']];

function rangeOf(params, def) {
	const from = Number(params.get('from')), to = Number(params.get('to'));
	if (params.get('from') && from > 0) {
		const end = to > from ? to : null;
		return { custom: true, from, to: end, label: fmtTime(from) + ' to ' + (end ? fmtTime(end) : 'now') };
	}
	const w = WINDOWS.find((x) => x[0] === params.get('window')) || WINDOWS.find((x) => x[0] === def) || WINDOWS[0];
	return { custom: false, window: Number(w[0]), label: 'last ' + w[1], key: w[0] };
}
// The API's parameters for a range: summary takes window=N, the others
// from=-N; both take from/to for a custom range.
function rangeParams(rg, q, style) {
	if (rg.custom) {
		q.set('from', String(Math.floor(rg.from)));
		if (rg.to) q.set('to', String(Math.ceil(rg.to)));
	} else if (style === 'window') q.set('window', String(rg.window));
	else q.set('from', String(-rg.window));
	return q;
}
function localInput(t) {
	const d = new Date(t * 1000);
	const p = (x) => String(x).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
// The range buttons and a custom from/to form; go(params) moves there.
function rangeBar(params, rg, def, go) {
	const pick = (v) => {
		const q = new URLSearchParams(params);
		q.delete('from'); q.delete('to'); q.delete('cursor');
		if (v === def) q.delete('window'); else q.set('window', v);
		go(q);
	};
	const now = Date.now() / 1000;
	const fromIn = h('input', { type: 'datetime-local', id: 'range-from', 'aria-label': 'From',
		value: localInput(rg.custom ? rg.from : now - (rg.window || 3600)) });
	const toIn = h('input', { type: 'datetime-local', id: 'range-to', 'aria-label': 'To',
		value: localInput(rg.custom && rg.to ? rg.to : now) });
	const msg = h('span', { class: 'error', id: 'range-msg', role: 'alert' });
	const form = h('form', { class: 'range-form', id: 'range-form', hidden: !rg.custom, onsubmit: (ev) => {
		ev.preventDefault();
		const f = new Date(fromIn.value).getTime() / 1000, t = new Date(toIn.value).getTime() / 1000;
		if (!(f > 0) || !(t > f)) { msg.textContent = 'From must be before To.'; return; }
		const q = new URLSearchParams(params);
		q.delete('window'); q.delete('cursor');
		q.set('from', String(Math.floor(f)));
		q.set('to', String(Math.ceil(t)));
		go(q);
	} }, h('label', { class: 'field' }, h('span', {}, 'From'), fromIn), h('label', { class: 'field' }, h('span', {}, 'To'), toIn),
	h('button', { type: 'submit', id: 'range-apply' }, 'Apply'), msg);
	const seg = h('div', { class: 'seg', role: 'group', 'aria-label': 'Time range' },
		WINDOWS.map(([v, l]) => h('button', { type: 'button', class: !rg.custom && rg.key === v ? 'on' : '',
			'aria-pressed': String(!rg.custom && rg.key === v), onclick: () => pick(v) }, l)),
		h('button', { type: 'button', id: 'range-custom', class: rg.custom ? 'on' : '', 'aria-pressed': String(rg.custom),
			'aria-expanded': String(!form.hidden), onclick: (ev) => {
				form.hidden = !form.hidden;
				ev.currentTarget.setAttribute('aria-expanded', String(!form.hidden));
				if (!form.hidden) fromIn.focus();
			} }, 'Custom…'));
	return h('div', { class: 'rangebar' }, seg, form);
}

// ---- charts

// The drawing width of a chart: its text is drawn at 11 units, so a
// chart drawn for the screen it is on keeps 11 px labels on a phone.
function chartWidth() {
	return Math.round(Math.max(300, Math.min(720, (window.innerWidth || 720) - 56)));
}
function tickLabel(t, span) {
	const d = new Date(t * 1000);
	const p = (x) => String(x).padStart(2, '0');
	const hm = p(d.getHours()) + ':' + p(d.getMinutes());
	return span > 2 * 86400 ? (d.getMonth() + 1) + '/' + d.getDate() + ' ' + hm : hm;
}

// series: [{name, points: [[t, v]...]}]; opts: from, to, fmt, label,
// zero.  Pointing at the chart (or the arrow keys once it has focus)
// shows the time and every series' value there.
function lineChart(series, opts) {
	const W = chartWidth(), H = 220, L = 64, R = 12, T = 10, B = 26;
	const all = series.flatMap((s) => s.points);
	const t0 = opts.from, t1 = opts.to;
	// A "nice" top (1, 2 or 5 times a power of ten) so ticks read well.
	const top = Math.max(...all.map((p) => p[1]), 0);
	let vmax = 1;
	if (top > 0) {
		const e = Math.pow(10, Math.floor(Math.log10(top)));
		vmax = [1, 2, 2.5, 5, 10].map((m) => m * e).find((v) => v >= top);
	}
	const x = (t) => L + (W - L - R) * (t - t0) / Math.max(1, t1 - t0);
	const y = (v) => T + (H - T - B) * (1 - v / vmax);
	const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
		'aria-label': opts.label, tabindex: '0' });
	for (let i = 0; i <= 4; i++) {
		const v = vmax * i / 4;
		g.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'gridline' }));
		g.append(svg('text', { x: L - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, opts.fmt(v)));
	}
	const nt = W < 500 ? 3 : 5;
	for (let i = 0; i <= nt; i++) {
		const t = t0 + (t1 - t0) * i / nt;
		g.append(svg('text', { x: x(t), y: H - 6, class: 'axis', 'text-anchor': i === 0 ? 'start' : i === nt ? 'end' : 'middle' },
			tickLabel(t, t1 - t0)));
	}
	series.forEach((s, i) => {
		if (!s.points.length) return;
		const d = s.points.map((p, k) => (k ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join(' ');
		g.append(svg('path', { d, class: 'series s' + (i % 6) }));
		// A short series (a new interface) is hard to see as a line.
		if (s.points.length < 20)
			for (const p of s.points)
				g.append(svg('circle', { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 3, class: 'dot s' + (i % 6) }));
	});
	if (top === 0)
		g.append(svg('text', { x: (L + W - R) / 2, y: T + (H - T - B) / 2, class: 'axis note', 'text-anchor': 'middle' }, opts.zero || 'all zero in this window'));
	const legend = h('ul', { class: 'legend' }, series.map((s, i) =>
		h('li', {}, h('span', { class: 'swatch s' + (i % 6) }), s.name)));
	// The tooltip: the sample times of every series, merged and sorted.
	const times = [...new Set(all.map((p) => p[0]))].sort((a, b) => a - b);
	const guide = svg('line', { y1: T, y2: H - B, class: 'guide', visibility: 'hidden' });
	g.append(guide);
	const tip = h('div', { class: 'tip', role: 'status', hidden: true });
	let at = -1;
	const show = (k) => {
		if (!times.length) return;
		at = Math.max(0, Math.min(times.length - 1, k));
		const t = times[at];
		guide.setAttribute('x1', x(t));
		guide.setAttribute('x2', x(t));
		guide.setAttribute('visibility', 'visible');
		tip.replaceChildren(h('div', { class: 'tiptime' }, fmtTime(t)), ...series.map((s, i) => {
			const p = s.points.find((q) => q[0] === t);
			return h('div', {}, h('span', { class: 'swatch s' + (i % 6) }), s.name + ': ', h('b', {}, p ? opts.fmt(p[1]) : '–'));
		}));
		tip.hidden = false;
		const box = g.getBoundingClientRect();
		const px = box.width * x(t) / W;
		tip.style.left = Math.max(0, Math.min(box.width - 180, px + 12)) + 'px';
	};
	const hide = () => { tip.hidden = true; guide.setAttribute('visibility', 'hidden'); at = -1; };
	const nearest = (t) => {
		let k = 0;
		for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - t) < Math.abs(times[k] - t)) k = i;
		return k;
	};
	g.addEventListener('pointermove', (ev) => {
		const box = g.getBoundingClientRect();
		const vx = (ev.clientX - box.left) * W / box.width;
		show(nearest(t0 + (vx - L) * (t1 - t0) / (W - L - R)));
	});
	g.addEventListener('pointerleave', hide);
	g.addEventListener('blur', hide);
	g.addEventListener('keydown', (ev) => {
		if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
			show(at < 0 ? times.length - 1 : at + (ev.key === 'ArrowLeft' ? -1 : 1));
			ev.preventDefault();
		} else if (ev.key === 'Escape') hide();
	});
	return h('div', { class: 'chartbox' }, g, tip, legend);
}

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
		root.replaceChildren(
			h('div', { class: 'titlebar' }, h('h1', {}, 'Dashboard'), h('span', { class: 'spacer' }), sw),
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
			if (!root.querySelector('svg.chart:hover, svg.chart:focus')) draw().catch((e) => status(e.message, true));
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
			const btn = n.flows ? h('button', { type: 'button', class: 'link node-toggle', 'aria-expanded': String(open.has(k)),
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
	box.replaceChildren(...(groups.length ? groups.map(([t, items]) => h('div', { class: 'group' }, h('div', { class: 'gtitle' }, t), items))
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

// ---- keyboard

const KEYS = { 1: '#/', 2: '#/flows', 3: '#/processes', 4: '#/containers', 5: '#/listening', 6: '#/producers', 7: '#/interfaces', 8: '#/pipeline' };
document.addEventListener('keydown', (ev) => {
	if (ev.ctrlKey || ev.metaKey || ev.altKey || !S.user || !$('login').hidden) return;
	const t = ev.target;
	if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) {
		if (ev.key === 'Escape') t.blur();
		return;
	}
	if (KEYS[ev.key]) { location.hash = KEYS[ev.key]; ev.preventDefault(); }
	else if (ev.key === '/' && S.page === 'flows') { const f = $('f-addr'); if (f) { f.focus(); ev.preventDefault(); } }
	else if (ev.key === '/' || ev.key === 's') { $('search-q').focus(); ev.preventDefault(); }
	else if (ev.key === 'p' && S.page === 'flows' && PAGES.flows.togglePause) PAGES.flows.togglePause();
	else if (ev.key === 'r') route();
	else if (ev.key === 'n' && $('next') && !$('next').disabled) $('next').click();
	else if (ev.key === 'b' && $('prev') && !$('prev').disabled) $('prev').click();
});

// ---- start

window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', async () => {
	$('login-form').addEventListener('submit', doLogin);
	$('logout').addEventListener('click', doLogout);
	searchSetup();
	try {
		const j = await api('/api/v1/session', { noLogin: true });
		if (j.kind !== 'session') throw new ApiError(401, '');
		startSession(j);
	} catch (e) {
		showLogin(e.status === 401 && e.message && e.message.startsWith('no user') ? e.message : '');
	}
});
