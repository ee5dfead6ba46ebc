// The live view: keeps the pool's timelines from the server's event stream
// (/epilogue/view/events) and draws them, every container on one time axis
// ending now. No library: the page must work offline, from the binary.
"use strict";

const WINDOW_MS = 120000; // the longest span the axis shows
const containers = new Map(); // name → the container's latest timeline
let seq = 0; // the last change applied

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const ms = (t) => (t ? Date.parse(t) : 0);
const dur = (a, b) => {
  const d = b - a;
  return d < 1000 ? `${d} ms` : `${(d / 1000).toFixed(1)} s`;
};

function connect() {
  const source = new EventSource("/epilogue/view/events");
  source.addEventListener("open", () => setConnection("live"));
  source.addEventListener("error", () => setConnection("reconnecting")); // EventSource retries by itself
  source.addEventListener("timeline", (e) => {
    const hello = JSON.parse(e.data);
    $("semantics").textContent = hello.semantics || "?";
    containers.clear();
    for (const c of hello.timeline.containers) containers.set(c.name, c);
    seq = hello.timeline.seq;
    render();
  });
  source.addEventListener("change", (e) => {
    const change = JSON.parse(e.data);
    if (change.seq <= seq) return; // already in the timeline
    seq = change.seq;
    containers.set(change.container.name, change.container);
    render();
  });
}

function setConnection(state) {
  const c = $("connection");
  c.dataset.connection = state;
  c.textContent = state;
}

// steps describes an activation in words: response ▸ lingering ▸ done ▸ paused.
function steps(a) {
  const parts = [];
  const started = ms(a.started), responded = ms(a.responded), finished = ms(a.finished);
  if (!responded) return `running for ${dur(started, Date.now())}`;
  parts.push(`response ${dur(started, responded)}`);
  if (a.outcome === "lingering") parts.push(`lingering ${dur(responded, Date.now())}…`);
  else if (finished > responded) parts.push(`lingering ${dur(responded, finished)}`);
  parts.push(a.outcome);
  if (a.reclaim) parts.push(a.forced ? `${a.reclaim} (forced)` : a.reclaim);
  return parts.join(" ▸ ");
}

function render() {
  const now = Date.now();
  const list = [...containers.values()].sort((a, b) => a.name.localeCompare(b.name));
  let from = now;
  for (const c of list) for (const a of c.activations) from = Math.min(from, ms(a.started));
  from = Math.max(from, now - WINDOW_MS);
  const span = Math.max(now - from, 1000);
  const x = (t) => `${Math.min(100, Math.max(0, ((t - from) / span) * 100))}%`;
  const width = (a, b) => `${Math.max(0, ((Math.min(b, now) - Math.max(a, from)) / span) * 100)}%`;

  const main = $("containers");
  main.replaceChildren();
  if (list.length === 0) main.append(el("p", "empty", "No container yet: invoke an action."));
  const counts = { live: 0, lingering: 0, forced: 0 };
  for (const c of list) {
    if (c.state !== "removed") counts.live++;
    counts.forced += c.forcedReclaims || 0;
    const box = el("section", "container" + (c.forcedReclaims ? " forced" : ""));
    box.dataset.container = c.name;
    box.dataset.state = c.state;
    const h = el("h2", "", c.name);
    h.append(el("span", "action", c.action || "stem cell"));
    const st = el("span", "state", c.state);
    st.dataset.state = c.state;
    h.append(st);
    if (c.forcedReclaims) h.append(el("span", "badge-forced", `forced reclaim ×${c.forcedReclaims}`));
    box.append(h);
    for (const a of c.activations) {
      if (a.outcome === "lingering") counts.lingering++;
      const failed = a.outcome === "failed" || a.outcome === "expired" || a.outcome === "error";
      const row = el("div", "act" + (a.forced ? " forced" : "") + (failed ? " failed" : ""));
      row.dataset.activation = a.id;
      row.dataset.outcome = a.outcome;
      if (a.reclaim) row.dataset.reclaim = a.reclaim;
      const label = el("div", "label");
      label.append(el("span", "", a.id.slice(0, 12) + " "), el("span", "outcome", a.outcome));
      label.title = `${a.id} (${a.action})`;
      const track = el("div", "track");
      const started = ms(a.started), responded = ms(a.responded), finished = ms(a.finished);
      const seg = (cls, s, e) => {
        const d = el("div", "seg " + cls);
        d.style.left = x(s);
        d.style.width = width(s, e);
        track.append(d);
      };
      const mark = (cls, t, title) => {
        const d = el("div", "mark " + cls);
        d.style.left = x(t);
        d.title = title;
        track.append(d);
      };
      seg("response", started, responded || now);
      if (responded && a.outcome !== "answered" && a.outcome !== "error") {
        seg("lingering", responded, finished || now);
      }
      if (finished && a.outcome !== "lingering") mark(failed ? "failed" : "done", finished, a.outcome);
      if (a.reclaim) mark(a.reclaim, ms(a.reclaimedAt), a.reclaim + (a.forced ? " (forced)" : ""));
      row.append(label, track, el("div", "steps", steps(a)));
      if (a.errors && a.errors.length) {
        const ul = el("ul", "errors");
        for (const e of a.errors) ul.append(el("li", "", e));
        row.append(ul);
      }
      box.append(row);
    }
    main.append(box);
  }
  $("counts").textContent = `${counts.live} containers, ${counts.lingering} lingering, ${counts.forced} forced reclaims`;
}

connect();
setInterval(render, 500); // lingering bars grow with the clock
