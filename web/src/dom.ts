/** Building DOM nodes without HTML strings: every text goes in as a text node, so nothing from a trial is markup. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** An SVG chart the server drew (stats charts of src/ui/html, every label escaped there). */
export function serverSvg(markup: string, title: string): HTMLElement {
  const figure = h("figure", { class: "chart-box" }, h("figcaption", {}, title));
  const holder = document.createElement("div");
  holder.className = "chart-wrap";
  holder.innerHTML = markup;
  const svg = holder.querySelector("svg");
  if (svg) {
    svg.classList.add("chart");
    // Scale rather than crop in a narrow column: the line charts come without a viewBox.
    const w = svg.getAttribute("width");
    const hgt = svg.getAttribute("height");
    if (!svg.hasAttribute("viewBox") && w && hgt) svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
    svg.style.maxWidth = `${w ?? 600}px`;
  }
  figure.appendChild(holder);
  return figure;
}

export function section(title: string, ...children: (Child | Child[])[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** A long text shown cut to `limit` characters, with a button to show all of it. */
export function expandableText(text: string, limit: number, cls = "pre"): HTMLElement {
  const pre = h("pre", { class: cls });
  if (text.length <= limit) {
    pre.textContent = text;
    return pre;
  }
  pre.textContent = text.slice(0, limit);
  const more = h("button", { class: "expand", type: "button" }, `show all (${text.length.toLocaleString()} characters)`);
  more.addEventListener("click", () => {
    pre.textContent = text;
    more.remove();
  });
  return h("div", { class: "expandable" }, pre, more);
}

export function keyValues(rows: [string, Child | Child[]][]): HTMLElement {
  return h("dl", { class: "kv" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, ...(Array.isArray(v) ? v : [v]))]));
}

/** Replaces an element's children (null and false children are skipped). */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}
