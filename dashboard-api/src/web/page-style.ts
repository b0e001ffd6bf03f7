/** The page's stylesheet, served as /assets/app.css (same origin: the CSP allows no inline style). */
export const PAGE_CSS = `
:root { --bg:#f4f6f8; --card:#fff; --ink:#1c2733; --muted:#5b6b7b; --accent:#0b6e4f; --warn:#b3261e; --amber:#b86e00; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; justify-content:space-between; padding:14px 24px; background:var(--accent); color:#fff; }
header h1 { margin:0; font-size:19px; font-weight:600; }
header button { font:inherit; padding:4px 10px; border-radius:6px; border:0; cursor:pointer; }
main { padding:16px 24px; max-width:1280px; margin:0 auto; }
h2 { font-size:14px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:22px 0 8px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(200px, 1fr)); gap:12px; }
.two { display:grid; grid-template-columns:repeat(auto-fit, minmax(520px, 1fr)); gap:16px; }
.card { background:var(--card); border-radius:10px; padding:12px 16px; box-shadow:0 1px 2px rgba(0,0,0,.08); overflow:auto; }
.label { color:var(--muted); font-size:13px; }
.value { font-size:24px; font-weight:600; margin-top:4px; font-variant-numeric:tabular-nums; }
.sub { color:var(--muted); font-size:13px; font-variant-numeric:tabular-nums; }
.good { color:var(--accent); } .off { color:var(--warn); }
table { width:100%; border-collapse:collapse; font-size:14px; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid #e3e8ee; }
th { color:var(--muted); font-weight:500; }
td.num, th.num { text-align:right; }
form.inline { display:flex; flex-wrap:wrap; gap:8px; align-items:end; }
form label { display:flex; flex-direction:column; font-size:13px; color:var(--muted); }
input, select, button { font:inherit; padding:5px 8px; border-radius:6px; border:1px solid #c5ced8; }
button.primary { background:var(--accent); color:#fff; border-color:var(--accent); cursor:pointer; }
button:disabled { opacity:.5; cursor:not-allowed; }
#login { max-width:420px; margin:80px auto; }
#map { width:100%; height:360px; display:block; }
.legend span { margin-right:14px; font-size:13px; }
.dot { display:inline-block; width:10px; height:10px; border-radius:50%; margin-right:4px; vertical-align:middle; }
.st-ok { background:#0b6e4f; } .st-fault { background:#d97706; } .st-offline { background:#b3261e; } .st-unknown { background:#9aa5b1; }
.notice { margin:8px 0; padding:8px 12px; border-radius:8px; background:#fdecea; color:var(--warn); display:none; }
.notice.show { display:block; }
#live { font-size:13px; }
.hidden { display:none !important; }
`;
