import { createHash } from 'node:crypto';

/**
 * The operators' page: one self-contained HTML document (inline CSS and JS, no build step, no
 * external requests) that polls the API, one request per endpoint at a time. Served with a CSP that pins the inline script and style by
 * hash and only allows same-origin fetches, so the page cannot reach the outside network.
 */

const STYLE = `
:root { --bg:#f4f6f8; --card:#fff; --ink:#1c2733; --muted:#5b6b7b; --accent:#0b6e4f; --warn:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; justify-content:space-between; padding:16px 24px; background:var(--accent); color:#fff; }
header h1 { margin:0; font-size:20px; font-weight:600; }
header label { font-size:14px; }
select { font:inherit; padding:4px 8px; border-radius:6px; border:0; margin-left:6px; }
main { padding:20px 24px; max-width:1200px; margin:0 auto; }
h2 { font-size:14px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:20px 0 8px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(210px, 1fr)); gap:12px; }
.card { background:var(--card); border-radius:10px; padding:14px 16px; box-shadow:0 1px 2px rgba(0,0,0,.08); }
.card .label { color:var(--muted); font-size:13px; }
.card .value { font-size:26px; font-weight:600; margin-top:4px; font-variant-numeric:tabular-nums; }
.card .sub { color:var(--muted); font-size:13px; margin-top:2px; font-variant-numeric:tabular-nums; }
.card.highlight .value { color:var(--accent); }
.off { color:var(--warn); }
#status { margin-top:20px; color:var(--muted); font-size:13px; }
#error { display:none; margin-top:12px; padding:10px 14px; border-radius:8px; background:#fdecea; color:var(--warn); }
`;

const SCRIPT = `
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var refreshMs = Math.max(1000, Number(params.get('refresh')) || 5000);
  var num = function (digits) { return new Intl.NumberFormat('pt-BR', { minimumFractionDigits: digits, maximumFractionDigits: digits }); };
  var fmt = {
    count: num(0),
    kwh: num(2),
    kg: num(2),
    hours: num(1),
    brl: new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' }),
    time: new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short', timeStyle: 'medium' })
  };
  var select = document.getElementById('municipality');
  var generation = 0;

  function show(id, value, formatter, suffix) {
    var el = document.getElementById(id);
    el.dataset.value = String(value);
    el.textContent = formatter.format(value) + (suffix || '');
  }
  function fail(message) {
    var el = document.getElementById('error');
    el.textContent = message;
    el.style.display = 'block';
  }
  // A failed request carries its status and the server's Retry-After (seconds), if any.
  function getJson(path) {
    return fetch(path, { headers: { accept: 'application/json' } }).then(function (res) {
      if (!res.ok) {
        var err = new Error(path + ': HTTP ' + res.status);
        var retry = Number(res.headers.get('retry-after'));
        err.retryAfterMs = Number.isFinite(retry) && retry > 0 ? retry * 1000 : 0;
        throw err;
      }
      return res.json();
    });
  }
  function withMunicipality(path) {
    return select.value ? path + '?municipality=' + encodeURIComponent(select.value) : path;
  }

  function render(fleet, e) {
    ['gateways', 'luminaires', 'aps'].forEach(function (k) {
      show(k + '-online', fleet[k].online, fmt.count);
      show(k + '-offline', fleet[k].offline, fmt.count);
    });
    show('measured-kwh', e.measuredKwh, fmt.kwh, ' kWh');
    show('baseline-kwh', e.baselineKwh, fmt.kwh, ' kWh');
    show('saved-kwh', e.savedKwh, fmt.kwh, ' kWh');
    show('saved-brl', e.savedBrl, fmt.brl);
    show('saved-co2', e.savedCo2Kg, fmt.kg, ' kg');
    show('billing-baseline-kwh', e.billingBaselineKwh, fmt.kwh, ' kWh');
    show('billing-saved-brl', e.billingSavedBrl, fmt.brl);
    show('lit-hours', e.litHours, fmt.hours, ' h');
    show('luminaires-reporting', e.luminaires, fmt.count);
    document.getElementById('status').textContent =
      'Período: ' + fmt.time.format(new Date(e.from)) + ' – ' + fmt.time.format(new Date(e.to)) +
      ' · atualizado às ' + fmt.time.format(new Date()) + ' · a cada ' + refreshMs / 1000 + ' s';
    document.getElementById('error').style.display = 'none';
  }

  // One request per endpoint at a time: the next round is scheduled only once this one has
  // answered (never setInterval, which stacks requests behind a slow server). Errors back off
  // exponentially up to 60 s, and never sooner than the server's Retry-After; a hidden tab waits.
  var timer = null, inFlight = false, again = false, failures = 0, waitingForVisible = false;
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }
  function backoffMs(err) {
    var exp = Math.min(60000, refreshMs * Math.pow(2, failures));
    // Up to 20 % later, so tabs that failed together do not come back together.
    return Math.max(err.retryAfterMs || 0, exp) * (1 + Math.random() * 0.2);
  }
  function settle(p) {
    return p.then(function (value) { return { value: value }; }, function (error) { return { error: error }; });
  }
  function tick() {
    timer = null;
    if (inFlight) { again = true; return; }
    if (document.hidden) { waitingForVisible = true; return; }
    inFlight = true;
    again = false;
    var mine = generation;
    // Both settle before the next round (Promise.all alone would move on at the first failure
    // while the other request still runs).
    Promise.all([settle(getJson(withMunicipality('/api/v1/fleet'))), settle(getJson(withMunicipality('/api/v1/energy')))])
      .then(function (r) {
        if (r[0].error) throw r[0].error;
        if (r[1].error) throw r[1].error;
        failures = 0;
        if (mine === generation) render(r[0].value, r[1].value); // else the selector changed: this answer is stale
        return refreshMs;
      })
      .catch(function (err) {
        failures += 1;
        if (mine === generation) fail('Falha ao atualizar: ' + err.message);
        return backoffMs(err);
      })
      .then(function (delay) {
        inFlight = false;
        schedule(again ? 0 : delay);
      });
  }

  getJson('/api/v1/municipalities').then(function (r) {
    r.municipalities.forEach(function (m) {
      var o = document.createElement('option');
      o.value = m.id;
      o.textContent = m.name;
      select.appendChild(o);
    });
  }).catch(function (err) { fail('Falha ao carregar municípios: ' + err.message); });
  select.addEventListener('change', function () {
    generation += 1;
    if (inFlight) again = true; // asked again as soon as the current round answers
    else schedule(0);
  });
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && waitingForVisible) {
      waitingForVisible = false;
      schedule(0);
    }
  });
  tick();
})();
`;

