/* Releases editor: translation tabs without a reload, and a quick Markdown preview.
   Loaded from a file (the CSP forbids inline scripts); the page works without it. The
   preview builds DOM nodes with textContent only, so nothing typed is ever parsed as HTML. */
(function () {
  "use strict";

  function selectTab(name, focus) {
    var tabs = document.querySelectorAll(".tabs [data-tab]");
    tabs.forEach(function (tab) {
      var on = tab.getAttribute("data-tab") === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      var panel = document.getElementById(tab.getAttribute("aria-controls"));
      if (panel) { panel.hidden = !on; }
      if (on && focus) { tab.focus(); }
    });
  }

  document.querySelectorAll(".tabs [data-tab]").forEach(function (tab) {
    tab.addEventListener("click", function (event) {
      event.preventDefault();
      var name = tab.getAttribute("data-tab");
      selectTab(name, false);
      if (window.history && window.history.replaceState) {
        var url = new URL(window.location.href);
        url.searchParams.set("lang", name);
        url.hash = "translations";
        window.history.replaceState(null, "", url.toString());
      }
    });
  });

  // Inline Markdown: **bold**, *em*, `code`, [text](url). Links are shown, not followed.
  function inline(parent, text) {
    var pattern = /(\*\*([^*]+)\*\*|\*([^*]+)\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/;
    while (text) {
      var match = pattern.exec(text);
      if (!match) { parent.appendChild(document.createTextNode(text)); return; }
      if (match.index) { parent.appendChild(document.createTextNode(text.slice(0, match.index))); }
      var node;
      if (match[2] !== undefined) { node = document.createElement("strong"); node.textContent = match[2]; }
      else if (match[3] !== undefined) { node = document.createElement("em"); node.textContent = match[3]; }
      else if (match[4] !== undefined) { node = document.createElement("code"); node.textContent = match[4]; }
      else {
        node = document.createElement("a");
        node.textContent = match[5];
        node.title = match[6];
        if (/^(https?:|mailto:)/i.test(match[6])) { node.href = match[6]; node.rel = "noopener noreferrer"; node.target = "_blank"; }
      }
      parent.appendChild(node);
      text = text.slice(match.index + match[0].length);
    }
  }

  function render(target, source) {
    target.textContent = "";
    var blocks = source.replace(/\r\n/g, "\n").split(/\n{2,}/);
    blocks.forEach(function (block) {
      if (!block.trim()) { return; }
      var heading = /^(#{1,6})\s+(.*)$/.exec(block);
      var lines = block.split("\n");
      var node;
      if (heading && lines.length === 1) {
        node = document.createElement("h" + Math.min(heading[1].length + 2, 6));
        inline(node, heading[2]);
      } else if (lines.every(function (l) { return /^\s*([-*+]|\d+\.)\s+/.test(l); })) {
        node = document.createElement(/^\s*\d+\./.test(lines[0]) ? "ol" : "ul");
        lines.forEach(function (l) {
          var item = document.createElement("li");
          inline(item, l.replace(/^\s*([-*+]|\d+\.)\s+/, ""));
          node.appendChild(item);
        });
      } else if (lines.every(function (l) { return /^>/.test(l); })) {
        node = document.createElement("blockquote");
        inline(node, lines.map(function (l) { return l.replace(/^>\s?/, ""); }).join(" "));
      } else {
        node = document.createElement("p");
        inline(node, lines.join(" "));
      }
      target.appendChild(node);
    });
  }

  document.querySelectorAll("textarea.markdown-source[data-preview]").forEach(function (area) {
    var target = document.getElementById(area.getAttribute("data-preview"));
    if (!target) { return; }
    var timer = null;
    var update = function () { render(target, area.value); };
    area.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 150);
    });
    target.setAttribute("dir", "auto");
    update();
  });
})();
