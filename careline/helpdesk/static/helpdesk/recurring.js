// Recurring complaints: a small bar chart of tickets per week on each cluster card (data from the
// json_script block of the results fragment, which htmx loads into the page).
(function () {
  function draw(root) {
    const source = (root || document).querySelector("#recurring-chart-data");
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const locale = document.documentElement.lang === "vi" ? "VI" : "EN";
    document.querySelectorAll(".recurring-chart[data-index]").forEach(function (holder) {
      const values = data.clusters[Number(holder.dataset.index)];
      if (!values) return;
      const old = window.echarts.getInstanceByDom(holder);
      if (old) old.dispose();
      const chart = window.echarts.init(holder, null, { locale: locale, renderer: "svg" });
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 2, right: 2, top: 4, bottom: 18 },
        xAxis: { type: "category", data: data.weeks, axisLabel: { fontSize: 9 }, axisTick: { show: false } },
        yAxis: { type: "value", show: false, minInterval: 1 },
        series: [{ name: data.label, type: "bar", data: values, itemStyle: { color: "#0d6efd" }, barMaxWidth: 18 }],
      });
    });
  }
  window.addEventListener("resize", function () {
    document.querySelectorAll(".recurring-chart").forEach(function (holder) {
      const chart = window.echarts && window.echarts.getInstanceByDom(holder);
      if (chart) chart.resize();
    });
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "recurring-results") draw(event.target);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { draw(); });
  else draw();
})();
