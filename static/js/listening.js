// Listening: live alerts on the support queue, and its sentiment chart.
(function () {
  "use strict";

  const canvas = document.getElementById("listening-chart");
  if (canvas && typeof window.Chart === "function") {
    const series = JSON.parse(canvas.dataset.series || "{}");
    // eslint-disable-next-line no-new
    new window.Chart(canvas, {
      data: {
        labels: series.labels || [],
        datasets: [
          {
            type: "line", label: "Average sentiment", data: series.sentiment || [],
            borderColor: "#3b5bdb", backgroundColor: "#3b5bdb", spanGaps: true, yAxisID: "y",
          },
          {
            type: "bar", label: "Alerts", data: series.alerts || [],
            backgroundColor: "#e8590c", yAxisID: "alerts",
          },
        ],
      },
      options: {
        responsive: true,
        animation: false,
        scales: {
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
          y: { min: -1, max: 1, position: "left" },
          alerts: { beginAtZero: true, position: "right", ticks: { precision: 0 }, grid: { drawOnChartArea: false } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  const list = document.getElementById("alert-list");
  const socket = window.parley && window.parley.socket;
  if (!list || !socket) return;
  const banner = document.getElementById("new-alerts");

  // The server lets only support and sales join; each alert reaches only those
  // who may read what it is about.
  const join = () => socket.emit("join_alerts", {});
  if (socket.connected) join();
  socket.on("connect", join);

  socket.on("listening_alert", (alert) => {
    const item = document.createElement("li");
    item.className = "card alert-item arrived";
    item.id = `alert-${alert.id}`;
    const meta = document.createElement("p");
    meta.className = "meta";
    const pill = document.createElement("span");
    pill.className = "pill pill-open";
    pill.textContent = alert.label;
    meta.append(pill);
    const extra = [alert.watchlist, ...(alert.terms || [])].filter(Boolean).join(", ");
    const sentiment = typeof alert.sentiment === "number" ? ` · sentiment ${alert.sentiment.toFixed(2)}` : "";
    meta.append(` ${extra}${sentiment} · just now · ${alert.member.name}`);
    const title = document.createElement("h2");
    title.className = "thread-title";
    const link = document.createElement("a");
    link.href = alert.about.url;
    link.textContent = alert.about.title;
    title.append(link);
    item.append(meta, title);
    list.prepend(item);
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    if (banner) banner.classList.remove("hidden");
  });

  socket.on("listening_alert_handled", (data) => {
    const item = document.getElementById(`alert-${data.id}`);
    if (!item) return;
    item.querySelectorAll(".actions").forEach((el) => el.remove());
    const note = document.createElement("p");
    note.className = "meta handled";
    note.textContent = `Handled just now: ${data.action}.`;
    item.append(note);
  });
})();
