// The engagement chart on the staff participation page: data from the canvas's
// data-series attribute (the CSP allows no inline script), drawn by Chart.js.
(function () {
  "use strict";
  const canvas = document.getElementById("engagement-chart");
  if (!canvas || typeof window.Chart !== "function") return;
  const series = JSON.parse(canvas.dataset.series || "{}");
  // eslint-disable-next-line no-new
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: series.levels || [],
      datasets: [
        {
          label: "Members",
          data: series.counts || [],
          backgroundColor: ["#adb5bd", "#4dabf7", "#2b8a3e", "#e8590c"],
        },
      ],
    },
    options: {
      responsive: true,
      animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { display: false } },
    },
  });
})();
