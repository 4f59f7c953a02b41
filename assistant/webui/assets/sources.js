// The sources panel (gr.HTML js_on_load: `element`, `trigger`, `watch`).
// "View page" buttons and [n] links in the chat fire the panel's "pick" event with {turn, n};
// the server looks the citation up in the session's own state (never trusting the page or file
// from the browser). "Copy answer" copies the plain text the server put in the panel.
const pick = (turn, n) => trigger('pick', {turn: turn, n: n});

const copy = async (button) => {
  const text = element.querySelector('textarea.copy-text').value;
  window.__assistantCopied = text;
  try {
    await navigator.clipboard.writeText(text);
  } catch (err) {  // no clipboard API (plain http off loopback): select-and-copy instead
    const t = document.createElement('textarea');
    t.value = text;
    document.body.appendChild(t);
    t.select();
    document.execCommand('copy');
    t.remove();
  }
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = 'Copy answer'; }, 1500);
};

element.addEventListener('click', (e) => {
  const b = e.target.closest('button.view-page');
  if (b) { e.preventDefault(); pick(Number(b.dataset.turn), Number(b.dataset.n)); return; }
  const c = e.target.closest('button.copy-answer');
  if (c) { e.preventDefault(); copy(c); }
});
if (!window.__assistantCiteHook) {
  window.__assistantCiteHook = true;
  document.addEventListener('click', (e) => {
    const a = e.target.closest ? e.target.closest('a.cite') : null;
    if (!a) return;
    const m = /^#src-(\d+)-(\d+)$/.exec(a.getAttribute('href') || '');
    if (!m) return;
    e.preventDefault();
    e.stopPropagation();
    pick(Number(m[1]), Number(m[2]));
  }, true);
}
watch('value', () => {
  const s = element.querySelector('.src.selected');
  const box = element.querySelector('.sources');
  if (s && box) box.scrollTop = s.offsetTop - box.offsetTop - 8;  // inside the panel only
});
