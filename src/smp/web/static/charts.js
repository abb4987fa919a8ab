// Draws the dashboard's charts with Plotly (served by SMP itself, no CDN).
// The data comes from the page's JSON block; every chart has a table beside it.
(function () {
  "use strict";
  var block = document.getElementById("chart-data");
  if (!block || typeof Plotly === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var config = { displayModeBar: false, responsive: true };
  var font = { family: "system-ui, sans-serif", size: 13, color: "#1f2933" };
  var layout = function (extra) {
    var base = { margin: { t: 16, r: 16, b: 48, l: 64 }, height: 300, font: font,
                 paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" };
    return Object.assign(base, extra || {});
  };
  var palette = ["#1f5fa8", "#2f855a", "#b7791f", "#805ad5", "#c53030", "#2c7a7b",
                 "#975a16", "#553c9a", "#2b6cb0", "#9c4221"];

  var usage = data.usage;
  var usageBox = document.getElementById("usage-chart");
  if (usage && usageBox && usage.total) {
    var steps = [{ range: [0, usage.total], color: "#e6eef7" }];
    var gauge = { axis: { range: [0, Math.max(usage.total, usage.forecast || 0) * 1.05] },
                  bar: { color: usage.forecast > usage.total ? "#c53030" : "#1f5fa8" },
                  steps: steps };
    // The marker is the forecast at the next reset (the page's legend names
    // it); an ended period has no forecast, so no marker.
    if (usage.forecast !== null && usage.forecast !== undefined) {
      gauge.threshold = { line: { color: "#b7791f", width: 4 }, value: usage.forecast };
    }
    Plotly.newPlot(usageBox, [{
      type: "indicator", mode: "gauge+number", value: usage.used,
      number: { valueformat: ",.0f", suffix: " used" }, gauge: gauge
    }], layout({ height: 260, margin: { t: 24, r: 32, b: 16, l: 32 } }), config);
  }

  var spend = data.spend;
  var spendBox = document.getElementById("spend-chart");
  if (spend && spendBox && spend.x.length) {
    Plotly.newPlot(spendBox, [{
      type: "bar", x: spend.x, y: spend.y, marker: { color: "#1f5fa8" },
      hovertemplate: "%{x}: %{y:,.2f} " + (spend.currency || "") + "<extra></extra>"
    }], layout({ yaxis: { title: { text: spend.currency || "amount" }, tickformat: ",.0f" },
                 xaxis: { type: "date" } }), config);
  }

  var volume = data.volume;
  var volumeBox = document.getElementById("volume-chart");
  if (volume && volumeBox && volume.months.length) {
    // SendGrid counts the parent's own sends apart from its subusers': the
    // bars stack the parts, and the line is their sum, the whole account.
    var hover = "%{x}: %{y:,.0f}<extra>%{fullData.name}</extra>";
    var traces = [{ type: "bar", name: "parent account's own sends", x: volume.months,
                    y: volume.parent, marker: { color: "#9aa5b1" }, hovertemplate: hover }];
    var names = Object.keys(volume.subusers);
    names.forEach(function (name, index) {
      traces.push({ type: "bar", name: "subuser " + name, x: volume.months,
                    y: volume.subusers[name], hovertemplate: hover,
                    marker: { color: palette[index % palette.length] } });
    });
    if (volume.total) {
      traces.push({ type: "scatter", mode: "lines+markers",
                    name: "whole account (parent + subusers)", hovertemplate: hover,
                    x: volume.months, y: volume.total, line: { color: "#1f2933", width: 2 } });
    }
    Plotly.newPlot(volumeBox, traces, layout({
      barmode: "stack", legend: { orientation: "h", y: -0.25, traceorder: "normal" },
      height: 340,
      yaxis: { title: { text: "requests" }, tickformat: ",.0f" } }), config);
  }
})();
