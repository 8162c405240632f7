// evflow UI: a small single-page app over /api/v1.  No framework, no
// build step, no inline script (the server's CSP forbids it).  Every
// value from the server is put in the page with textContent, never as
// HTML.  Pages are routed by the URL hash, and a page's filters live in
// the hash too, so every view is a permalink.  This file is the shell
// (helpers, API, login, routing, tables, keys); each page lives in a
// file of its own, loaded after it (index.html) and registered in PAGES.
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
	let key = null, sort = null, fkey = null, inside = false;
	if (a && a !== document.body && holder.contains(a)) {
		inside = true;
		const tr = a.closest('tr[data-key]');
		if (tr && a === tr) key = tr.dataset.key;
		else if (a.dataset && a.dataset.sort) sort = a.dataset.sort;
		else if (a.dataset && a.dataset.fkey) fkey = a.dataset.fkey;	// any other control that names itself
	}
	holder.replaceChildren(node);
	if (!inside) return;
	let to = null;
	if (key !== null) to = [...holder.querySelectorAll('tr[data-key]')].find((e) => e.dataset.key === key);
	else if (sort !== null) to = [...holder.querySelectorAll('button.sort')].find((e) => e.dataset.sort === sort);
	else if (fkey !== null) to = [...holder.querySelectorAll('[data-fkey]')].find((e) => e.dataset.fkey === fkey);
	if (!to && !(to = holder.querySelector('table'))) {
		holder.tabIndex = -1;
		to = holder;
	}
	to.focus({ preventScroll: true });
}

function card(title, ...kids) {
	return h('section', { class: 'card' }, h('h2', {}, title), ...kids);
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
