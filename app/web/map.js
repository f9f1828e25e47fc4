// evplan map page: road network, service areas, the sites of a chosen run and town coverage.
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
window.evplan = { ready: false, runId: null, siteMarkers: 0, siteIds: [], serviceAreaMarkers: 0, townMarkers: 0, error: null };

function publishState() {
  const s = window.evplan;
  const b = document.body.dataset;
  b.evplanReady = String(s.ready);
  b.evplanRun = s.runId || "";
  b.evplanSiteMarkers = String(s.siteMarkers);
  b.evplanSiteIds = JSON.stringify(s.siteIds);
  b.evplanServiceAreaMarkers = String(s.serviceAreaMarkers);
  b.evplanTownMarkers = String(s.townMarkers);
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

async function loadRuns() {
  const runs = (await getJSON(`${API}/siting/runs`)).filter((r) => r.status === "succeeded");
  const select = document.getElementById("run");
  if (runs.length) select.innerHTML = "";
  for (const r of runs) {
    const opt = document.createElement("option");
    opt.value = r.id;
    const stages = (r.scenario.stage_years || []).join("/");
    opt.textContent = `${(r.finished_at || r.created_at).slice(0, 16).replace("T", " ")} · ${stages} · ${r.scenario.range_margin_km} km · ${r.scenario.drive_time_min} min`;
    select.appendChild(opt);
  }
  const wanted = new URLSearchParams(location.search).get("run");
  if (wanted && runs.some((r) => r.id === wanted)) select.value = wanted;
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
      return L.circleMarker(ll, { pane: "sites", radius, weight: 1.5, color: "#fff", fillColor: c, fillOpacity: 0.85, className: "site-marker" });
    },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindPopup(popup(p.name || p.site_id, [["kind", p.kind.replace("_", " ")], ["side", p.side], ["opens", p.stage],
        ["chargers", `${p.chargers} (${fmt(p.power_kw)} kW)`], ["cost", `${fmt(p.cost_cny / 1e6, 2)} M CNY`],
        ["peak arrivals", `${fmt(p.peak_arrivals_per_hour, 1)} per hour`], ["depot vehicles", p.depot_vehicles],
        ["location", p.location_approximate ? "approximate" : null]]));
      layer.on("add", () => {
        const el = layer.getElement();
        if (el) { el.setAttribute("data-site-id", p.site_id); el.setAttribute("data-stage", p.stage); }
      });
    },
  }).addTo(layers.sites);

  document.getElementById("legend-stages").innerHTML = stages
    .map((s) => `<div><span class="swatch dot" style="background:${colour(s)}"></span>Site opened by ${s}</div>`).join("");
  showSummary(run, summary);
}

for (const name of Object.keys(layers)) {
  document.getElementById(`layer-${name}`).addEventListener("change", (e) => {
    if (e.target.checked) layers[name].addTo(map); else map.removeLayer(layers[name]);
  });
}
document.getElementById("run").addEventListener("change", async (e) => {
  const runs = await getJSON(`${API}/siting/runs`);
  await showRun(runs.find((r) => r.id === e.target.value) || null);
  publishState();
});

(async () => {
  try {
    await loadNetwork();
    const run = await loadRuns();
    await showRun(run);
    statusEl.textContent = run
      ? `Showing ${window.evplan.siteMarkers} sites and ${window.evplan.townMarkers} towns.`
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
