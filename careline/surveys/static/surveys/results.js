// Survey results: the trend (responses as bars, the score as a line) and the score distribution, drawn from
// the json_script block (no inline script: CSP-safe).
(function () {
  function draw() {
    const source = document.getElementById("results-chart-data");
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const locale = document.documentElement.lang === "vi" ? "VI" : "EN";
    const charts = [];
    const trendHolder = document.getElementById("trend-chart");
    if (trendHolder) {
      const trend = window.echarts.init(trendHolder, null, { locale: locale, renderer: "svg" });
      trend.setOption({
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 40, right: 45, top: 10, bottom: 50 },
        xAxis: { type: "category", data: data.periods },
        yAxis: [
          { type: "value", minInterval: 1, name: "" },
          { type: "value", name: "", splitLine: { show: false } },
        ],
        series: [
          { name: data.labels.responses, type: "bar", data: data.responses, itemStyle: { color: "#9ec5fe" } },
          // showAllSymbol: a day with answers shows its point even where the axis skips the day's label (a
          // single answered day would otherwise draw nothing).
          { name: data.labels.score, type: "line", yAxisIndex: 1, data: data.scores, connectNulls: true,
            showAllSymbol: true, itemStyle: { color: "#0d6efd" } },
        ],
      });
      charts.push(trend);
    }
    const distHolder = document.getElementById("distribution-chart");
    if (distHolder) {
      const colours = { promoter: "#198754", passive: "#adb5bd", detractor: "#dc3545", "": "#0d6efd" };
      const dist = window.echarts.init(distHolder, null, { locale: locale, renderer: "svg" });
      dist.setOption({
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 40, right: 10, top: 10, bottom: 30 },
        xAxis: { type: "category", data: data.distribution.scores.map(String) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{
          name: data.labels.responses,
          type: "bar",
          data: data.distribution.responses.map(function (n, i) {
            return { value: n, itemStyle: { color: colours[data.distribution.bands[i]] } };
          }),
        }],
      });
      charts.push(dist);
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
