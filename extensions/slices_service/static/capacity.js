// The capacity page: every GPU as its 8 memory slots, who holds what, free capacity,
// fragmentation, servers without a GPU and per-team usage; refreshed every few seconds.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("capacity-config").textContent);
  const REFRESH_MS = 3000;
  const COLOURS = ["#3b6fd4", "#1b8a5a", "#b5532a", "#7a4cc2", "#a8326e", "#2a8a99", "#8a7a1b", "#555f6e"];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-") || k === "title" || k === "style") node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers["X-XSRFToken"] = config.xsrf;
    const resp = await fetch(config.prefix + path, opts);
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const err = new Error(data.message || resp.statusText);
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  const since = (t) => (t ? new Date(t * 1000).toLocaleString() : "");
  const colour = (id) => COLOURS[id % COLOURS.length];
  const serverLabel = (h) => h.user + (h.server_name ? "/" + h.server_name : "");

  async function stop(h, button) {
    if (!confirm(`Stop ${serverLabel(h)}'s server (${h.slice})?`)) return;
    button.disabled = true;
    button.textContent = "stopping ...";
    try {
      await api("api/servers/stop", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: h.user, server_name: h.server_name }),
      });
      await refresh();
    } catch (e) {
      button.textContent = "failed: " + e.message;
    }
  }

  function allocationsTable(list) {
    const table = el("table", { class: "allocations" },
      el("tr", {}, ...["slice", "slots", "user", "server", "team", "image", "since", ""].map((h) => el("th", {}, h))));
    for (const h of list) {
      const button = el("button", { class: "stop", "data-user": h.user, "data-server": h.server_name }, "stop");
      button.addEventListener("click", () => stop(h, button));
      table.append(el("tr", { "data-allocation": h.id },
        el("td", {}, h.slice), el("td", {}, h.start === null ? "" : "from " + h.start),
        el("td", {}, h.user), el("td", {}, h.server_name || "(default)"), el("td", {}, h.team || ""),
        el("td", {}, h.image), el("td", {}, since(h.since)), el("td", {}, button)));
    }
    return table;
  }

  function fragmentation(gpuFrag) {
    if (!gpuFrag || !gpuFrag.blocked.length) return el("p", { class: "muted" }, "Nothing blocked.");
    const list = el("ul", { class: "blocked" });
    for (const b of gpuFrag.blocked) {
      const why = b.fragmented ? "fragmented (enough free memory, no aligned place)"
        : b.compute_short ? `needs more compute than is free (${gpuFrag.compute_free} of 7 slices)`
        : `not enough free memory (${gpuFrag.free_slots} of 8 slots)`;
      const starts = b.starts.map((s) => `at slot ${s.start}: ` +
        (s.blocked_by.length ? s.blocked_by.map((r) => `${serverLabel(r)} (${r.slice})`).join(", ") : "free")).join("; ");
      const fix = b.release_to_fit.length ? " Releasing " + b.release_to_fit.map(serverLabel).join(" and ") + " would make room." : "";
      list.append(el("li", { "data-profile": b.profile }, el("strong", {}, b.profile), ` blocked: ${why}. ${starts}.${fix}`));
    }
    return list;
  }

  function gpuCard(gpu, gpuFrag) {
    const slots = el("div", { class: "slots", "data-gpu": gpu.index });
    for (const s of gpu.slots) {
      const h = s.holder;
      const box = el("div", {
        class: "slot" + (h ? " held" : "") + (h && h.state === "quarantined" ? " quarantined" : ""),
        "data-slot": s.slot,
        "data-holder": h ? h.user : "",
        "data-slice": h ? h.slice : "",
        title: !h ? "free" : h.state === "quarantined" ? `quarantined: ${h.reason || ""}`
          : `${serverLabel(h)} · ${h.slice} · team ${h.team || "-"} · ${h.image} · since ${since(h.since)}`,
      }, el("span", { class: "n" }, s.slot + " "));
      if (h) {
        box.style.background = colour(h.id);
        box.append(el("div", {}, h.user), el("div", {}, h.state === "quarantined" ? "quarantined" : h.slice));
      }
      slots.append(box);
    }
    const free = Object.entries(gpu.free).map(([k, v]) => `${k}: ${v}`).join(", ");
    return el("div", { class: "gpu" },
      el("h3", { "data-family": gpu.family || "" },
        `GPU ${gpu.index} · ${gpu.node} · ${gpu.family || gpu.model} · ${gpu.mode}`),
      el("p", { class: "muted model" }, gpu.model +
        (gpu.mig_profiles && gpu.mig_profiles.length
          ? " · MIG profiles: " + gpu.mig_profiles.map((p) => p.name).join(", ") : "")),
      slots,
      el("p", { class: "muted" }, "free on this GPU: " + (free || "nothing")),
      gpu.allocations.length ? allocationsTable(gpu.allocations) : el("p", { class: "muted" }, "No allocations."),
      el("h4", {}, "Fragmentation"), fragmentation(gpuFrag));
  }

  function render(data) {
    const source = document.getElementById("source");
    source.textContent = data.simulated ? "simulated GPUs" : `real GPUs (${data.source})`;
    source.className = "badge" + (data.simulated ? " simulated" : "");
    const free = document.getElementById("free");
    free.replaceChildren(
      el("tr", {}, ...Object.keys(data.free).map((k) => el("th", {}, k))),
      el("tr", {}, ...Object.entries(data.free).map(([k, v]) => el("td", { "data-profile": k }, v))));
    const families = document.getElementById("families");
    if (families) {
      families.replaceChildren(...(data.families || []).map((f) =>
        el("li", { "data-family": f.family },
          el("strong", {}, f.family), ` · ${f.gpus.length} GPU${f.gpus.length === 1 ? "" : "s"}` +
          (f.slices.length ? " · " + f.slices.join(", ") : ""))));
    }
    const byGpu = Object.fromEntries(data.fragmentation.map((f) => [f.gpu_uuid, f]));
    document.getElementById("gpus").replaceChildren(...data.gpus.map((g) => gpuCard(g, byGpu[g.uuid])));
    document.getElementById("cpu").replaceChildren(
      data.without_gpu.length ? allocationsTable(data.without_gpu) : el("p", { class: "muted" }, "None."));
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  }

  function renderUsage(data) {
    // The usage endpoint (api/usage, admins) reports GPU-hours per team for a period.
    const target = document.getElementById("usage");
    target.className = "";
    if (data && data.by_team && typeof data.by_team === "object") {
      const period = `${since(data.since)} to ${since(data.charged_until || data.until)}`;
      const teams = Object.entries(data.by_team).sort((a, b) => b[1] - a[1]);
      target.replaceChildren(
        el("p", { class: "muted" }, "GPU-hours charged from " + period + " ",
          el("a", { href: config.prefix + "api/usage.csv" }, "(CSV)")),
        teams.length
          ? el("table", { class: "usage" }, el("tr", {}, el("th", {}, "team"), el("th", {}, "GPU-hours")),
              ...teams.map(([team, hours]) => el("tr", { "data-team": team },
                el("td", {}, team === "null" || !team ? "(no team)" : team), el("td", {}, Number(hours).toFixed(2)))))
          : el("p", { class: "muted" }, "No GPU use in this period."));
      return;
    }
    target.replaceChildren(el("pre", {}, JSON.stringify(data, null, 1)));
  }

  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    const error = document.getElementById("error");
    try {
      render(await api("api/overview"));
      error.hidden = true;
    } catch (e) {
      error.textContent = "Could not refresh: " + e.message;
      error.hidden = false;
    } finally {
      busy = false;
    }
  }

  async function usage() {
    try {
      renderUsage(await api("api/usage"));
    } catch (e) {
      document.getElementById("usage").textContent =
        e.status === 404 ? "This hub reports no per-team usage." : "Usage unavailable: " + e.message;
    }
  }

  refresh();
  usage();
  setInterval(refresh, REFRESH_MS);
  setInterval(usage, 10 * REFRESH_MS);
})();
