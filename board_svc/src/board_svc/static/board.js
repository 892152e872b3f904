// The operators' board: its live part, rendered by the server once a second.
"use strict";
(() => {
  const live = document.getElementById("live");
  if (!live) return;
  const source = new EventSource("/api/board/events");
  source.addEventListener("board", (event) => {
    // Keep open <details> open across refreshes.
    const open = [...live.querySelectorAll("details[open] > summary")].map((s) => s.textContent);
    live.innerHTML = JSON.parse(event.data).html;
    for (const s of live.querySelectorAll("details > summary")) {
      if (open.includes(s.textContent)) s.parentElement.open = true;
    }
  });
})();
