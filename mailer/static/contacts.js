// Progressive enhancement of the journalists table: a "select all on this page" checkbox.
// The page works without it (tick boxes one by one, or "Add all matching").
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  const form = document.getElementById("contacts-form");
  if (!all || !form) return;
  const boxes = () => form.querySelectorAll('input[name="contact_ids"]');
  all.hidden = false;
  all.addEventListener("change", () => {
    boxes().forEach((box) => { box.checked = all.checked; });
  });
  form.addEventListener("change", (event) => {
    if (event.target.name !== "contact_ids") return;
    const list = Array.from(boxes());
    all.checked = list.every((box) => box.checked);
    all.indeterminate = !all.checked && list.some((box) => box.checked);
  });
});
