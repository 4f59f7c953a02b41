// The page image (gr.HTML js_on_load): when a page is shown, scroll its box to the first
// outlined sentence and bring the viewer into the window, so the outline is never below the fold.
const reveal = () => {
  const scroller = element.querySelector('.pv-scroll');
  const box = element.querySelector('.pv-box');
  if (!scroller) return;
  if (box) {
    scroller.scrollTop = Math.max(0, box.offsetTop - scroller.clientHeight / 3);
    scroller.scrollLeft = Math.max(0, box.offsetLeft + box.offsetWidth / 2 - scroller.clientWidth / 2);
  }
  scroller.scrollIntoView({block: 'nearest'});
  element.dataset.revealed = String(Date.now());
};
watch('value', () => {
  const img = element.querySelector('.pv-page img');
  if (!img) return;
  if (img.complete) reveal(); else img.addEventListener('load', reveal, {once: true});
});
