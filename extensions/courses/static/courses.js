// The courses page: instructors publish labs and read hand-ins; students see their labs.
// Every request sends the page's XSRF token (the service refuses cookie requests without it).
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("courses-config").textContent);
  const root = document.getElementById("courses");
  // The page's messages in its language (the hub's catalogue, spawners/i18n); English
  // is the msgids themselves. %(name)s placeholders are filled from `values`.
  const MESSAGES = config.messages || {};
  function _(msgid, values) {
    const text = MESSAGES[msgid] || msgid;
    return values ? text.replace(/%\((\w+)\)s/g, (m, k) => String(values[k])) : text;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers["X-XSRFToken"] = config.xsrf;
    if (opts.body && typeof opts.body !== "string") {
      opts.body = JSON.stringify(opts.body);
      opts.headers["Content-Type"] = "application/json";
    }
    const resp = await fetch(config.prefix + path, opts);
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || resp.statusText);
    return data;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString(config.language) : _("no due date");
  }

  function lateBadge(sub) {
    return sub.late ? el("span", { class: "late" }, _("late")) : el("span", { class: "ontime" }, _("on time"));
  }

  function labRow(course, lab, role) {
    const row = el("tr", { "data-lab": lab.name },
      el("td", {}, el("strong", {}, lab.title), " ", el("code", {}, lab.name)),
      el("td", {}, _("version %(version)s", { version: lab.version })),
      el("td", { class: "due" }, when(lab.due_iso)),
      el("td", {}, _("%(count)s file(s)", { count: lab.files.length })));
    if (role === "instructor") {
      row.append(el("td", { class: "handins" }, _("%(count)s student(s) handed in", { count: lab.students_handed_in || 0 })));
    } else {
      const mine = lab.my_submissions || [];
      const cell = el("td", { class: "mine" });
      if (mine.length) cell.append(_("handed in %(when)s", { when: when(mine[0].submitted_iso) }) + " ", lateBadge(mine[0]));
      else cell.append(_("not handed in"));
      row.append(cell);
    }
    return row;
  }

  async function showSubmissions(course, lab, target) {
    target.replaceChildren(_("loading ..."));
    try {
      const data = await api(`api/courses/${course}/labs/${lab.name}/submissions`);
      const table = el("table", { class: "submissions", "data-lab": lab.name },
        el("tr", {}, el("th", {}, _("student")), el("th", {}, _("handed in")), el("th", {}, ""),
          el("th", {}, _("files")), el("th", {}, "")));
      for (const s of data.submissions) {
        const href = `${config.prefix}api/courses/${course}/labs/${lab.name}/submissions/` +
          `${encodeURIComponent(s.student)}/${encodeURIComponent(s.id)}.zip`;
        table.append(el("tr", { "data-student": s.student },
          el("td", {}, s.student), el("td", {}, when(s.submitted_iso)), el("td", {}, lateBadge(s)),
          el("td", {}, s.files.join(", ")),
          el("td", {}, el("a", { href: href, class: "download" }, _("download")))));
      }
      target.replaceChildren(data.submissions.length ? table : _("no hand-ins yet"));
    } catch (e) {
      target.replaceChildren(el("p", { class: "message error" }, e.message));
    }
  }

  // The last publish message per course: the page is drawn again after a publish, and
  // the new drawing must still say how the publish went.
  const publishNotices = {};

  async function publishForm(course) {
    const message = el("p", { class: "message" });
    const say = (text, cls) => {
      publishNotices[course] = { text: text, cls: cls || "message" };
      message.className = publishNotices[course].cls;
      message.textContent = text;
    };
    if (publishNotices[course]) say(publishNotices[course].text, publishNotices[course].cls);
    const folder = el("select", { name: "repo_path" });
    try {
      const data = await api("api/repo-labs");
      for (const f of data.folders) folder.append(el("option", { value: f }, f));
    } catch (e) {
      message.className = "message error";
      message.textContent = e.message;
    }
    const name = el("input", { name: "name", required: true, pattern: "[a-z0-9][a-z0-9_.-]*" });
    const title = el("input", { name: "title" });
    const due = el("input", { name: "due", type: "datetime-local" });
    const form = el("form", { class: "publish" },
      el("label", {}, _("notebooks folder")), folder,
      el("label", {}, _("lab name")), name,
      el("label", {}, _("title")), title,
      el("label", {}, _("due (your time)")), due,
      el("span", {}), el("button", { type: "submit" }, _("Publish")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say(_("publishing ..."));
      const body = { name: name.value, title: title.value, repo_path: folder.value };
      if (due.value) body.due = new Date(due.value).toISOString();
      try {
        const meta = await api(`api/courses/${course}/labs`, { method: "POST", body: body });
        say(_("Published %(name)s version %(version)s.", { name: meta.name, version: meta.version }));
        await refresh();
      } catch (e) {
        say(e.message, "message error");
      }
    });
    return el("div", {}, el("h3", {}, _("Publish a lab from the repository's notebooks")), form, message,
      el("p", { class: "hint" }, _("To publish a folder from your own server, use the Course labs panel in JupyterLab.")));
  }

  // Lab-session reservations (instructors): slices kept for the course over a window.
  async function reservationForm(course) {
    const message = el("p", { class: "message" });
    const say = (text, cls) => { message.className = cls || "message"; message.textContent = text; };
    const list = el("ul", { class: "reservations" });
    async function load() {
      try {
        const data = await api(`api/courses/${course}/reservations`);
        list.replaceChildren(...data.reservations.map((r) => {
          const cancel = el("button", { type: "button", class: "cancel" }, _("Cancel"));
          cancel.addEventListener("click", async () => {
            try {
              await fetch(`${config.prefix}api/courses/${course}/reservations/${r.id}`,
                { method: "DELETE", headers: { "X-XSRFToken": config.xsrf } });
              await load();
            } catch (e) { say(e.message, "message error"); }
          });
          return el("li", { "data-reservation": r.id },
            _("%(count)s x %(slice)s, %(start)s to %(end)s, %(claimed)s claimed", {
              count: r.count, slice: r.slice, start: when(r.start), end: when(r.end), claimed: r.claimed,
            }) + " ", cancel);
        }));
        if (!data.reservations.length) list.replaceChildren(el("li", {}, _("No reservations ahead.")));
      } catch (e) { say(e.message, "message error"); }
    }
    const slice = el("input", { name: "slice", value: "1g.10gb", required: true });
    const count = el("input", { name: "count", type: "number", min: 1, value: 1, required: true });
    const start = el("input", { name: "start", type: "datetime-local", required: true });
    const end = el("input", { name: "end", type: "datetime-local", required: true });
    const form = el("form", { class: "reserve" },
      el("label", {}, _("slice")), slice, el("label", {}, _("number of slices")), count,
      el("label", {}, _("from (your time)")), start, el("label", {}, _("until (your time)")), end,
      el("span", {}), el("button", { type: "button", class: "reserve" }, _("Reserve")));
    // A plain button, not a second submit button in the course's section (the publish
    // form's is the section's one); Enter in a field does nothing.
    form.addEventListener("submit", (event) => event.preventDefault());
    form.querySelector("button.reserve").addEventListener("click", async () => {
      if (!form.reportValidity()) return;
      const body = { slice: slice.value, count: Number(count.value),
        start: new Date(start.value).toISOString(), end: new Date(end.value).toISOString() };
      try {
        const r = await api(`api/courses/${course}/reservations`, { method: "POST", body: body });
        say(_("Reserved %(count)s x %(slice)s.", { count: r.count, slice: r.slice }));
        await load();
      } catch (e) { say(e.message, "message error"); }
    });
    await load();
    return el("div", { class: "reservation-form" }, el("h3", {}, _("Reserve slices for a lab session")), list, form, message,
      el("p", { class: "hint" }, _("Your students get these slices first from the window's start; slices nobody claimed within the grace period return to everyone.")));
  }

  async function render(me) {
    const sections = [];
    if (!me.courses.length) {
      sections.push(el("p", {}, _("You are not in any course. Course membership comes from your groups.")));
    }
    for (const course of me.courses) {
      const section = el("section", { class: "course", "data-course": course.name, "data-role": course.role },
        el("h2", {}, course.name + " ", el("span", { class: "role" }, _(course.role === "instructor" ? "instructor" : "student"))));
      const table = el("table", { class: "labs" });
      for (const lab of course.labs) table.append(labRow(course.name, lab, course.role));
      section.append(course.labs.length ? table : el("p", {}, _("No labs published yet.")));
      if (course.role === "instructor") {
        for (const lab of course.labs) {
          const target = el("div", { class: "submissions-of", "data-lab": lab.name });
          section.append(el("h3", {}, _("Hand-ins: %(lab)s", { lab: lab.name })), target);
          showSubmissions(course.name, lab, target);
        }
        section.append(await publishForm(course.name));
        section.append(await reservationForm(course.name));
      } else {
        section.append(el("p", { class: "hint" },
          _("Labs arrive in your home (%(folder)s) when your server starts. In JupyterLab, the Course labs panel pulls updates without overwriting your edits, and hands in.", { folder: course.name + "/<lab>" })));
      }
      sections.push(section);
    }
    root.replaceChildren(...sections);
  }

  async function refresh() {
    await render(await api("api/me"));
  }

  render(config.me);
})();
