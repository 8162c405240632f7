// evflow UI: time ranges (the last N seconds or a custom from/to in a
// page's hash) and line charts with their tooltips.
// Loaded after app.js (index.html), whose helpers it uses.
'use strict';

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
