// The capacity page: every GPU as its 8 memory slots, who holds what, free capacity,
// fragmentation, servers without a GPU and per-team usage; refreshed every few seconds.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("capacity-config").textContent);
  const REFRESH_MS = 3000;
  // The page's messages in its language (the hub's catalogue, spawners/i18n); English
  // is the msgids themselves. %(name)s placeholders are filled from `values`.
  const MESSAGES = config.messages || {};
  function _(msgid, values) {
    const text = MESSAGES[msgid] || msgid;
    return values ? text.replace(/%\((\w+)\)s/g, (m, k) => String(values[k])) : text;
  }
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

  const since = (t) => (t ? new Date(t * 1000).toLocaleString(config.language) : "");
  const colour = (id) => COLOURS[id % COLOURS.length];
  const serverLabel = (h) => h.user + (h.server_name ? "/" + h.server_name : "");

  async function stop(h, button) {
    if (!confirm(_("Stop %(server)s's server (%(slice)s)?", { server: serverLabel(h), slice: h.slice }))) return;
    button.disabled = true;
    button.textContent = _("stopping ...");
    try {
      await api("api/servers/stop", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: h.user, server_name: h.server_name }),
      });
      await refresh();
    } catch (e) {
      button.textContent = _("failed: %(why)s", { why: e.message });
    }
  }

  function allocationsTable(list) {
    const table = el("table", { class: "allocations" },
      el("tr", {}, ...[_("slice"), _("slots"), _("user"), _("server"), _("team"), _("image"), _("since"), ""].map((h) => el("th", {}, h))));
    for (const h of list) {
      const button = el("button", { class: "stop", "data-user": h.user, "data-server": h.server_name }, _("stop"));
      button.addEventListener("click", () => stop(h, button));
      table.append(el("tr", { "data-allocation": h.id },
        el("td", {}, h.slice), el("td", {}, h.start === null ? "" : _("from %(start)s", { start: h.start })),
        el("td", {}, h.user), el("td", {}, h.server_name || _("(default)")), el("td", {}, h.team || ""),
        el("td", {}, h.image), el("td", {}, since(h.since)), el("td", {}, button)));
    }
    return table;
  }

  function fragmentation(gpuFrag) {
    if (!gpuFrag || !gpuFrag.blocked.length) return el("p", { class: "muted" }, _("Nothing blocked."));
    const list = el("ul", { class: "blocked" });
    for (const b of gpuFrag.blocked) {
      const why = b.fragmented ? _("fragmented (enough free memory, no aligned place)")
        : b.compute_short ? _("needs more compute than is free (%(free)s of 7 slices)", { free: gpuFrag.compute_free })
        : _("not enough free memory (%(free)s of 8 slots)", { free: gpuFrag.free_slots });
      const starts = b.starts.map((s) => _("at slot %(start)s: %(holders)s", {
        start: s.start,
        holders: s.blocked_by.length ? s.blocked_by.map((r) => `${serverLabel(r)} (${r.slice})`).join(", ") : _("free"),
      })).join("; ");
      const fix = b.release_to_fit.length
        ? " " + _("Releasing %(servers)s would make room.", { servers: b.release_to_fit.map(serverLabel).join(_(" and ")) }) : "";
      list.append(el("li", { "data-profile": b.profile }, el("strong", {}, b.profile),
        " " + _("blocked: %(why)s. %(starts)s.", { why, starts }) + fix));
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
        title: !h ? _("free") : h.state === "quarantined" ? _("quarantined: %(why)s", { why: h.reason || "" })
          : _("%(server)s · %(slice)s · team %(team)s · %(image)s · since %(since)s", {
            server: serverLabel(h), slice: h.slice, team: h.team || "-", image: h.image, since: since(h.since),
          }),
      }, el("span", { class: "n" }, s.slot + " "));
      if (h) {
        box.style.background = colour(h.id);
        box.append(el("div", {}, h.user), el("div", {}, h.state === "quarantined" ? _("quarantined") : h.slice));
      }
      slots.append(box);
    }
    const free = Object.entries(gpu.free).map(([k, v]) => `${k}: ${v}`).join(", ");
    return el("div", { class: "gpu" },
      el("h3", { "data-family": gpu.family || "" },
        `GPU ${gpu.index} · ${gpu.node} · ${gpu.family || gpu.model} · ${gpu.mode}`),
      el("p", { class: "muted model" }, gpu.model +
        (gpu.mig_profiles && gpu.mig_profiles.length
          ? " · " + _("MIG profiles: %(names)s", { names: gpu.mig_profiles.map((p) => p.name).join(", ") }) : "")),
      slots,
      el("p", { class: "muted" }, _("free on this GPU: %(free)s", { free: free || _("nothing") })),
      gpu.allocations.length ? allocationsTable(gpu.allocations) : el("p", { class: "muted" }, _("No allocations.")),
      el("h4", {}, _("Fragmentation")), fragmentation(gpuFrag));
  }

  function render(data) {
    const source = document.getElementById("source");
    source.textContent = data.simulated ? _("simulated GPUs") : _("real GPUs (%(source)s)", { source: data.source });
    source.className = "badge" + (data.simulated ? " simulated" : "");
    const free = document.getElementById("free");
    free.replaceChildren(
      el("tr", {}, ...Object.keys(data.free).map((k) => el("th", {}, k))),
      el("tr", {}, ...Object.entries(data.free).map(([k, v]) => el("td", { "data-profile": k }, v))));
    const families = document.getElementById("families");
    if (families) {
      families.replaceChildren(...(data.families || []).map((f) =>
        el("li", { "data-family": f.family },
          el("strong", {}, f.family), " · " + _("%(count)s GPU(s)", { count: f.gpus.length }) +
          (f.slices.length ? " · " + f.slices.join(", ") : ""))));
    }
    const byGpu = Object.fromEntries(data.fragmentation.map((f) => [f.gpu_uuid, f]));
    document.getElementById("gpus").replaceChildren(...data.gpus.map((g) => gpuCard(g, byGpu[g.uuid])));
    document.getElementById("cpu").replaceChildren(
      data.without_gpu.length ? allocationsTable(data.without_gpu) : el("p", { class: "muted" }, _("None.")));
    document.getElementById("updated").textContent =
      _("updated %(time)s", { time: new Date().toLocaleTimeString(config.language) });
  }

  function renderUsage(data) {
    // The usage endpoint (api/usage, admins) reports GPU-hours per team for a period.
    const target = document.getElementById("usage");
    target.className = "";
    if (data && data.by_team && typeof data.by_team === "object") {
      const period = _("%(from)s to %(until)s", { from: since(data.since), until: since(data.charged_until || data.until) });
      const teams = Object.entries(data.by_team).sort((a, b) => b[1] - a[1]);
      target.replaceChildren(
        el("p", { class: "muted" }, _("GPU-hours charged from %(period)s", { period }) + " ",
          el("a", { href: config.prefix + "api/usage.csv" }, "(CSV)")),
        teams.length
          ? el("table", { class: "usage" }, el("tr", {}, el("th", {}, _("team")), el("th", {}, _("GPU-hours"))),
              ...teams.map(([team, hours]) => el("tr", { "data-team": team },
                el("td", {}, team === "null" || !team ? _("(no team)") : team), el("td", {}, Number(hours).toFixed(2)))))
          : el("p", { class: "muted" }, _("No GPU use in this period.")));
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
      error.textContent = _("Could not refresh: %(why)s", { why: e.message });
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
        e.status === 404 ? _("This hub reports no per-team usage.") : _("Usage unavailable: %(why)s", { why: e.message });
    }
  }

  refresh();
  usage();
  setInterval(refresh, REFRESH_MS);
  setInterval(usage, 10 * REFRESH_MS);
})();
