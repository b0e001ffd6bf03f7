/** The page: markup only (no inline script or style); behaviour in /assets/app.js, charts by uPlot (served locally). */
const card = (label: string, id: string, sub = '') =>
  `<div class="card"><div class="label">${label}</div><div class="value" id="${id}">—</div>${sub}</div>`;

export const PAGE_HTML = `<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Poste — painel do operador</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uplot.min.css">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<header>
  <h1>Poste · Iluminação pública e Wi-Fi comunitário</h1>
  <div><span id="who"></span> <span id="live" class="sub"></span> <button id="logout" class="hidden">Sair</button></div>
</header>
<section id="login" class="card">
  <h2>Entrar</h2>
  <form id="login-form" class="inline">
    <label>Token de acesso<input id="token" type="password" autocomplete="off" size="40" placeholder="pst_…"></label>
    <button class="primary" type="submit">Entrar</button>
  </form>
  <p class="sub">Peça um token ao administrador (<code>poste-dashboard token create</code>); no primeiro início, o token de administrador fica em <code>$POSTE_DATA/admin-token</code>.</p>
  <div id="login-error" class="notice" role="alert"></div>
</section>
<main id="app" class="hidden">
  <div id="error" class="notice" role="alert"></div>
  <h2>Visão geral</h2>
  <div class="grid">
    ${card('Gateways online', 'gateways-online', '<div class="sub"><span class="off" id="gateways-offline">—</span> offline</div>')}
    ${card('Luminárias online', 'luminaires-online', '<div class="sub"><span class="off" id="luminaires-offline">—</span> offline</div>')}
    ${card('Pontos Wi-Fi online', 'aps-online', '<div class="sub"><span class="off" id="aps-offline">—</span> offline</div>')}
    ${card('Energia · últimas 24 h', 'today-kwh', '<div class="sub">linha de base <span id="today-baseline">—</span></div>')}
    ${card('Economia · 12 meses', 'saved-kwh', '<div class="sub"><span id="saved-brl">—</span> · <span id="saved-co2">—</span> CO₂</div>')}
    ${card('Falhas ativas', 'faults-active', '<div class="sub"><span id="faults-open">—</span> sem reconhecimento</div>')}
  </div>
  <div class="two">
    <div><h2>Energia por dia × linhas de base (30 dias)</h2><div class="card"><div id="energy-chart"></div></div></div>
    <div><h2>Wi-Fi por classe (7 dias, MB/h)</h2><div class="card"><div id="wifi-chart"></div>
      <div class="sub">Telemedicina: <b id="tele-sessions">—</b> sessões em 7 dias · reserva dos domicílios respeitada <b id="reserve-pct">—</b> do tempo</div></div></div>
  </div>
  <h2>Municípios · gasto × arrecadação (CIP/COSIP)</h2>
  <div class="card"><table id="finance"><thead><tr><th>Município</th><th class="num">Gasto medido</th><th class="num">Gasto faturado (horas estimadas)</th><th class="num">Arrecadação</th><th class="num">Gasto/arrecadação</th><th class="num">Payback</th></tr></thead><tbody></tbody></table></div>
  <div class="two">
    <div><h2>Falhas</h2><div class="card"><table id="faults"><thead><tr><th>Tipo</th><th>Local</th><th>Desde</th><th>Estado</th><th></th></tr></thead><tbody></tbody></table></div></div>
    <div><h2>Pontos de Wi-Fi livre</h2><div class="card"><table id="free-points"><thead><tr><th>Ponto</th><th class="num">Disponível</th><th class="num">Clientes</th><th class="num">No ar</th><th></th></tr></thead><tbody></tbody></table></div></div>
  </div>
  <h2>Domicílios que cedem Wi-Fi (7 dias)</h2>
  <div class="card"><table id="households"><thead><tr><th>Domicílio</th><th>Ponto</th><th class="num">Cedido</th><th class="num">Público</th><th class="num">Telemedicina</th><th class="num">Sessões</th><th class="num">Reserva respeitada</th><th></th></tr></thead><tbody></tbody></table>
    <div id="ledger-box" class="hidden"><h3 id="ledger-title">Extrato</h3>
      <table id="ledger"><thead><tr><th>Dia</th><th class="num">Público</th><th class="num">Telemedicina</th><th class="num">Sessões</th><th class="num">Horas cedidas</th><th class="num">Reserva respeitada</th></tr></thead><tbody></tbody></table></div></div>
  <div class="two">
    <div><h2>Mapa dos postes</h2><div class="card"><canvas id="map" width="640" height="360"></canvas>
      <div class="legend"><span><i class="dot st-ok"></i>ok</span><span><i class="dot st-fault"></i>falha</span><span><i class="dot st-offline"></i>offline</span><span><i class="dot st-unknown"></i>sem dados</span></div></div></div>
    <div><h2>Comandos</h2><div class="card">
      <form id="override-form" class="inline">
        <label>Luminária<input id="ov-luminaire" required size="14"></label>
        <label>Nível (%)<input id="ov-level" type="number" min="0" max="100" value="50" required></label>
        <label>Duração (min)<input id="ov-minutes" type="number" min="1" max="10080" value="60" required></label>
        <button id="ov-submit" class="primary" type="submit">Sobrepor</button>
      </form>
      <div id="command-note" class="sub"></div>
      <table id="commands"><thead><tr><th>Quando</th><th>Quem</th><th>O quê</th><th>Resultado</th></tr></thead><tbody></tbody></table>
    </div></div>
  </div>
  <div id="status" class="sub"></div>
</main>
<script src="/assets/uplot.min.js"></script>
<script src="/assets/app.js"></script>
</body>
</html>
`;
