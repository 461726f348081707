// Progressive enhancement for the administration: the page works without it.
// Copy buttons and the poster's print button appear only when they can work.
document.querySelectorAll("[data-copy]").forEach((button) => {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById("copy-status");
  if (!field || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      if (status) status.textContent = button.dataset.copied || "URLをコピーしました。";
    } catch (e) {
      field.select();
      if (status) status.textContent = "コピーできませんでした。選択しましたので、手動でコピーしてください。";
    }
  });
});
const print = document.getElementById("print-poster");
if (print) {
  print.hidden = false;
  print.addEventListener("click", () => window.print());
}
