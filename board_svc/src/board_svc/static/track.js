// Live tracking: the board pushes the order's rendered status whenever it changes.
"use strict";
(() => {
  const section = document.getElementById("tracking");
  if (!section) return;
  const source = new EventSource(`/api/orders/${encodeURIComponent(section.dataset.order)}/events`);
  source.addEventListener("tracking", (event) => {
    const data = JSON.parse(event.data);
    section.innerHTML = data.html;
    section.dataset.status = data.status;
    if (data.finished) source.close();
  });
  // The board ends the stream once the order is delivered; do not reconnect then.
  source.addEventListener("error", () => { if (section.dataset.status === "delivered") source.close(); });
})();
