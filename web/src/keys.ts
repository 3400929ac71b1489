/**
 * Keyboard navigation, the same on every page: j/k or ↓/↑ move the highlight among the page's `[data-nav]` items
 * (table rows, trajectory steps), Enter opens the highlighted item's `data-href` (or clicks its first link), "e"
 * toggles its details, "x" ticks its checkbox (jobs to compare), [ and ] go to the previous/next item the page names (trials), Esc goes up a level. Keys are
 * ignored while typing in a text field.
 */

export interface PageKeys {
  previous?: string | null;
  next?: string | null;
  up?: string | null;
}

let pageKeys: PageKeys = {};
let current = -1;

export function setPageKeys(keys: PageKeys, initial = -1): void {
  pageKeys = keys;
  current = initial;
  if (initial >= 0) highlight(initial, false);
}

function items(): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>("#app [data-nav]")];
}

function highlight(i: number, scroll = true): void {
  const list = items();
  if (list.length === 0) return;
  current = Math.max(0, Math.min(list.length - 1, i));
  list.forEach((el, k) => el.classList.toggle("current", k === current));
  const el = list[current]!;
  if (scroll) el.scrollIntoView({ block: "nearest" });
  el.dispatchEvent(new CustomEvent("navfocus", { bubbles: true }));
}

function open(el: HTMLElement): void {
  const href = el.dataset.href;
  if (href) location.hash = href.replace(/^#/, "");
  else el.querySelector<HTMLAnchorElement>("a")?.click();
}

/** A text field has the focus (a checkbox or a button does not count: the keys still move). */
function isTyping(el: HTMLElement): boolean {
  if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
  return el instanceof HTMLInputElement && !["checkbox", "radio", "button", "submit"].includes(el.type);
}

function onKey(e: KeyboardEvent): void {
  const target = e.target as HTMLElement | null;
  if (target && isTyping(target)) return;
  if (e.metaKey || e.ctrlKey || e.altKey) return;
  const list = items();
  switch (e.key) {
    case "j":
    case "ArrowDown":
      if (list.length === 0) return;
      highlight(current + 1);
      break;
    case "k":
    case "ArrowUp":
      if (list.length === 0) return;
      highlight(current - 1);
      break;
    case "Enter":
      {
        const el = list[current];
        if (!el) return;
        open(el);
      }
      break;
    case "e": {
      const details = list[current]?.querySelector("details");
      if (details) details.open = !details.open;
      break;
    }
    case "x":
      list[current]?.querySelector<HTMLInputElement>("input[type=checkbox]")?.click();
      break;
    case "[":
      if (pageKeys.previous) location.hash = pageKeys.previous.replace(/^#/, "");
      break;
    case "]":
      if (pageKeys.next) location.hash = pageKeys.next.replace(/^#/, "");
      break;
    case "Escape":
      if (pageKeys.up) location.hash = pageKeys.up.replace(/^#/, "");
      break;
    default:
      return;
  }
  e.preventDefault();
}

/** Clicking a row with a data-href opens it too (links inside the row keep their own target). */
function onClick(e: MouseEvent): void {
  const target = e.target as HTMLElement;
  if (target.closest("a, button, input, summary")) return;
  const row = target.closest<HTMLElement>("#app [data-href]");
  if (row) open(row);
}

export function installKeys(): void {
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onClick);
}
