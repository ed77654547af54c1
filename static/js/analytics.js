// Staff analytics. Two pages use this file (the CSP allows no inline script):
// - /analytics/deflection: one chart from the canvas's data-series attribute;
// - /analytics: every panel drawn from GET /api/v1/analytics/<panel>, redrawn
//   without a page load when the date range or segment changes.
(function () {
  "use strict";
  const COLOURS = ["#1c7ed6", "#2b8a3e", "#e8590c", "#7048e8", "#f08c00", "#c2255c", "#0b7285"];

  function deflectionPage() {
    const canvas = document.getElementById("deflection-chart");
    if (!canvas || typeof window.Chart !== "function") return;
    const series = JSON.parse(canvas.dataset.series || "{}");
    // eslint-disable-next-line no-new
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels || [],
        datasets: [
          { label: "Deflected cases", data: series.deflected || [], backgroundColor: "#2b8a3e" },
          { label: "Support cases opened", data: series.escalated || [], backgroundColor: "#e8590c" },
        ],
      },
      options: {
        responsive: true,
        animation: false,
        scales: {
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  function label(name) {
    const text = name.replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function show(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number" && !Number.isInteger(value)) {
      return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
    }
    return typeof value === "number" ? value.toLocaleString() : String(value);
  }

  function el(tag, text) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawFigures(section, data) {
    const list = section.querySelector("[data-figures]");
    list.replaceChildren();
    Object.entries(data.figures || {}).forEach(([name, value]) => {
      const item = el("div");
      item.append(el("dt", label(name)));
      const dd = el("dd", show(value));
      dd.dataset.figure = name;
      item.append(dd);
      list.append(item);
    });
  }

  function drawTables(section, data) {
    const holder = section.querySelector("[data-tables]");
    holder.replaceChildren();
    Object.entries(data).forEach(([name, rows]) => {
      if (name === "charts" || name === "by_day" || !Array.isArray(rows) || !rows.length) return;
      if (typeof rows[0] !== "object") return;
      const columns = Object.keys(rows[0]).filter(
        (key) => key !== "url" && (rows[0][key] === null || typeof rows[0][key] !== "object")
      );
      const table = el("table");
      table.className = "table";
      table.dataset.table = name;
      const caption = el("caption", label(name));
      table.append(caption);
      const head = el("tr");
      columns.forEach((key) => head.append(el("th", label(key))));
      const thead = el("thead");
      thead.append(head);
      table.append(thead);
      const body = el("tbody");
      rows.forEach((row) => {
        const tr = el("tr");
        columns.forEach((key) => tr.append(el("td", show(row[key]))));
        body.append(tr);
      });
      table.append(body);
      holder.append(table);
    });
  }

  function drawCharts(section, data, period) {
    const holder = section.querySelector("[data-charts]");
    (data.charts || []).forEach((spec) => {
      let canvas = holder.querySelector(`canvas[data-chart-id="${spec.id}"]`);
      if (!canvas) {
        const figure = el("figure");
        figure.append(el("figcaption", spec.title));
        canvas = el("canvas");
        canvas.dataset.chartId = spec.id;
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", spec.title);
        figure.append(canvas);
        holder.append(figure);
      }
      const datasets = spec.datasets.map((set, n) => ({
        label: set.label,
        data: set.data,
        backgroundColor:
          spec.type === "doughnut" ? COLOURS.slice(0, set.data.length) : COLOURS[n % COLOURS.length],
        borderColor: spec.type === "line" ? COLOURS[n % COLOURS.length] : undefined,
      }));
      const existing = typeof window.Chart === "function" ? window.Chart.getChart(canvas) : null;
      if (existing) {
        existing.data.labels = spec.labels;
        existing.data.datasets = datasets;
        existing.update();
      } else if (typeof window.Chart === "function") {
        // eslint-disable-next-line no-new
        new window.Chart(canvas, {
          type: spec.type,
          data: { labels: spec.labels, datasets: datasets },
          options: {
            responsive: true,
            animation: false,
            plugins: { legend: { position: "bottom" } },
            scales:
              spec.type === "doughnut"
                ? {}
                : { x: { ticks: { autoSkip: true, maxRotation: 0 } }, y: { beginAtZero: true } },
          },
        });
      }
      canvas.dataset.period = period;
      canvas.dataset.points = String(spec.labels.length);
    });
  }

  function dashboard() {
    const root = document.getElementById("analytics-dashboard");
    if (!root) return;
    const form = document.getElementById("analytics-filter");
    const error = document.getElementById("analytics-error");
    const sections = Array.from(root.querySelectorAll(".analytics-panel"));

    function query() {
      const params = new URLSearchParams();
      ["from", "to", "segment"].forEach((name) => {
        const value = form.elements[name].value;
        if (value) params.set(name, value);
      });
      return params;
    }

    function redraw() {
      const params = query();
      const period = `${params.get("from") || ""}..${params.get("to") || ""}`;
      error.hidden = true;
      root.dataset.loaded = "0";
      const loads = sections.map((section) => {
        const url = `${section.dataset.url}?${params}`;
        const csv = new URLSearchParams(params);
        csv.set("format", "csv");
        section.querySelector(".csv-link").href = `${section.dataset.url}?${csv}`;
        return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then((response) =>
            response.json().then((body) => {
              if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
              return body;
            })
          )
          .then((data) => {
            drawFigures(section, data);
            drawCharts(section, data, period);
            drawTables(section, data);
            section.dataset.period = period;
          });
      });
      Promise.all(loads)
        .then(() => {
          root.dataset.period = period;
          root.dataset.loaded = "1";
          history.replaceState(null, "", `?${params}`);
        })
        .catch((problem) => {
          error.textContent = problem.message;
          error.hidden = false;
        });
    }

    const given = new URLSearchParams(window.location.search);
    ["from", "to", "segment"].forEach((name) => {
      if (given.get(name)) form.elements[name].value = given.get(name);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      redraw();
    });
    ["from", "to", "segment"].forEach((name) => form.elements[name].addEventListener("change", redraw));
    redraw();
  }

  deflectionPage();
  dashboard();
})();
