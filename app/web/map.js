// evplan map page: road network, service areas, the sites of a chosen run and town coverage, and
// optionally a second run (of a sweep, or any) on a map beside it with the differences.
// What is drawn is mirrored in window.evplan and in data- attributes on <body>, so a headless
// browser test can compare the markers with the run's GeoJSON.
"use strict";
const API = "api/v1";
const STAGE_COLOURS = ["#1c7ed6", "#e8590c", "#7048e8", "#c2255c", "#0c8599", "#f08c00"];
const ROAD_STYLE = {
  motorway: { color: "#d64545", weight: 3.2, opacity: 0.9 },
  motorway_link: { color: "#d64545", weight: 1.6, opacity: 0.8 },
  trunk: { color: "#f08c00", weight: 2.2, opacity: 0.85 },
  primary: { color: "#8c9aab", weight: 1.6, opacity: 0.85 },
};
const map = L.map("map", { zoomSnap: 0.25, preferCanvas: false }).setView([22.95, 115.4], 9);
L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
// Drawing order, bottom to top, whatever order the data arrives in.
for (const [pane, z] of [["boundaries", 320], ["roads", 360], ["towns", 420], ["sites", 450], ["serviceAreas", 470]]) {
  map.createPane(pane).style.zIndex = z;
}
const layers = {
  boundaries: L.layerGroup().addTo(map),
  roads: L.layerGroup().addTo(map),
  coverage: L.layerGroup().addTo(map),
  "service-areas": L.layerGroup().addTo(map),
  sites: L.layerGroup().addTo(map),
};
const statusEl = document.getElementById("status");
window.evplan = { ready: false, runId: null, siteMarkers: 0, siteIds: [], serviceAreaMarkers: 0, townMarkers: 0, error: null,
  sweepId: null, compareRunId: null, compareSiteMarkers: 0, compareSiteIds: [], diff: null };
// The compared run (B) is drawn on a second map beside the first, created when first needed.
let mapB = null;
const layersB = { roads: null, coverage: null, sites: null };
let roadData = null;
let runsById = {};
let sweepRuns = null;  // run id -> label of its point, while a sweep is chosen

function publishState() {
  const s = window.evplan;
  const b = document.body.dataset;
  b.evplanReady = String(s.ready);
  b.evplanRun = s.runId || "";
  b.evplanSiteMarkers = String(s.siteMarkers);
  b.evplanSiteIds = JSON.stringify(s.siteIds);
  b.evplanServiceAreaMarkers = String(s.serviceAreaMarkers);
  b.evplanTownMarkers = String(s.townMarkers);
  b.evplanSweep = s.sweepId || "";
  b.evplanCompare = s.compareRunId || "";
  b.evplanCompareSiteMarkers = String(s.compareSiteMarkers);
  b.evplanCompareSiteIds = JSON.stringify(s.compareSiteIds);
  b.evplanDiff = s.diff ? JSON.stringify(s.diff) : "";
  if (s.error) b.evplanError = s.error;
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  if (!r.ok) {
    let detail = "";
    try { detail = (await r.json()).detail || ""; } catch (e) { /* not JSON */ }
    throw new Error(`${url}: HTTP ${r.status} ${detail}`.trim());
  }
  return r.json();
}

function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function popup(title, rows) {
  const body = rows.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join("");
  return `<div class="popup-title">${escapeHtml(title)}</div><table class="popup-table">${body}</table>`;
}

const fmt = (x, digits = 0) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));

const COUNTY_FILLS = ["#e6f4ea", "#e7f0fb", "#fdf1e4", "#f3eafb", "#fbe9ee", "#eef6f6"];

async function loadBoundaries() {
  const r = await fetch(`${API}/network/boundaries`, { headers: { Accept: "application/json" } });
  if (!r.ok) return null;  // optional layer: the service may have no boundaries file
  const fc = await r.json();
  let i = 0;
  const layer = L.geoJSON(fc, {
    pane: "boundaries",
    interactive: false,
    style: (f) => (f.properties.level === "county"
      ? { color: "#9fb3c8", weight: 1, dashArray: "4 3", fillColor: COUNTY_FILLS[i++ % COUNTY_FILLS.length], fillOpacity: 0.75 }
      : { color: "#486581", weight: 2, fill: false }),
    onEachFeature: (f, l) => {
      if (f.properties.level === "county") {
        l.bindTooltip(`${escapeHtml(f.properties.name)}<br><span class="muted">${escapeHtml(f.properties.name_en || "")}</span>`,
          { permanent: true, direction: "center", className: "county-label" });
      }
    },
  });
  layer.addTo(layers.boundaries);
  return layer.getBounds();
}

