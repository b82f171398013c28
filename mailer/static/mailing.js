// Live progress of a mailing: poll its figures while it is sending or scheduled.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section) { return; }
  var live = ["sending", "scheduled"];
  if (live.indexOf(section.dataset.status) < 0) { return; }
  var bar = document.getElementById("progress-bar");
  var status = document.getElementById("mailing-status");
  // Status names in the page's language, translated on the server (data-labels).
  var labels = {};
  try { labels = JSON.parse(status.dataset.labels || "{}"); } catch (e) { labels = {}; }
  function update(data) {
    var c = data.counts;
    var done = c.sent + c.failed + c.bounced + c.unknown + c.cancelled;
    bar.max = Math.max(c.recipients, 1);
    bar.value = done;
    section.querySelectorAll("[data-count]").forEach(function (el) {
      var value = c[el.dataset.count];
      if (el.dataset.count === "queued") { value = c.queued; }
      el.textContent = value;
    });
    section.querySelectorAll("[data-field]").forEach(function (el) {
      var value = data[el.dataset.field];
      el.textContent = value === null || value === undefined ? "—" : value;
    });
    status.textContent = labels[data.status] || data.status;
    status.className = "badge status-" + data.status;
    return live.indexOf(data.status) >= 0;
  }
  function poll() {
    fetch(section.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (update(data)) { setTimeout(poll, 2000); } else { location.reload(); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
}());
