// The deflection chart on the staff analytics page: data from the page's
// data-series attribute (the CSP allows no inline script), drawn by Chart.js.
(function () {
  "use strict";
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
})();
