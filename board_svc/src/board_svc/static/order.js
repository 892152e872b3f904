// The order form: sends the order as JSON through the board, then shows order_svc's answer:
// each field's error beside its field, a decline and an outage each in its own words.
"use strict";
(() => {
  const form = document.getElementById("order-form");
  if (!form) return;
  const outcome = document.getElementById("outcome");
  const submit = document.getElementById("submit");
  const value = (name) => form.elements[name].value.trim();
  const optional = (name) => value(name) || null;

  function order() {
    const items = [];
    for (const row of form.querySelectorAll(".pizza")) {
      const id = row.dataset.pizza;
      const quantity = Number.parseInt(form.elements[`qty-${id}`].value, 10);
      if (quantity !== 0) {
        items.push({ pizza_id: id, size: form.elements[`size-${id}`].value,
                     quantity: Number.isNaN(quantity) ? form.elements[`qty-${id}`].value : quantity });
      }
    }
    return {
      order: {
        customer: { name: value("customer.name"), phone: value("customer.phone"), email: optional("customer.email") },
        delivery_address: { street: value("delivery_address.street"), postal_code: value("delivery_address.postal_code"),
                            city: value("delivery_address.city"), instructions: optional("delivery_address.instructions") },
        items,
        payment: { card_number: value("payment.card_number") },
      },
      pizzas: items.map((item) => item.pizza_id),
    };
  }

  function clearErrors() {
    for (const p of form.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  }

  // "items[1].quantity" names the second pizza sent; "customer.name" names its input.
  function showError(field, message, pizzas) {
    const item = /^items\[(\d+)\]\.?(\w*)/.exec(field);
    let slot = document.getElementById(`err-${field}`);
    let input = form.elements[field];
    if (item) {
      const id = pizzas[Number(item[1])];
      slot = document.getElementById(`err-item-${id}`);
      input = form.elements[`${item[2] === "size" ? "size" : "qty"}-${id}`];
    } else if (field === "items" || !slot) {
      slot = document.getElementById("err-items");
    }
    slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
    slot.hidden = false;
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    return input;
  }

  function alertBox(kind, title, detail) {
    outcome.replaceChildren();
    const box = document.createElement("div");
    box.className = `alert alert-${kind}`;
    box.id = `outcome-${kind}`;
    box.setAttribute("role", "alert");
    const h = document.createElement("h2");
    h.textContent = title;
    const p = document.createElement("p");
    p.textContent = detail;
    box.append(h, p);
    outcome.append(box);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const { order: body, pizzas } = order();
    submit.disabled = true;
    outcome.textContent = form.dataset.sending;
    try {
      const answer = await fetch("/api/orders", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
        body: JSON.stringify(body),
      });
      const data = await answer.json();
      if (answer.status === 201) {
        const trace = data.trace_id ? `?trace=${encodeURIComponent(data.trace_id)}` : "";
        window.location.assign(`/track/${encodeURIComponent(data.order_id)}${trace}`);
        return;
      }
      if (answer.status === 422 && Array.isArray(data.errors)) {
        alertBox("error", data.title, form.dataset.invalid);
        let first = null;
        for (const error of data.errors) {
          const input = showError(error.field, error.message, pizzas);
          first = first || input;
        }
        if (first && first.focus) first.focus();
      } else if (answer.status === 402) {
        alertBox("declined", data.title, data.detail);
      } else if (answer.status === 503) {
        alertBox("unavailable", data.title, data.detail);
      } else {
        alertBox("error", data.title || String(answer.status), data.detail || "");
      }
    } catch (error) {
      alertBox("error", "Error", String(error));
    } finally {
      submit.disabled = false;
    }
  });
})();
