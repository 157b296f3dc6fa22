// Call analysis: stacked bar chart of call outcomes by hour of day (data from the json_script block).
(function () {
  function draw() {
    const holder = document.getElementById("calls-chart");
    const source = document.getElementById("calls-chart-data");
    if (!holder || !source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const colours = {
      reached: "#198754", interested: "#20c997", call_back: "#0dcaf0", not_interested: "#6c757d",
      no_answer: "#ffc107", busy: "#fd7e14", wrong_number: "#dc3545", "": "#adb5bd",
    };
    const locale = document.documentElement.lang === "vi" ? "VI" : "EN";
    const chart = window.echarts.init(holder, null, { locale: locale, renderer: "svg" });
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 40, right: 10, top: 10, bottom: 50 },
      xAxis: { type: "category", data: data.hours },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "calls", data: s.data, itemStyle: { color: colours[s.outcome] } };
      }),
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