async function loadNetwork() {
  const roads = await getJSON(`${API}/network/roads?class=motorway,motorway_link,trunk,primary`);
  roadData = roads;
  const roadLayer = L.geoJSON(roads, { pane: "roads", style: (f) => ROAD_STYLE[f.properties.highway] || ROAD_STYLE.primary, interactive: false });
  roadLayer.addTo(layers.roads);
  const areaBounds = await loadBoundaries();
  const bounds = areaBounds && areaBounds.isValid() ? areaBounds : roadLayer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });

  const sas = await getJSON(`${API}/network/service-areas`);
  L.geoJSON(sas, {
    filter: (f) => f.properties.snapped !== false,
    pointToLayer: (f, ll) => {
      window.evplan.serviceAreaMarkers += 1;
      return L.circleMarker(ll, { pane: "serviceAreas", radius: 4, color: "#102a43", weight: 2, fillColor: "#fff", fillOpacity: 1, className: "service-area-marker" });
    },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindPopup(popup(`${p.name_zh || p.name} service area`, [["name", p.name], ["side", p.side], ["status", p.status],
        ["location", p.location_approximate ? "approximate" : "surveyed"]]));
    },
  }).addTo(layers["service-areas"]);
}

function runLabel(r) {
  if (sweepRuns && sweepRuns[r.id]) return sweepRuns[r.id];
  const stages = (r.scenario.stage_years || []).join("/");
  const budget = r.scenario.budget_cny ? ` · budget ${fmt(r.scenario.budget_cny / 1e6)} M` : "";
  return `${(r.finished_at || r.created_at).slice(0, 16).replace("T", " ")} · ${stages} · ${r.scenario.range_margin_km} km · ${r.scenario.drive_time_min} min${budget}`;
}

function fillRunSelect(select, runs, wanted, empty) {
  select.innerHTML = "";
  if (empty !== null) {
    const none = document.createElement("option");
    none.value = "";
    none.textContent = empty;
    select.appendChild(none);
  }
  for (const r of runs) {
    const opt = document.createElement("option");
    opt.value = r.id;
    opt.textContent = runLabel(r);
    select.appendChild(opt);
  }
  if (!runs.length && empty === null) select.innerHTML = '<option value="">No finished run</option>';
  if (wanted && runs.some((r) => r.id === wanted)) select.value = wanted;
}

async function loadSweeps() {
  const select = document.getElementById("sweep");
  let sweeps = [];
  try { sweeps = (await getJSON(`${API}/siting/sweeps`)).filter((s) => s.status === "succeeded"); } catch (e) { return; }
  for (const s of sweeps) {
    const opt = document.createElement("option");
    opt.value = s.id;
    const axes = Object.entries(s.grid).filter(([, v]) => v.length > 1).map(([k]) => k).join(" × ");
    opt.textContent = `${(s.finished_at || s.created_at).slice(0, 16).replace("T", " ")} · ${s.points} points · ${axes || "one point"}`;
    select.appendChild(opt);
  }
  const wanted = new URLSearchParams(location.search).get("sweep");
  if (wanted && sweeps.some((s) => s.id === wanted)) select.value = wanted;
}

async function chooseSweep(sweepId) {
  window.evplan.sweepId = sweepId || null;
  sweepRuns = null;
  if (!sweepId) return;
  const sweep = await getJSON(`${API}/siting/sweeps/${sweepId}`);
  const axes = (sweep.table && sweep.table.axes) || [];
  sweepRuns = {};
  for (const row of (sweep.table ? sweep.table.rows : [])) {
    if (!row.run_id) continue;
    const values = axes.map((a) => `${a} ${row.scenario[a] === null ? "none" : row.scenario[a]}`).join(" · ");
    sweepRuns[row.run_id] = `${values || row.key}${row.optimal ? "" : " (not proven optimal)"}`;
  }
}

async function loadRuns() {
  const all = (await getJSON(`${API}/siting/runs?limit=1000`)).filter((r) => r.status === "succeeded");
  runsById = Object.fromEntries(all.map((r) => [r.id, r]));
  const runs = sweepRuns ? all.filter((r) => sweepRuns[r.id]) : all;
  const params = new URLSearchParams(location.search);
  const select = document.getElementById("run");
  fillRunSelect(select, runs, select.value || params.get("run"), null);
  const compare = document.getElementById("compare");
  fillRunSelect(compare, runs, compare.value || params.get("compare"), "No comparison");
  return runs.find((r) => r.id === select.value) || null;
}

