// CRM bridge charts: delivery lag on the admins' sync page, sentiment on the
// customer 360. Data comes from each canvas's data-series (the CSP allows no inline script).
(function () {
  "use strict";
  if (typeof window.Chart !== "function") return;

  const lag = document.getElementById("lag-chart");
  if (lag) {
    const series = JSON.parse(lag.dataset.series || "[]");
    // eslint-disable-next-line no-new
    new window.Chart(lag, {
      type: "line",
      data: {
        labels: series.map((p) => p.hour.slice(5, 13).replace("T", " ") + "h"),
        datasets: [
          { label: "Average lag (s)", data: series.map((p) => p.avg_seconds), borderColor: "#1c7ed6", spanGaps: true },
          { label: "Worst lag (s)", data: series.map((p) => p.max_seconds), borderColor: "#e8590c", spanGaps: true },
        ],
      },
      options: {
        responsive: true,
        animation: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: "seconds" } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  const sentiment = document.getElementById("sentiment-chart");
  if (sentiment) {
    const points = JSON.parse(sentiment.dataset.series || "[]");
    // eslint-disable-next-line no-new
    new window.Chart(sentiment, {
      type: "line",
      data: {
        labels: points.map((p) => (p.at || "").slice(0, 10)),
        datasets: [{ label: "Sentiment (-1 to 1)", data: points.map((p) => p.sentiment), borderColor: "#c2255c" }],
      },
      options: { responsive: true, animation: false, scales: { y: { min: -1, max: 1 } } },
    });
  }
})();
