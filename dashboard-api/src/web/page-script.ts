/**
 * The page's behaviour (/assets/app.js). Each panel polls its endpoint and schedules its next
 * round only once the answer is in (never setInterval: a slow API sees at most one request per
 * panel), backs off on errors (exponential, at least the server's Retry-After), and refreshes at
 * once when the event stream says something changed. The stream is read with fetch() because
 * EventSource cannot send the Authorization header.
 */
export const PAGE_SCRIPT = String.raw`(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var refreshMs = Math.max(1000, Number(params.get('refresh')) || 15000);
  var token = sessionStorage.getItem('posteToken') || '';
  var me = null;
  var nf = function (d) { return new Intl.NumberFormat('pt-BR', { minimumFractionDigits: d, maximumFractionDigits: d }); };
  var fmt = { n0: nf(0), n1: nf(1), n2: nf(2), brl: new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' }),
    pct: new Intl.NumberFormat('pt-BR', { style: 'percent', maximumFractionDigits: 1 }),
    time: new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short', timeStyle: 'short' }) };
  var FAULT_NAMES = { lampFailure: 'Lâmpada queimada', driverFailure: 'Falha no driver', dayBurner: 'Acesa de dia', cyclingFailure: 'Liga-desliga',
    supplyLoss: 'Sem energia', tamper: 'Violação', apDown: 'Ponto Wi-Fi fora', deviceSilent: 'Dispositivo sem resposta',
    gatewaySilent: 'Gateway sem resposta', apBelowQuality: 'Wi-Fi abaixo da qualidade' };
  var STATE_NAMES = { open: 'aberta', acknowledged: 'reconhecida', cleared: 'resolvida', scheduled: 'agendado', sent: 'enviado', done: 'concluído',
    partial: 'parcial', failed: 'falhou', cancelled: 'cancelado' };

  function show(id, text, raw) { var el = $(id); el.textContent = text; if (raw !== undefined) el.dataset.value = String(raw); }
  function fail(msg) { var el = $('error'); el.textContent = msg; el.classList.add('show'); }
  function cell(tr, text, cls) { var td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
  function fillTable(id, rows, render) {
    var body = $(id).querySelector('tbody');
    body.textContent = '';
    rows.forEach(function (r) { var tr = document.createElement('tr'); render(tr, r); body.appendChild(tr); });
  }

  function api(method, path, body) {
    var headers = { accept: 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (res.ok) return json;
        var err = new Error(json.message || (json.issues && json.issues.map(function (i) { return i.path + ': ' + i.reason; }).join('; ')) || ('HTTP ' + res.status));
        err.status = res.status;
        var retry = Number(res.headers.get('retry-after'));
        err.retryAfterMs = retry > 0 ? retry * 1000 : 0;
        throw err;
      });
    });
  }

  // One poller per panel: at most one request in flight, the next round only after the answer.
  var pollers = [];
  function poller(load, everyMs) {
    var timer = null, busy = false, again = false, failures = 0, stopped = false, lastStart = 0;
    function run() {
      clearTimeout(timer); timer = null;
      if (stopped) return;
      if (busy) { again = true; return; }
      if (document.hidden) { timer = setTimeout(run, everyMs); return; }
      busy = true; again = false; lastStart = Date.now();
      load().then(function () { failures = 0; return everyMs; }, function (err) {
        failures += 1;
        if (err.status === 401) { logout('Sessão expirada ou token revogado.'); return everyMs; }
        fail('Falha ao atualizar: ' + err.message);
        return Math.max(err.retryAfterMs || 0, Math.min(60000, everyMs * Math.pow(2, failures))) * (1 + Math.random() * 0.2);
      }).then(function (delay) { busy = false; if (!stopped) timer = setTimeout(run, again ? 0 : delay); });
    }
    // soon(): what the event stream calls — at most one extra round per 3 s, however busy the fleet is.
    function soon() {
      if (busy) { again = true; return; }
      clearTimeout(timer);
      timer = setTimeout(run, Math.max(0, lastStart + 3000 - Date.now()));
    }
    var p = { kick: run, soon: soon, stop: function () { stopped = true; clearTimeout(timer); } };
    pollers.push(p);
    return p;
  }

  var charts = {};
  function chart(id, title, labels, colors, xs, ys) {
    var data = [xs].concat(ys);
    if (charts[id]) { charts[id].setData(data); return; }
    var el = $(id);
    var opts = { width: Math.max(300, el.clientWidth || 520), height: 260, title: title,
      series: [{}].concat(labels.map(function (l, i) { return { label: l, stroke: colors[i], width: 2 }; })) };
    charts[id] = new uPlot(opts, data, el);
    el.dataset.points = String(xs.length);
  }
  function dayToSec(period) { var p = period.split(/[-T]/).map(Number); return Date.UTC(p[0], p[1] - 1, p[2] || 1, (p[3] || 12)) / 1000; }

  function loadOverview() {
    // Ranges are left to the server's defaults (ending at its clock, which the city runs simulated).
    return Promise.all([api('GET', '/api/v1/fleet'), api('GET', '/api/v1/energy'), api('GET', '/api/v1/energy/series?granularity=month'),
      api('GET', '/api/v1/faults/counts')]).then(function (r) {
      ['gateways', 'luminaires', 'aps'].forEach(function (k) {
        show(k + '-online', fmt.n0.format(r[0][k].online), r[0][k].online);
        show(k + '-offline', fmt.n0.format(r[0][k].offline), r[0][k].offline);
      });
      show('today-kwh', fmt.n1.format(r[1].measuredKwh) + ' kWh', r[1].measuredKwh);
      show('today-baseline', fmt.n1.format(r[1].baselineKwh) + ' kWh');
      show('saved-kwh', fmt.n0.format(r[2].savedKwh) + ' kWh', r[2].savedKwh);
      show('saved-brl', fmt.brl.format(r[2].savedBrl));
      show('saved-co2', fmt.n0.format(r[2].savedCo2Kg) + ' kg');
      show('faults-active', fmt.n0.format(r[3].total.open + r[3].total.acknowledged), r[3].total.open + r[3].total.acknowledged);
      show('faults-open', fmt.n0.format(r[3].total.open));
      $('status').textContent = 'Atualizado às ' + fmt.time.format(new Date());
    });
  }
  function loadEnergy() {
    return api('GET', '/api/v1/energy/series?granularity=day').then(function (s) {
      chart('energy-chart', 'kWh por dia', ['Medida', 'Linha de base (lâmpadas antigas)', 'Faturamento por horas estimadas'], ['#0b6e4f', '#d97706', '#b3261e'],
        s.points.map(function (p) { return dayToSec(p.period); }),
        [s.points.map(function (p) { return p.measuredKwh; }), s.points.map(function (p) { return p.baselineKwh; }), s.points.map(function (p) { return p.billingBaselineKwh; })]);
    });
  }
  function mbText(bytes) { return fmt.n1.format(bytes / 1e6) + ' MB'; }
  function pctText(reserve) { return reserve.honouredPct === null ? '—' : fmt.pct.format(reserve.honouredPct / 100); }
  function showLedger(h) {
    return api('GET', '/api/v1/households/' + h.id + '/ledger').then(function (l) {
      $('ledger-title').textContent = 'Extrato de ' + h.name + ' · ' + mbText(l.totals.publicBytes) + ' público, ' + mbText(l.totals.telemedicineBytes) +
        ' telemedicina, ' + fmt.n0.format(l.totals.telemedicineSessions) + ' sessões, reserva respeitada ' + pctText(l.totals.reserve);
      fillTable('ledger', l.days, function (tr, d) {
        cell(tr, d.day); cell(tr, mbText(d.publicBytes), 'num'); cell(tr, mbText(d.telemedicineBytes), 'num');
        cell(tr, fmt.n0.format(d.telemedicineSessions), 'num'); cell(tr, fmt.n0.format(d.cededHours) + ' h', 'num'); cell(tr, pctText(d.reserve), 'num');
      });
      $('ledger-box').classList.remove('hidden');
      $('ledger').dataset.household = h.id;
    }, function (err) { fail('Extrato indisponível: ' + err.message); });
  }
  function loadWifi() {
    return Promise.all([api('GET', '/api/v1/wifi/series?granularity=hour'), api('GET', '/api/v1/wifi/free-points'), api('GET', '/api/v1/wifi/aps')]).then(function (r) {
      show('tele-sessions', fmt.n0.format(r[0].telemedicineSessions), r[0].telemedicineSessions);
      show('reserve-pct', pctText(r[0].reserve), r[0].reserve.honouredPct === null ? '' : r[0].reserve.honouredPct);
      fillTable('households', r[2].aps.filter(function (a) { return a.household; }), function (tr, a) {
        tr.dataset.household = a.household.id;
        cell(tr, a.household.name); cell(tr, a.ap); cell(tr, fmt.n0.format(a.household.cededKbps) + ' kbit/s', 'num');
        cell(tr, mbText(a.bytes.public), 'num'); cell(tr, mbText(a.bytes.telemedicine), 'num'); cell(tr, fmt.n0.format(a.telemedicineSessions), 'num');
        cell(tr, pctText(a.reserve), 'num');
        var b = document.createElement('button'); b.textContent = 'Extrato'; b.className = 'ledger';
        b.addEventListener('click', function () { showLedger({ id: a.household.id, name: a.household.name }); });
        cell(tr, '').appendChild(b);
      });
      var mb = function (k) { return r[0].points.map(function (p) { return p.bytes[k] / 1e6; }); };
      chart('wifi-chart', 'MB por hora', ['Domicílios', 'Público', 'Telemedicina'], ['#5b6b7b', '#0b6e4f', '#7c3aed'],
        r[0].points.map(function (p) { return dayToSec(p.period); }), [mb('household'), mb('public'), mb('telemedicine')]);
      fillTable('free-points', r[1].points, function (tr, p) {
        cell(tr, p.name); cell(tr, fmt.n0.format(p.spareKbps) + ' kbit/s', 'num'); cell(tr, fmt.n1.format(p.clientsAvg), 'num');
        cell(tr, fmt.pct.format(p.uptimePct / 100), 'num'); cell(tr, p.belowQuality ? 'abaixo do limite' : 'ok', p.belowQuality ? 'off' : 'good');
      });
    });
  }
  function loadFinance() {
    return api('GET', '/api/v1/finance').then(function (f) {
      var byId = {}; f.municipalities.forEach(function (m) { byId[m.municipality] = m; });
      fillTable('finance', f.ranking.map(function (id) { return byId[id]; }), function (tr, m) {
        cell(tr, m.name); cell(tr, fmt.brl.format(m.measuredSpendBrl), 'num'); cell(tr, fmt.brl.format(m.billedSpendBrl), 'num');
        cell(tr, m.revenueBrl ? fmt.brl.format(m.revenueBrl) : '—', 'num');
        cell(tr, m.measuredRatio !== undefined ? fmt.pct.format(m.measuredRatio) : '—', 'num');
        cell(tr, m.paybackMonths !== undefined ? fmt.n1.format(m.paybackMonths) + ' meses' : '—', 'num');
      });
    });
  }
  function canWrite() { return me && me.role !== 'viewer'; }
  function loadFaults() {
    return api('GET', '/api/v1/faults?state=active&limit=50').then(function (page) {
      fillTable('faults', page.items, function (tr, f) {
        tr.dataset.fault = f.id;
        cell(tr, FAULT_NAMES[f.type] || f.type); cell(tr, (f.device || f.gateway) + (f.municipality ? ' · ' + f.municipality : ''));
        cell(tr, fmt.time.format(new Date(f.raisedAt))); cell(tr, STATE_NAMES[f.state] + (f.assignee ? ' → ' + f.assignee : ''));
        var td = cell(tr, '');
        if (f.state === 'open' && canWrite()) {
          var b = document.createElement('button'); b.textContent = 'Reconhecer'; b.className = 'ack';
          b.addEventListener('click', function () {
            b.disabled = true;
            api('POST', '/api/v1/faults/' + f.id + '/acknowledge').then(function () { faults.kick(); overview.kick(); }, function (err) { fail('Não foi possível reconhecer: ' + err.message); b.disabled = false; });
          });
          td.appendChild(b);
        }
      });
    });
  }
  function loadCommands() {
    return api('GET', '/api/v1/commands?limit=10').then(function (page) {
      fillTable('commands', page.items, function (tr, c) {
        tr.dataset.command = c.id; tr.dataset.state = c.state;
        cell(tr, fmt.time.format(new Date(c.requestedAt))); cell(tr, c.requestedBy);
        var r = c.request, t = r.target || {};
        cell(tr, c.kind === 'override' ? 'nível ' + r.level + '% em ' + (t.luminaire || t.group || t.municipality) : c.kind === 'apPublicShare' ? 'Wi-Fi cedido ' + r.publicCapKbps + ' kbit/s em ' + r.ap : c.kind);
        cell(tr, STATE_NAMES[c.state] + (c.outcome && c.outcome !== 'done' ? ' (' + c.outcome + ')' : ''), c.state === 'done' ? 'good' : c.state === 'failed' ? 'off' : '');
      });
    });
  }
  var COLORS = { ok: '#0b6e4f', fault: '#d97706', offline: '#b3261e', unknown: '#9aa5b1' };
  function loadMap() {
    return api('GET', '/api/v1/poles').then(function (r) {
      var c = $('map'), ctx = c.getContext('2d'), poles = r.poles;
      c.width = c.clientWidth || 640;
      ctx.clearRect(0, 0, c.width, c.height);
      c.dataset.poles = String(poles.length);
      if (!poles.length) return;
      var lat = poles.map(function (p) { return p.lat; }), lon = poles.map(function (p) { return p.lon; });
      var minLat = Math.min.apply(null, lat), maxLat = Math.max.apply(null, lat), minLon = Math.min.apply(null, lon), maxLon = Math.max.apply(null, lon);
      var pad = 12, w = c.width - 2 * pad, h = c.height - 2 * pad;
      // Equirectangular at this scale: a municipality is a few km wide; longitudes shrink by cos(latitude).
      var k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
      var sx = (maxLon - minLon) * k || 1e-6, sy = (maxLat - minLat) || 1e-6, s = Math.min(w / sx, h / sy);
      var counts = { ok: 0, fault: 0, offline: 0, unknown: 0 };
      poles.forEach(function (p) {
        counts[p.status] += 1;
        ctx.fillStyle = COLORS[p.status];
        ctx.beginPath();
        ctx.arc(pad + (p.lon - minLon) * k * s, pad + h - (p.lat - minLat) * s, p.kind === 'ap' ? 4 : 2.5, 0, 2 * Math.PI);
        ctx.fill();
      });
      c.dataset.counts = JSON.stringify(counts);
    });
  }

  var overview, faults, commands, mapPoller;
  function startPanels() {
    overview = poller(loadOverview, refreshMs);
    poller(loadEnergy, 4 * refreshMs);
    poller(loadWifi, 4 * refreshMs);
    poller(loadFinance, 4 * refreshMs);
    faults = poller(loadFaults, refreshMs);
    commands = poller(loadCommands, refreshMs);
    mapPoller = poller(loadMap, 2 * refreshMs);
    pollers.forEach(function (p) { p.kick(); });
    stream();
  }

  // Live updates: the stream triggers the affected panels at once (each still one request at a time).
  var streamCtl = null, lastEventId = 0, streamFailures = 0;
  function stream() {
    streamCtl = new AbortController();
    var headers = { authorization: 'Bearer ' + token, accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = String(lastEventId);
    fetch('/api/v1/stream', { headers: headers, signal: streamCtl.signal }).then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      $('live').textContent = '● ao vivo';
      streamFailures = 0;
      var reader = res.body.getReader(), dec = new TextDecoder(), buf = '';
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) throw new Error('stream ended');
          buf += dec.decode(r.value, { stream: true });
          var i;
          while ((i = buf.indexOf('\n\n')) >= 0) { onFrame(buf.slice(0, i)); buf = buf.slice(i + 2); }
          return pump();
        });
      }
      return pump();
    }).catch(function (err) {
      if (streamCtl.signal.aborted) return;
      $('live').textContent = '○ reconectando';
      streamFailures += 1;
      setTimeout(stream, Math.min(30000, 1000 * Math.pow(2, streamFailures)));
      void err;
    });
  }
  function onFrame(frame) {
    var type = null;
    frame.split('\n').forEach(function (line) {
      if (line.indexOf('id: ') === 0) lastEventId = Number(line.slice(4));
      if (line.indexOf('event: ') === 0) type = line.slice(7);
    });
    if (type === 'fleet') { overview.soon(); mapPoller.soon(); }
    if (type === 'fault') { faults.soon(); overview.soon(); mapPoller.soon(); }
    if (type === 'command') commands.soon();
  }

  function enter() {
    return api('GET', '/api/v1/whoami').then(function (who) {
      me = who;
      sessionStorage.setItem('posteToken', token);
      $('who').textContent = who.name + ' (' + who.role + ')';
      $('login').classList.add('hidden'); $('app').classList.remove('hidden'); $('logout').classList.remove('hidden');
      $('ov-submit').disabled = !canWrite();
      $('command-note').textContent = canWrite() ? '' : 'Seu papel (' + who.role + ') só permite consultar: comandos exigem operador.';
      startPanels();
    });
  }
  function logout(message) {
    pollers.forEach(function (p) { p.stop(); }); pollers = [];
    if (streamCtl) streamCtl.abort();
    sessionStorage.removeItem('posteToken'); token = ''; me = null;
    $('app').classList.add('hidden'); $('login').classList.remove('hidden'); $('logout').classList.add('hidden'); $('who').textContent = ''; $('live').textContent = '';
    if (message) { $('login-error').textContent = message; $('login-error').classList.add('show'); }
  }
  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    token = $('token').value.trim();
    enter().catch(function (err) { token = ''; $('login-error').textContent = 'Não foi possível entrar: ' + err.message; $('login-error').classList.add('show'); });
  });
  $('logout').addEventListener('click', function () { logout(''); });
  $('override-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var minutes = Number($('ov-minutes').value);
    // Expiry on the server's clock (simulated in the city), asked for just before.
    api('GET', '/api/v1/whoami').then(function (w) {
      return api('POST', '/api/v1/commands', { kind: 'override', target: { luminaire: $('ov-luminaire').value.trim() }, level: Number($('ov-level').value), expiry: w.now + minutes * 60000 });
    }).then(function (c) { $('command-note').textContent = 'Comando ' + c.id + ' enviado.'; commands.kick(); },
        function (err) { $('command-note').textContent = 'Comando recusado: ' + err.message; });
  });
  document.addEventListener('visibilitychange', function () { if (!document.hidden) pollers.forEach(function (p) { p.kick(); }); });
  if (token) enter().catch(function () { logout('Entre novamente.'); });
})();
`;
