// Moderation: the live review queue and the spam report's chart.
(function () {
  "use strict";

  // The queue refreshes its list when it changes (a new flag, an action elsewhere).
  const queue = document.getElementById("queue");
  const socket = window.parley && window.parley.socket;
  if (queue && socket) {
    let pending = null;
    const refresh = async () => {
      pending = null;
      // Keep what the moderator is typing or has ticked: skip while a reason box has focus.
      const active = document.activeElement;
      if (active && queue.contains(active) && active.tagName === "INPUT") {
        pending = setTimeout(refresh, 1500);
        return;
      }
      const response = await fetch(queue.dataset.source, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!response.ok) return;
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      const fresh = template.content.getElementById("queue-items");
      const current = document.getElementById("queue-items");
      if (fresh && current) current.replaceWith(fresh);
    };
    const join = () => socket.emit("join_moderation", {});
    if (socket.connected) join();
    socket.on("connect", join);
    socket.on("moderation_queue", () => {
      if (!pending) pending = setTimeout(refresh, 200);
    });
  }

  // The spam report: approved and rejected per week.
  const canvas = document.getElementById("spam-chart");
  if (canvas && typeof window.Chart === "function") {
    const series = JSON.parse(canvas.dataset.series || "{}");
    // eslint-disable-next-line no-new
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels || [],
        datasets: [
          { label: "Approved", data: series.approved || [], backgroundColor: "#2b8a3e" },
          { label: "Rejected", data: series.rejected || [], backgroundColor: "#c92a2a" },
        ],
      },
      options: {
        responsive: true,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }
})();