function showSummary(run, summary) {
  const years = Object.keys(summary.stages || {}).sort();
  const last = summary.stages[years[years.length - 1]];
  document.getElementById("summary").hidden = !last;
  if (!last) return;
  document.getElementById("kpi-sites").textContent = fmt(last.sites);
  document.getElementById("kpi-chargers").textContent = fmt(last.chargers);
  document.getElementById("kpi-power").textContent = fmt(last.power_kw / 1000, 1);
  document.getElementById("kpi-cost").textContent = fmt(last.cost_cny / 1e6, 1);
  document.getElementById("kpi-towns").textContent =
    `${fmt(last.towns_covered)} of ${fmt(last.towns)} towns within ${run.scenario.drive_time_min} min of a public charger (${years[years.length - 1]}); ` +
    `solver: ${summary.solver ? summary.solver.status : "–"}.`;
  document.getElementById("run-meta").textContent = `Run ${run.id.slice(0, 8)} · stages ${years.join(", ")}`;
}

async function showRun(run) {
  layers.sites.clearLayers();
  layers.coverage.clearLayers();
  Object.assign(window.evplan, { runId: run ? run.id : null, siteMarkers: 0, siteIds: [], townMarkers: 0 });
  document.getElementById("legend-stages").innerHTML = "";
  if (!run) return;
  const base = `${API}/siting/runs/${run.id}`;
  const [sites, coverage, summary] = await Promise.all([getJSON(`${base}/sites`), getJSON(`${base}/coverage`), getJSON(`${base}/summary`)]);
  const stages = [...new Set(sites.features.map((f) => f.properties.stage))].sort((a, b) => a - b);
  const colour = (stage) => STAGE_COLOURS[stages.indexOf(stage) % STAGE_COLOURS.length];

  L.geoJSON(coverage, {
    pointToLayer: (f, ll) => {
      window.evplan.townMarkers += 1;
      const covered = f.properties.covered;
      return L.circleMarker(ll, { pane: "towns", radius: 4, weight: 1, color: "#fff", fillColor: covered ? "#2f9e44" : "#e03131", fillOpacity: 0.95, className: "town-marker" });
    },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindPopup(popup(p.name, [["population", fmt(p.population)], ["covered", p.covered ? "yes" : "no"],
        ["nearest charger", p.minutes_to_nearest === null ? "none reachable" : `${fmt(p.minutes_to_nearest, 1)} min`],
        ["threshold", `${p.drive_time_threshold_min} min`]]));
    },
  }).addTo(layers.coverage);

  L.geoJSON(sites, {
    pointToLayer: (f, ll) => {
      const c = colour(f.properties.stage);
      const radius = 4 + 1.5 * Math.sqrt(Math.max(0, f.properties.chargers || 0));
      window.evplan.siteMarkers += 1;
      window.evplan.siteIds.push(f.properties.site_id);
      return L.circleMarker(ll, { pane: "sites", radius, weight: 1.5, color: "#fff", fillColor: c, fillOpacity: 0.85, className: "site-marker site-a" });
    },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindPopup(popup(p.name || p.site_id, [["kind", p.kind.replace("_", " ")], ["side", p.side], ["opens", p.stage],
        ["chargers", `${p.chargers} (${fmt(p.power_kw)} kW)`], ["cost", `${fmt(p.cost_cny / 1e6, 2)} M CNY`],
        ["peak arrivals", `${fmt(p.peak_arrivals_per_hour, 1)} per hour`], ["depot vehicles", p.depot_vehicles],
        ["location", p.location_approximate ? "approximate" : null]]));
      layer.on("add", () => {
        const el = layer.getElement();
        if (el) { el.setAttribute("data-site-id", p.site_id); el.setAttribute("data-stage", p.stage); el.setAttribute("data-side", "a"); }
      });
    },
  }).addTo(layers.sites);

  document.getElementById("legend-stages").innerHTML = stages
    .map((s) => `<div><span class="swatch dot" style="background:${colour(s)}"></span>Site opened by ${s}</div>`).join("");
  showSummary(run, summary);
  return { run, sites, coverage, summary };
}

