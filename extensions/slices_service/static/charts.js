// The capacity page's charts over time (api/charts), drawn with Chart.js, which the
// slices service serves from npm's copy (vendor/chart.umd.min.js); each chart's CSV
// link asks api/charts/<name>.csv for the same range. Refreshed every minute.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("capacity-config").textContent);
  const REFRESH_MS = 60000;
  const MESSAGES = config.messages || {};
  function _(msgid, values) {
    const text = MESSAGES[msgid] || msgid;
    return values ? text.replace(/%\((\w+)\)s/g, (m, k) => String(values[k])) : text;
  }
  const COLOURS = ["#3b6fd4", "#1b8a5a", "#b5532a", "#7a4cc2", "#a8326e", "#2a8a99", "#8a7a1b", "#555f6e"];
  const UNITS = { slices: _("slices"), starts: _("waiting starts"), "GPU-hours": _("GPU-hours"), GPUs: _("GPUs") };
  const drawn = {};
  const error = document.getElementById("charts-error");
  const range = document.getElementById("chart-range");

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
  }

  function query() {
    const [days, bucket] = range.value.split(":");
    const since = Math.floor(Date.now() / 1000) - Number(days) * 86400;
    return new URLSearchParams({ since: String(since), bucket }).toString();
  }

  function label(start, bucket) {
    const at = new Date(start * 1000);
    return bucket === "day"
      ? at.toLocaleDateString(config.language, { month: "short", day: "numeric" })
      : at.toLocaleString(config.language, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function draw(chart) {
    const figure = document.querySelector(`figure.chart[data-chart="${chart.name}"]`);
    if (!figure) return;
    const names = Object.keys(chart.series);
    const bars = chart.name === "gpu-hours";
    const data = {
      labels: chart.starts.map((s) => label(s, chart.bucket)),
      datasets: names.map((name, i) => ({
        label: name === "" ? _("(no team)") : name,
        data: chart.series[name],
        borderColor: COLOURS[i % COLOURS.length],
        backgroundColor: COLOURS[i % COLOURS.length],
        pointRadius: 0,
        borderWidth: bars ? 0 : 2,
      })),
    };
    if (drawn[chart.name]) {
      drawn[chart.name].data = data;
      drawn[chart.name].update();
    } else {
      drawn[chart.name] = new window.Chart(figure.querySelector("canvas"), {
        type: bars ? "bar" : "line",
        data,
        options: {
          animation: false,
          maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { stacked: bars, ticks: { maxTicksLimit: 12 } },
            y: { stacked: bars, beginAtZero: true, title: { display: true, text: UNITS[chart.unit] || chart.unit } },
          },
        },
      });
    }
    let empty = figure.querySelector(".empty");
    if (!empty) {
      empty = document.createElement("p");
      empty.className = "muted empty";
      empty.textContent = _("Nothing recorded in this range.");
      figure.append(empty);
    }
    empty.hidden = names.length > 0;
    figure.dataset.series = names.join(",");
    figure.dataset.drawn = "true";
  }

  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    const q = query();
    for (const link of document.querySelectorAll("a.csv[data-chart]")) {
      link.href = `${config.prefix}api/charts/${link.dataset.chart}.csv?${q}`;
    }
    try {
      // The hub's services refuse a cookie-authenticated fetch without the page's token.
      const resp = await fetch(`${config.prefix}api/charts?${q}`, { headers: { "X-XSRFToken": config.xsrf } });
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) throw new Error(body.message || resp.statusText);
      body.charts.forEach(draw);
      error.hidden = true;
    } catch (e) {
      fail(_("Could not load the charts: %(why)s", { why: e.message }));
    } finally {
      busy = false;
    }
  }

  if (typeof window.Chart !== "function") {
    // The page found the file, but the browser could not run it.
    fail(_("The charting library did not load; the charts cannot be drawn."));
    return;
  }
  range.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
