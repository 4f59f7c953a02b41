// Questions wait here, in the page, so none is lost while an answer is pending (gr.HTML js_on_load).
// Ask / Enter take the box's text and empty the box in the same DOM event (capture phase, before
// Gradio sees it), so text typed right after cannot be read twice or wiped by a late reply; the
// question is listed below the chat until its turn, and the queue feeds the hidden
// #next-question box and #run-button one question at a time, in order. Gradio's own submit/click
// handlers (ASK_JS) remain as the fallback and buffer in window.__assistantEarly until this loads.
const waiting = [];
let current = null;

const render = () => {
  const busy = element.querySelector('.busy');
  busy.classList.toggle('on', current !== null);
  element.querySelector('.busy-text').textContent = current === null ? '' :
    'Answering: ' + current + (waiting.length ? ` (${waiting.length} more waiting)` : '');
  element.querySelector('ol.waiting').replaceChildren(...waiting.map((q) => {
    const li = document.createElement('li');
    li.textContent = q;  // text, never markup
    return li;
  }));
  document.body.classList.toggle('assistant-busy', current !== null);
};

const next = () => {
  if (current !== null || !waiting.length) return;
  const box = document.querySelector('#next-question textarea');
  const run = document.querySelector('#run-button');
  if (!box || !run) { setTimeout(next, 100); return; }
  current = waiting.shift();
  box.value = current;
  box.dispatchEvent(new Event('input', {bubbles: true}));
  render();
  setTimeout(() => run.click(), 0);
};

window.__assistantAsk = (q) => {
  q = (q || '').trim();
  if (q) { waiting.push(q); render(); next(); }
};
const takeBox = () => {
  const box = document.querySelector('#question textarea');
  if (!box) return;
  const q = box.value;
  box.value = '';
  box.dispatchEvent(new Event('input', {bubbles: true}));
  window.__assistantAsk(q);
};

if (!window.__assistantKeys) {  // once per page, even if this component is mounted again
  window.__assistantKeys = true;
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || !e.target.closest('#question textarea')) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    takeBox();
  }, true);
  document.addEventListener('click', (e) => {
    if (!e.target.closest('#ask-button')) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    takeBox();
  }, true);
}
(window.__assistantEarly || []).splice(0).forEach((q) => window.__assistantAsk(q));

window.__assistantDone = () => { current = null; render(); next(); };
window.__assistantPending = () => waiting.length + (current === null ? 0 : 1);