function ensureMapB() {
  const el = document.getElementById("map-b");
  el.hidden = false;
  document.body.classList.add("comparing");
  map.invalidateSize();
  if (mapB) { mapB.invalidateSize(); return; }
  mapB = L.map("map-b", { zoomSnap: 0.25, zoomControl: false }).setView(map.getCenter(), map.getZoom());
  for (const [pane, z] of [["roads", 360], ["towns", 420], ["sites", 450]]) mapB.createPane(pane).style.zIndex = z;
  layersB.roads = L.layerGroup().addTo(mapB);
  layersB.coverage = L.layerGroup().addTo(mapB);
  layersB.sites = L.layerGroup().addTo(mapB);
  if (roadData) {
    L.geoJSON(roadData, { pane: "roads", style: (f) => ROAD_STYLE[f.properties.highway] || ROAD_STYLE.primary, interactive: false }).addTo(layersB.roads);
  }
  let syncing = false;
  const follow = (from, to) => from.on("move", () => {
    if (syncing) return;
    syncing = true;
    to.setView(from.getCenter(), from.getZoom(), { animate: false });
    syncing = false;
  });
  follow(map, mapB);
  follow(mapB, map);
  for (const [m, tag] of [[map, "A"], [mapB, "B"]]) {
    const c = L.control({ position: "topright" });
    c.onAdd = () => { const d = L.DomUtil.create("div", "map-tag"); d.textContent = `Run ${tag}`; return d; };
    c.addTo(m);
  }
}

function hideMapB() {
  document.getElementById("map-b").hidden = true;
  document.body.classList.remove("comparing");
  map.invalidateSize();
  if (layersB.sites) { layersB.sites.clearLayers(); layersB.coverage.clearLayers(); }
}

function finalStage(summary) {
  const years = Object.keys(summary.stages || {}).sort();
  return [years, summary.stages[years[years.length - 1]] || {}];
}

function showDiff(a, b) {
  const [yearsA, lastA] = finalStage(a.summary);
  const [yearsB, lastB] = finalStage(b.summary);
  const years = [...new Set([...yearsA, ...yearsB])].sort();
  const idsA = new Set(a.sites.features.map((f) => f.properties.site_id));
  const idsB = new Set(b.sites.features.map((f) => f.properties.site_id));
  const diff = {
    capex_cny_by_stage: Object.fromEntries(years.map((y) => {
      const va = (a.summary.stages[y] || {}).cost_cny ?? null;
      const vb = (b.summary.stages[y] || {}).cost_cny ?? null;
      return [y, { a: va, b: vb, delta: va === null || vb === null ? null : vb - va }];
    })),
  };
  for (const [key, field] of [["chargers", "chargers"], ["sites", "sites"], ["towns_covered", "towns_covered"],
    ["people_covered", "population_covered"], ["power_kw", "power_kw"]]) {
    const va = lastA[field] ?? null;
    const vb = lastB[field] ?? null;
    diff[key] = { a: va, b: vb, delta: va === null || vb === null ? null : vb - va };
  }
  diff.sites_only_a = [...idsA].filter((i) => !idsB.has(i)).sort();
  diff.sites_only_b = [...idsB].filter((i) => !idsA.has(i)).sort();
  diff.sites_in_both = [...idsA].filter((i) => idsB.has(i)).length;
  window.evplan.diff = diff;

  const cell = (v, digits = 0, scale = 1) => (v === null ? "–" : fmt(v / scale, digits));
  const deltaCell = (d, digits = 0, scale = 1, moreIsBetter = false) => {
    if (d === null) return "<td>–</td>";
    const cls = d === 0 ? "" : ((d > 0) !== moreIsBetter ? "up" : "down");
    return `<td class="${cls}" data-delta="${d}">${d > 0 ? "+" : ""}${fmt(d / scale, digits)}</td>`;
  };
  const rows = [];
  for (const y of years) {
    const c = diff.capex_cny_by_stage[y];
    rows.push(`<tr data-row="capex-${y}"><td>capex ${y}, M CNY</td><td>${cell(c.a, 2, 1e6)}</td><td>${cell(c.b, 2, 1e6)}</td>${deltaCell(c.delta, 2, 1e6)}</tr>`);
  }
  for (const [key, label, better] of [["chargers", "chargers", false], ["sites", "sites", false],
    ["towns_covered", "towns covered", true], ["people_covered", "people covered", true]]) {
    const d = diff[key];
    rows.push(`<tr data-row="${key}"><td>${label}</td><td>${cell(d.a)}</td><td>${cell(d.b)}</td>${deltaCell(d.delta, 0, 1, better)}</tr>`);
  }
  document.getElementById("diff-table").innerHTML = `<thead><tr><th></th><th>A</th><th>B</th><th>B − A</th></tr></thead><tbody>${rows.join("")}</tbody>`;
  document.getElementById("diff-sites").textContent =
    `${diff.sites_in_both} sites in both; ${diff.sites_only_a.length} only in A, ${diff.sites_only_b.length} only in B (outlined).`;
  document.getElementById("diff").hidden = false;
  for (const [side, only] of [["a", new Set(diff.sites_only_a)], ["b", new Set(diff.sites_only_b)]]) {
    document.querySelectorAll(`.site-marker[data-side="${side}"]`).forEach((el) => {
      if (only.has(el.getAttribute("data-site-id"))) el.classList.add("only-here");
    });
  }
}