const card = (label: string, id: string, sub = '', highlight = false) =>
  `<div class="card${highlight ? ' highlight' : ''}"><div class="label">${label}</div><div class="value" id="${id}">—</div>${sub}</div>`;
const fleetCard = (label: string, key: string) =>
  `<div class="card"><div class="label">${label}</div><div class="value" id="${key}-online">—</div>` +
  `<div class="sub">online · <span class="off" id="${key}-offline">—</span> offline</div></div>`;

const HTML = `<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Poste — painel do operador</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>Poste · Iluminação pública e Wi-Fi comunitário</h1>
  <label>Município<select id="municipality"><option value="">Todos os municípios</option></select></label>
</header>
<main>
  <h2>Frota</h2>
  <div class="grid">
    ${fleetCard('Gateways', 'gateways')}
    ${fleetCard('Luminárias', 'luminaires')}
    ${fleetCard('Pontos de acesso Wi-Fi', 'aps')}
  </div>
  <h2>Energia · últimas 24 h</h2>
  <div class="grid">
    ${card('Energia medida', 'measured-kwh')}
    ${card('Linha de base (lâmpadas antigas)', 'baseline-kwh')}
    ${card('Energia economizada', 'saved-kwh', '', true)}
    ${card('Economia', 'saved-brl', '', true)}
    ${card('CO₂ evitado', 'saved-co2')}
    ${card('Faturamento por horas estimadas', 'billing-baseline-kwh', '<div class="sub">diferença: <span id="billing-saved-brl">—</span></div>')}
    ${card('Horas acesas', 'lit-hours', '<div class="sub"><span id="luminaires-reporting">—</span> luminárias com dados</div>')}
  </div>
  <div id="error" role="alert"></div>
  <div id="status">Carregando…</div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

export const DASHBOARD_PAGE_HTML = HTML;

/** Same-origin fetches only; the inline style and script are allowed by hash, nothing else. */
export const DASHBOARD_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
