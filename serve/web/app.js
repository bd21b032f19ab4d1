"use strict";
// The fc2conv page: upload an image to POST /v1/detect once, at threshold
// 0 (every box that survives NMS), then draw the boxes at or above the
// slider's threshold. Moving the slider only re-filters; it sends nothing.
(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  // State, readable from the console (and by the browser test).
  const state = (window.fc2conv = { model: null, record: null, heatmap: null, original: null });

  function setState(s, message) {
    document.body.dataset.state = s;
    $("status").textContent = message || "";
  }

  // Detection options on the page's own URL (?scales=1&flip=false) are
  // passed on to the API; the threshold is the slider's starting value.
  const pageParams = new URLSearchParams(location.search);
  function apiQuery() {
    const q = new URLSearchParams();
    for (const k of ["class", "scales", "step", "flip"]) {
      if (pageParams.has(k)) q.set(k, pageParams.get(k));
    }
    q.set("threshold", "0");
    q.set("heatmap", "inline");
    return q.toString();
  }

  const threshold = () => Number($("threshold").value);

  async function loadModel() {
    try {
      const r = await fetch("/v1/model");
      const m = await r.json();
      if (!r.ok) throw new Error(m.error);
      state.model = m;
      const label = m.labels && m.labels[m.class] !== undefined ? m.labels[m.class] : "class " + m.class;
      $("model").textContent = `model ${m.name} (${m.sha256}) · window ${m.window.width}×${m.window.height} px · stride ${m.stride.width} · finds “${label}”`;
      const t = pageParams.has("threshold") ? Number(pageParams.get("threshold")) : m.threshold;
      $("threshold").value = String(t);
      $("thrval").textContent = threshold().toFixed(2);
      setState("idle", "");
    } catch (e) {
      setState("error", `could not read the model: ${e.message}`);
    }
  }

  async function scanFile(file) {
    if (!file) return;
    setState("busy", `scanning ${file.name}…`);
    const form = new FormData();
    form.append("image", file, file.name);
    let r, body;
    try {
      r = await fetch("/v1/detect?" + apiQuery(), { method: "POST", body: form });
      body = await r.json();
    } catch (e) {
      setState("error", `the request failed: ${e.message}`);
      return;
    }
    if (!r.ok) {
      setState("error", `${r.status}: ${body.error}`);
      return;
    }
    if (state.original) URL.revokeObjectURL(state.original);
    state.original = URL.createObjectURL(file);
    state.heatmap = body.heatmap_png;
    delete body.heatmap_png;
    state.record = body;
    showPicture();
    draw();
    setState("done", `${body.image}: ${body.width}×${body.height} px, scanned in ${(body.elapsed_ms / 1000).toFixed(2)} s`);
  }

  function showPicture() {
    const rec = state.record;
    if (!rec) return;
    $("picture").src = $("showheat").checked ? state.heatmap : state.original;
    $("boxes").setAttribute("viewBox", `0 0 ${rec.width} ${rec.height}`);
    $("stage").hidden = false;
    $("list").hidden = false;
  }

  // draw shows the boxes scoring at least the threshold, as SVG rects
  // carrying their box and score in data attributes, and as table rows.
  function draw() {
    const rec = state.record;
    const t = threshold();
    $("thrval").textContent = t.toFixed(2);
    if (!rec) return;
    const svg = $("boxes");
    const rows = $("list").querySelector("tbody");
    svg.replaceChildren();
    rows.replaceChildren();
    const shown = rec.detections.filter((d) => d.score >= t);
    const font = Math.max(10, Math.round(rec.height / 36));
    shown.forEach((d, i) => {
      const [x1, y1, x2, y2] = d.box;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", x1);
      rect.setAttribute("y", y1);
      rect.setAttribute("width", x2 - x1);
      rect.setAttribute("height", y2 - y1);
      rect.dataset.box = JSON.stringify(d.box);
      rect.dataset.score = String(d.score);
      const title = document.createElementNS(SVG, "title");
      // A verified box says which stage its score came from.
      const stages = d.verifier_p === undefined ? "" : `: scan ${d.scan_score}, verifier ${d.verifier_p}`;
      title.textContent = `score ${d.score} at scale ${d.scale}${stages}`;
      rect.append(title);
      const text = document.createElementNS(SVG, "text");
      text.setAttribute("x", x1 + 2);
      text.setAttribute("y", Math.max(font, y1 - 3));
      text.setAttribute("font-size", font);
      text.textContent = d.score.toFixed(2);
      svg.append(rect, text);
      const tr = document.createElement("tr");
      for (const v of [i + 1, d.score.toFixed(4), d.box.map((c) => c.toFixed(1)).join(", "), d.scale]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      rows.append(tr);
    });
    $("count").textContent = `${shown.length} of ${rec.detections.length} boxes`;
  }

  $("file").addEventListener("change", (e) => scanFile(e.target.files[0]));
  $("threshold").addEventListener("input", draw);
  $("showheat").addEventListener("change", showPicture);
  // A file dropped anywhere on the page is scanned; the drop zone lights
  // up while something is dragged over the page.
  const drop = $("drop");
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  for (const ev of ["dragleave", "dragend"]) {
    document.addEventListener(ev, () => drop.classList.remove("over"));
  }
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    scanFile(e.dataTransfer.files[0]);
  });
  loadModel();
})();
