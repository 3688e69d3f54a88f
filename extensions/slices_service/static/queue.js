// The capacity page's queue section (templates/queue.html): the waiting starts from
// api/queue, refreshed every few seconds. Its labels are written by the template.
(function () {
  "use strict";
  const REFRESH_MS = 3000;
  // The hub's services send a cookie-authenticated fetch without the page's xsrf token
  // back to the hub's login, and that detour ends the page's session.
  const config = JSON.parse(document.getElementById("capacity-config").textContent);
  const section = document.getElementById("queue-section");
  const table = document.getElementById("queue");
  const empty = document.getElementById("queue-empty");

  function row(entry) {
    const tr = document.createElement("tr");
    const cells = [
      entry.position,
      entry.user,
      entry.server_name || "-",
      entry.team || "-",
      entry.slice,
      Math.floor(entry.waited_s / 60),
      Math.ceil(entry.expires_in_s / 60),
    ];
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.append(td);
    }
    return tr;
  }

  async function refresh() {
    try {
      const resp = await fetch(section.dataset.api, {
        credentials: "same-origin",
        headers: { "X-XSRFToken": config.xsrf },
      });
      if (!resp.ok) return;
      const entries = (await resp.json()).queue;
      table.tBodies[0].replaceChildren(...entries.map(row));
      table.hidden = entries.length === 0;
      empty.hidden = entries.length !== 0;
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }
  refresh();
})();