async function showCompare(runB, shownA) {
  Object.assign(window.evplan, { compareRunId: runB ? runB.id : null, compareSiteMarkers: 0, compareSiteIds: [], diff: null });
  document.getElementById("diff").hidden = true;
  if (!runB || !shownA) { hideMapB(); return; }
  ensureMapB();
  layersB.sites.clearLayers();
  layersB.coverage.clearLayers();
  const base = `${API}/siting/runs/${runB.id}`;
  const [sites, coverage, summary] = await Promise.all([getJSON(`${base}/sites`), getJSON(`${base}/coverage`), getJSON(`${base}/summary`)]);
  const stages = [...new Set([...shownA.sites.features, ...sites.features].map((f) => f.properties.stage))].sort((x, y) => x - y);
  const stagesA = [...new Set(shownA.sites.features.map((f) => f.properties.stage))].sort((x, y) => x - y);
  const colour = (stage) => STAGE_COLOURS[(stagesA.includes(stage) ? stagesA.indexOf(stage) : stages.indexOf(stage)) % STAGE_COLOURS.length];
  L.geoJSON(coverage, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { pane: "towns", radius: 4, weight: 1, color: "#fff", fillColor: f.properties.covered ? "#2f9e44" : "#e03131", fillOpacity: 0.95, className: "town-marker-b" }),
    onEachFeature: (f, layer) => layer.bindPopup(popup(f.properties.name, [["covered", f.properties.covered ? "yes" : "no"]])),
  }).addTo(layersB.coverage);
  L.geoJSON(sites, {
    pointToLayer: (f, ll) => {
      const radius = 4 + 1.5 * Math.sqrt(Math.max(0, f.properties.chargers || 0));
      window.evplan.compareSiteMarkers += 1;
      window.evplan.compareSiteIds.push(f.properties.site_id);
      return L.circleMarker(ll, { pane: "sites", radius, weight: 1.5, color: "#fff", fillColor: colour(f.properties.stage), fillOpacity: 0.85, className: "site-marker site-b" });
    },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindPopup(popup(p.name || p.site_id, [["kind", p.kind.replace("_", " ")], ["opens", p.stage],
        ["chargers", `${p.chargers} (${fmt(p.power_kw)} kW)`], ["cost", `${fmt(p.cost_cny / 1e6, 2)} M CNY`]]));
      layer.on("add", () => {
        const el = layer.getElement();
        if (el) { el.setAttribute("data-site-id", p.site_id); el.setAttribute("data-stage", p.stage); el.setAttribute("data-side", "b"); }
      });
    },
  }).addTo(layersB.sites);
  mapB.setView(map.getCenter(), map.getZoom(), { animate: false });
  showDiff(shownA, { run: runB, sites, coverage, summary });
}

for (const name of Object.keys(layers)) {
  document.getElementById(`layer-${name}`).addEventListener("change", (e) => {
    if (e.target.checked) layers[name].addTo(map); else map.removeLayer(layers[name]);
  });
}
async function refresh() {
  const select = document.getElementById("run");
  const compare = document.getElementById("compare");
  const shown = await showRun(runsById[select.value] || null);
  const other = compare.value && compare.value !== select.value ? runsById[compare.value] : null;
  await showCompare(other || null, shown || null);
  publishState();
}

document.getElementById("run").addEventListener("change", refresh);
document.getElementById("compare").addEventListener("change", refresh);
document.getElementById("sweep").addEventListener("change", async (e) => {
  await chooseSweep(e.target.value);
  await loadRuns();
  await refresh();
});

(async () => {
  try {
    await loadNetwork();
    await loadSweeps();
    await chooseSweep(document.getElementById("sweep").value);
    const run = await loadRuns();
    const shown = await showRun(run);
    const compare = document.getElementById("compare").value;
    await showCompare(compare && run && compare !== run.id ? runsById[compare] : null, shown || null);
    statusEl.textContent = run
      ? `Showing ${window.evplan.siteMarkers} sites and ${window.evplan.townMarkers} towns` +
        (window.evplan.compareRunId ? `, beside ${window.evplan.compareSiteMarkers} sites of the compared run.` : ".")
      : "No finished run yet: submit one with POST /api/v1/siting/runs.";
  } catch (err) {
    window.evplan.error = err.message;
    statusEl.textContent = `Error: ${err.message}`;
    statusEl.classList.add("error");
  } finally {
    window.evplan.ready = true;
    publishState();
  }
})();
