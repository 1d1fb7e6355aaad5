// The operator page: the JSON API over /ws (PROTOCOL.md 5.10), drawn at most
// once per animation frame. No build step, nothing from another host.
'use strict';
(function () {
  // Joint ranges for the bars (degrees), a typical six-axis arm; values past
  // them fill the bar and still show their number.
  const JOINT_RANGE = [[-180, 180], [-90, 150], [-180, 75], [-400, 400], [-125, 125], [-400, 400]];
  const EVENTS_MAX = 200;     // per robot, newest first
  const NOTICES_MAX = 3;
  const ROBOTS_POLL_MS = 2000; // link details and the last refusal
  const RECONNECT_MS = 1000;

  const $ = (sel, el) => (el || document).querySelector(sel);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = (x, d) => (typeof x === 'number' ? x.toFixed(d) : (x === null || x === undefined ? '–' : String(x)));
  const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false });

  let ws = null;
  let nextId = 1;
  const pending = new Map();  // request id -> callback for its reply
  let frameTable = null;      // the FRAMES list
  let grants = null;          // from AUTH: {robot: [may...]}; null = the bridge decides
  let connected = false;
  const robots = new Map();   // name -> view
  let frameScheduled = false;
  let pollTimer = null;

  function request(obj, cb) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      if (cb) cb({ class: 'ERROR', code: 'offline', message: 'not connected to the bridge' });
      return;
    }
    obj.id = 'p' + nextId++;
    if (cb) pending.set(obj.id, cb);
    ws.send(JSON.stringify(obj));
  }

  function schedule() {
    if (!frameScheduled) {
      frameScheduled = true;
      requestAnimationFrame(draw);
    }
  }

  function mark(r, part) {
    r.dirty.add(part);
    schedule();
  }

  // ---- connection -------------------------------------------------------
  function connect() {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    ws = new WebSocket(url);
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      handle(m);
    };
    ws.onclose = () => {
      connected = false;
      pending.clear();
      clearInterval(pollTimer);
      setConn(false, 'bridge not reachable, retrying…');
      for (const r of robots.values()) mark(r, 'link');
      setTimeout(connect, RECONNECT_MS);
    };
  }

  function setConn(up, text) {
    const c = $('#conn');
    c.textContent = text;
    c.className = 'badge ' + (up ? 'up' : 'down');
  }

  function handle(m) {
    if (m.id !== undefined && pending.has(m.id)) {
      const cb = pending.get(m.id);
      pending.delete(m.id);
      cb(m);
      return;
    }
    switch (m.class) {
      case 'VERSION': onHello(m); break;
      case 'FRAME': onFrame(m); break;
      case 'LINK': onLink(m); break;
      case 'DROPPED': notice('this page fell behind: ' + m.count + ' stream messages dropped'); break;
      case 'CONTROL': onControl(m); break;
      case 'BYE': notice('the bridge is stopping: ' + m.reason); break;
      case 'ERROR': notice('error ' + m.code + ': ' + m.message); break;
      default: break;
    }
  }

  function onHello(v) {
    connected = true;
    setConn(true, 'bridge ' + v.release);
    request({ cmd: 'frames' }, (f) => {
      if (f.class === 'FRAMES') frameTable = f.frames;
      request({ cmd: 'robots' }, (rr) => {
        if (rr.class !== 'ROBOTS') return;
        for (const info of rr.robots) robotView(info.name);
        onRobots(rr);
        for (const r of robots.values()) {
          buildCommands(r);
          request({ cmd: 'state', robot: r.name }, onState);
        }
        buildStops();
        request({ cmd: 'watch' });
      });
    });
    clearInterval(pollTimer);
    pollTimer = setInterval(() => request({ cmd: 'robots' }, onRobots), ROBOTS_POLL_MS);
  }

  function notice(text) {
    const n = $('#notices');
    const line = el('div', null, new Date().toLocaleTimeString([], { hour12: false }) + '  ' + text);
    n.prepend(line);
    while (n.children.length > NOTICES_MAX) n.lastChild.remove();
  }

  // ---- state ----------------------------------------------------------------
  function robotView(name) {
    if (robots.has(name)) return robots.get(name);
    const node = $('#robot-tpl').content.firstElementChild.cloneNode(true);
    node.dataset.robot = name;
    $('.name', node).textContent = name;
    const r = {
      name, node, linked: false, lastAt: null, refused: null, holder: null,
      jt: null, ps: null, cf: null, st: null,
      io: new Map(), ioRows: new Map(), events: [], dirty: new Set(['link']),
      joints: [],
    };
    const jbox = $('.joints', node);
    for (let i = 0; i < 6; i++) {
      const row = el('div', 'joint');
      const bar = el('div', 'bar');
      const [lo, hi] = JOINT_RANGE[i];
      const zero = el('div', 'zero');
      zero.style.left = (100 * (0 - lo) / (hi - lo)) + '%';
      const fill = el('div', 'fill');
      bar.append(zero, fill);
      bar.setAttribute('role', 'meter');
      bar.setAttribute('aria-valuemin', lo);
      bar.setAttribute('aria-valuemax', hi);
      bar.setAttribute('aria-label', 'joint ' + (i + 1));
      const val = el('span', 'val', '–');
      row.append(el('span', 'lbl', 'j' + (i + 1)), bar, val);
      jbox.append(row);
      r.joints.push({ bar, fill, val });
    }
    node.querySelectorAll('.sev, .ev-text').forEach((i) => i.addEventListener('input', () => mark(r, 'ev')));
    $('.take', node).addEventListener('click', () => control(r, 'control'));
    $('.release', node).addEventListener('click', () => control(r, 'release'));
    $('#robots').append(node);
    robots.set(name, r);
    return r;
  }

  function take(r, type, f, at) {
    switch (type) {
      case 'JT': r.jt = f.joints; mark(r, 'jt'); break;
      case 'PS': r.ps = f; mark(r, 'ps'); break;
      case 'CF': r.cf = f; mark(r, 'cf'); break;
      case 'ST': r.st = f; mark(r, 'st'); break;
      case 'IO': r.io.set(f.name, f.value); mark(r, 'io'); break;
      case 'EV':
        r.events.unshift({ time: f.time, severity: f.severity, code: f.code, text: f.text });
        if (r.events.length > EVENTS_MAX) r.events.length = EVENTS_MAX;
        mark(r, 'ev');
        break;
      default: break;
    }
    if (at !== undefined && (r.lastAt === null || at > r.lastAt)) {
      r.lastAt = at;
      mark(r, 'link');
    }
  }

  function onFrame(m) {
    const r = robots.get(m.robot);
    if (r) take(r, m.type, m, performance.now());
  }

  function onState(s) {
    if (s.class !== 'STATE') return;
    const r = robots.get(s.robot);
    if (!r) return;
    r.linked = s.connected && !s.stale;
    const now = performance.now();
    for (const [type, f] of Object.entries(s.frames || {})) take(r, type, f, now - 1000 * (f.age || 0));
    for (const [name, value] of Object.entries(s.io || {})) r.io.set(name, value);
    mark(r, 'io');
    mark(r, 'link');
  }

  function onLink(m) {
    const r = robots.get(m.robot);
    if (!r) return;
    r.linked = m.state === 'up';
    if (!r.linked) r.downReason = m.reason || '';
    mark(r, 'link');
  }

  function onRobots(rr) {
    if (rr.class !== 'ROBOTS') return;
    for (const info of rr.robots) {
      const r = robots.get(info.name);
      if (!r) continue;
      r.linked = info.connected;
      r.refused = info.last_refused || null;
      mark(r, 'link');
    }
  }

  function onControl(m) {
    const r = robots.get(m.robot);
    if (!r) return;
    r.holder = m.state === 'taken' ? m.holder : null;
    $('.control-result', r.node).textContent =
      m.state === 'taken' ? 'in control: ' + m.holder : 'released' + (m.holder ? ' by ' + m.holder : '');
    $('.control-result', r.node).className = 'control-result result ok';
  }

  // ---- commands ---------------------------------------------------------
  // A reply type (named by a request's "request") is sent only by `reply`,
  // never by `send`: it gets no form.
  function isReply(type) {
    return !!frameTable && frameTable.some((d) => d.request === type);
  }

  function mayOn(robot, what) {
    if (!grants) return true; // no login: the bridge's own rules decide and answer
    const list = grants[robot] || [];
    return list.includes(what);
  }

  function showResult(span, m) {
    if (m.class === 'ACK') {
      span.textContent = 'ACK seq ' + m.seq + ' ' + m.status + (m.code !== undefined ? ' ' + m.code : '') +
        (m.text ? ' ' + m.text : '');
      span.className = 'cmd-result result ' + (m.status === 'OK' ? 'ok' : 'err');
    } else if (m.class === 'ERROR') {
      span.textContent = 'ERROR ' + m.code + ': ' + m.message;
      span.className = 'cmd-result result err';
    } else {
      span.textContent = m.class;
      span.className = 'cmd-result result ok';
    }
  }

  function control(r, cmd) {
    const span = $('.control-result', r.node);
    span.textContent = '…';
    request({ cmd, robot: r.name }, (m) => {
      if (m.class === 'CONTROL') onControl(m);
      else showResult(span, m);
    });
  }

  function fieldInputs(form, f) {
    const n = f.count || 1;
    for (let k = 0; k < n; k++) {
      const label = el('label', null, n > 1 ? f.name + '[' + k + ']' : f.name);
      let input;
      if (f.kind === 'enum') {
        input = el('select');
        if (f.optional) input.append(el('option', null, ''));
        for (const v of f.values) input.append(el('option', null, v));
      } else {
        input = el('input');
        if (f.kind === 'int' || f.kind === 'real') {
          input.type = 'number';
          input.step = f.kind === 'int' ? '1' : 'any';
          if (Math.abs(f.min) < 1e9) input.min = f.min;
          if (Math.abs(f.max) < 1e9) input.max = f.max;
        } else {
          input.type = 'text';
          input.maxLength = 80;
          input.spellcheck = false;
        }
        input.required = !f.optional;
      }
      input.name = f.name;
      input.dataset.kind = f.kind;
      input.dataset.index = k;
      input.dataset.count = n;
      label.append(input);
      form.append(label);
    }
  }

  function readFields(form, def) {
    const fields = {};
    for (const f of def.fields) {
      const inputs = form.querySelectorAll('[name="' + f.name + '"]');
      const vals = [];
      for (const i of inputs) {
        if (i.value === '') continue;
        vals.push(f.kind === 'int' || f.kind === 'real' ? Number(i.value) : i.value);
      }
      if (!vals.length && f.optional) continue;
      fields[f.name] = (f.count || 1) > 1 ? vals : vals[0];
    }
    return fields;
  }

  function buildCommands(r) {
    const box = $('.forms', r.node);
    box.textContent = '';
    if (!frameTable) return;
    for (const def of frameTable) {
      if (def.direction !== 'out' || isReply(def.type) || !mayOn(r.name, def.type)) continue;
      const form = el('form', 'cmd');
      form.dataset.type = def.type;
      form.append(el('span', 'type', def.type));
      for (const f of def.fields) fieldInputs(form, f);
      const btn = el('button', def.urgent ? 'stop' : '', 'Send ' + def.type);
      btn.type = 'submit';
      const span = el('span', 'cmd-result result');
      span.setAttribute('role', 'status');
      form.append(btn, span);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        span.textContent = '…';
        span.className = 'cmd-result result';
        request({ cmd: 'send', robot: r.name, type: def.type, fields: readFields(form, def) },
          (m) => showResult(span, m));
      });
      box.append(form);
    }
  }

  // STOP for each robot in the header, always in sight.
  function buildStops() {
    const box = $('#stops');
    box.textContent = '';
    const stop = frameTable && frameTable.find((d) => d.direction === 'out' && d.urgent);
    if (!stop) return;
    for (const r of robots.values()) {
      if (!mayOn(r.name, stop.type)) continue;
      const b = el('button', 'stop', stop.type + ' ' + r.name);
      b.type = 'button';
      b.dataset.robot = r.name;
      b.title = 'send ' + stop.type + ' to ' + r.name + ' now';
      b.addEventListener('click', () => {
        request({ cmd: 'send', robot: r.name, type: stop.type, fields: {} }, (m) => {
          showResult($('.cmd-result', $('form.cmd[data-type="' + stop.type + '"]', r.node) || r.node) ||
            $('.control-result', r.node), m);
          if (m.class === 'ERROR') notice(stop.type + ' ' + r.name + ': ' + m.code + ': ' + m.message);
        });
      });
      box.append(b);
    }
  }

  function login(e) {
    e.preventDefault();
    const input = $('#token');
    const out = $('#login-result');
    const token = input.value;
    input.value = '';
    out.textContent = '…';
    request({ cmd: 'auth', token }, (m) => {
      if (m.class === 'AUTH') {
        grants = m.grants || {};
        $('#principal').textContent = m.principal;
        out.textContent = 'logged in';
        out.className = 'result ok';
        for (const r of robots.values()) buildCommands(r);
        buildStops();
      } else {
        out.textContent = 'ERROR ' + m.code + ': ' + m.message;
        out.className = 'result err';
      }
    });
  }

  // ---- drawing --------------------------------------------------------------
  function drawJoints(r) {
    for (let i = 0; i < 6; i++) {
      const j = r.joints[i];
      const v = r.jt ? r.jt[i] : null;
      j.val.textContent = fmt(v, 2);
      if (typeof v !== 'number') continue;
      const [lo, hi] = JOINT_RANGE[i];
      const p = (x) => Math.min(1, Math.max(0, (x - lo) / (hi - lo))) * 100;
      const a = p(0), b = p(v);
      j.fill.style.left = Math.min(a, b) + '%';
      j.fill.style.width = Math.abs(b - a) + '%';
      j.bar.setAttribute('aria-valuenow', v);
    }
  }

  function rpy(q) {
    const [w, x, y, z] = q;
    const d = 180 / Math.PI;
    const roll = Math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y));
    const pitch = Math.asin(Math.max(-1, Math.min(1, 2 * (w * y - z * x))));
    const yaw = Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
    return [roll * d, pitch * d, yaw * d];
  }

  function drawIo(r) {
    const body = $('.io tbody', r.node);
    for (const [name, value] of [...r.io.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      let row = r.ioRows.get(name);
      if (!row) {
        row = el('tr');
        row.append(el('td', null, name), el('td'));
        r.ioRows.set(name, row);
        const rows = [...r.ioRows.keys()].sort();
        const next = r.ioRows.get(rows[rows.indexOf(name) + 1]);
        body.insertBefore(row, next || null);
      }
      const text = fmt(value, Number.isInteger(value) ? 0 : 3);
      if (row.lastChild.textContent !== text) row.lastChild.textContent = text;
    }
  }

  function drawEvents(r) {
    const list = $('.events', r.node);
    const sev = new Set([...r.node.querySelectorAll('.sev:checked')].map((i) => i.value));
    const text = $('.ev-text', r.node).value.trim().toLowerCase();
    list.textContent = '';
    for (const ev of r.events) {
      if (!sev.has(ev.severity)) continue;
      if (text && !(ev.text + ' ' + ev.code).toLowerCase().includes(text)) continue;
      const li = el('li', 'sev-' + ev.severity);
      li.append(el('span', 't', clock(ev.time)), el('span', 's', ev.severity), el('span', 'c', ev.code),
        el('span', 'x', ev.text));
      list.append(li);
    }
  }

  function drawLink(r, now) {
    const up = connected && r.linked;
    const badge = $('.link', r.node);
    badge.textContent = !connected ? 'bridge offline' : up ? 'linked' : 'link down';
    badge.className = 'link badge ' + (up ? 'up' : 'down');
    r.node.classList.toggle('stale', !up);
    const age = r.lastAt === null ? null : Math.max(0, now - r.lastAt) / 1000;
    $('.age', r.node).textContent = age === null ? 'no frame yet' : 'last frame ' +
      (age < 10 ? age.toFixed(1) : Math.round(age)) + ' s ago';
    const ref = $('.refused', r.node);
    if (!up && r.refused) {
      ref.textContent = 'refused ' + clock(r.refused.time) + ' from ' + r.refused.peer + ': ' +
        r.refused.reason + (r.refused.hint ? ' (' + r.refused.hint + ')' : '');
    } else {
      ref.textContent = '';
    }
  }

  function draw(now) {
    frameScheduled = false;
    for (const r of robots.values()) {
      const d = r.dirty;
      if (!d.size) continue;
      if (d.has('jt')) drawJoints(r);
      if (d.has('ps') && r.ps) {
        $('.pos', r.node).textContent = r.ps.pos.map((x) => fmt(x, 1)).join('  ');
        $('.quat', r.node).textContent = r.ps.quat.map((x) => fmt(x, 4)).join('  ');
        $('.rpy', r.node).textContent = rpy(r.ps.quat).map((x) => fmt(x, 1)).join('  ');
      }
      if (d.has('cf') && r.cf) {
        $('.conf', r.node).textContent = '[' + r.cf.conf.join(', ') + ']';
        $('.tool', r.node).textContent = r.cf.tool;
        $('.wobj', r.node).textContent = r.cf.wobj;
      }
      if (d.has('st') && r.st) {
        $('.exec', r.node).textContent = r.st.exec;
        $('.mode', r.node).textContent = r.st.mode;
        $('.motors', r.node).textContent = r.st.motors;
        $('.speed', r.node).textContent = r.st.speed + ' %';
      }
      if (d.has('io')) drawIo(r);
      if (d.has('ev')) drawEvents(r);
      if (d.has('link')) drawLink(r, now);
      d.clear();
    }
  }

  // The "last frame ... ago" line and staleness move on their own.
  setInterval(() => { for (const r of robots.values()) mark(r, 'link'); }, 250);

  document.addEventListener('DOMContentLoaded', () => {
    $('#login').addEventListener('submit', login);
    connect();
  });
})();
