// evplan map page: road network, service areas, the sites of a chosen run and town coverage.
"use strict";
const API = "api/v1";
const STAGE_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"];
const map = L.map("map", { preferCanvas: false }).setView([22.95, 115.4], 9);
const layers = {
  roads: L.layerGroup().addTo(map),
  "service-areas": L.layerGroup().addTo(map),
  sites: L.layerGroup().addTo(map),
  coverage: L.layerGroup().addTo(map),
};
const statusEl = document.getElementById("status");
window.evplan = { siteMarkers: 0, siteIds: [], ready: false };

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

async function loadNetwork() {
  const roads = await getJSON(`${API}/network/roads?class=motorway,trunk,primary`);
  L.geoJSON(roads, {
    style: (f) => ({ color: f.properties.highway === "motorway" ? "#c0392b" : "#7f8c8d", weight: f.properties.highway === "motorway" ? 3 : 1.5 }),
  }).addTo(layers.roads);
  const sas = await getJSON(`${API}/network/service-areas`);
  L.geoJSON(sas, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 5, color: "#2c3e50", fillOpacity: 0.2, className: "service-area" }),
    onEachFeature: (f, layer) => layer.bindPopup(`<b>${escapeHtml(f.properties.name)}</b><br>side: ${escapeHtml(f.properties.side)}<br>status: ${escapeHtml(f.properties.status)}`),
  }).addTo(layers["service-areas"]);
}

async function loadRuns() {
  const runs = (await getJSON(`${API}/siting/runs`)).filter((r) => r.status === "succeeded");
  const select = document.getElementById("run");
  if (runs.length) select.innerHTML = "";
  for (const r of runs) {
    const opt = document.createElement("option");
    opt.value = r.id;
    opt.textContent = `${r.created_at} · ${r.scenario.range_margin_km} km · ${r.scenario.drive_time_min} min`;
    select.appendChild(opt);
  }
  const wanted = new URLSearchParams(location.search).get("run");
  if (wanted && runs.some((r) => r.id === wanted)) select.value = wanted;
  return select.value;
}

async function showRun(runId) {
  layers.sites.clearLayers();
  layers.coverage.clearLayers();
  window.evplan.siteMarkers = 0;
  window.evplan.siteIds = [];
  if (!runId) return;
  const [sites, coverage] = await Promise.all([getJSON(`${API}/siting/runs/${runId}/sites`), getJSON(`${API}/siting/runs/${runId}/coverage`)]);
  const stages = [...new Set(sites.features.map((f) => f.properties.stage))].sort();
  L.geoJSON(sites, {
    pointToLayer: (f, ll) => {
      const colour = STAGE_COLOURS[stages.indexOf(f.properties.stage) % STAGE_COLOURS.length];
      const radius = 4 + 2 * Math.sqrt(f.properties.chargers);
      window.evplan.siteMarkers += 1;
      window.evplan.siteIds.push(f.properties.site_id);
      return L.circleMarker(ll, { radius, color: colour, fillColor: colour, fillOpacity: 0.7, className: "site-marker" });
    },
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindPopup(`<b>${escapeHtml(p.name)}</b><br>kind: ${escapeHtml(p.kind)}<br>stage: ${p.stage}<br>chargers: ${p.chargers} (${p.power_kw} kW)<br>cost: ${(p.cost_cny / 1e6).toFixed(2)} M CNY`);
    },
  }).addTo(layers.sites);
  L.geoJSON(coverage, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 3, color: f.properties.covered ? "#27ae60" : "#e74c3c", fillOpacity: 1, className: "town-marker" }),
    onEachFeature: (f, layer) => layer.bindPopup(`${escapeHtml(f.properties.name)}: ${f.properties.minutes_to_nearest ?? "—"} min`),
  }).addTo(layers.coverage);
  document.getElementById("legend").innerHTML = stages.map((s, i) => `<div><span style="background:${STAGE_COLOURS[i % STAGE_COLOURS.length]}"></span>opened ${s}</div>`).join("");
}

for (const name of Object.keys(layers)) {
  document.getElementById(`layer-${name}`).addEventListener("change", (e) => {
    if (e.target.checked) layers[name].addTo(map); else map.removeLayer(layers[name]);
  });
}
document.getElementById("run").addEventListener("change", (e) => showRun(e.target.value));

(async () => {
  try {
    await loadNetwork();
    const runId = await loadRuns();
    await showRun(runId);
    statusEl.textContent = runId ? `run ${runId}: ${window.evplan.siteMarkers} sites` : "no finished run yet: submit one with POST /api/v1/siting/runs";
  } catch (err) {
    statusEl.textContent = `error: ${err.message}`;
  } finally {
    window.evplan.ready = true;
  }
})();
