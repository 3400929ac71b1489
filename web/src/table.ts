import { h } from "./dom.js";

/**
 * A sortable, filterable table: click a header to sort by it (again to reverse); the filter box keeps rows whose
 * text matches every word typed. Rows are links to `href(row)` when given, and can be navigated with the keyboard
 * (keys.ts marks them `data-nav`). With `selectable`, each row gets a checkbox and `onSelect` hears the selection.
 */

export interface Column<T> {
  label: string;
  /** The value sorted on; strings sort by name, numbers numerically, null last. */
  sort?: (row: T) => string | number | null;
  cell: (row: T) => Node | string;
  numeric?: boolean;
  title?: string;
}

export interface TableOptions<T> {
  columns: Column<T>[];
  rows: T[];
  /** The text the filter matches against. */
  text: (row: T) => string;
  href?: (row: T) => string;
  /** Index of the column sorted on at first, and its direction. */
  sortBy?: { column: number; descending?: boolean };
  selectable?: { key: (row: T) => string; onSelect: (keys: string[]) => void };
  placeholder?: string;
  caption?: string;
}

function compare(a: string | number | null, b: string | number | null): number {
  if (a === null || (typeof a === "number" && Number.isNaN(a))) return b === null ? 0 : 1;
  if (b === null || (typeof b === "number" && Number.isNaN(b))) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

export function dataTable<T>(o: TableOptions<T>): HTMLElement {
  let sortColumn = o.sortBy?.column ?? -1;
  let descending = o.sortBy?.descending ?? false;
  let filter: string[] = [];
  const selected = new Set<string>();
  const tbody = h("tbody");
  const count = h("span", { class: "muted count" });
  const headCells = o.columns.map((c, i) =>
    h(
      "th",
      { class: c.numeric ? "num" : null, title: c.title, scope: "col", "aria-sort": "none" },
      c.sort ? h("button", { type: "button", class: "sort", onclick: () => sortOn(i) }, c.label) : c.label,
    ),
  );

  function sortOn(i: number): void {
    descending = sortColumn === i ? !descending : false;
    sortColumn = i;
    render();
  }

  function render(): void {
    const column = o.columns[sortColumn];
    let rows = o.rows.filter((r) => {
      const t = o.text(r).toLowerCase();
      return filter.every((w) => t.includes(w));
    });
    if (column?.sort) {
      const key = column.sort;
      rows = [...rows].sort((a, b) => compare(key(a), key(b)) * (descending ? -1 : 1));
    }
    headCells.forEach((th, i) => th.setAttribute("aria-sort", i === sortColumn ? (descending ? "descending" : "ascending") : "none"));
    tbody.replaceChildren(...rows.map(row));
    count.textContent = `${rows.length} of ${o.rows.length}`;
  }

  function row(r: T): HTMLElement {
    const cells = o.columns.map((c) => h("td", { class: c.numeric ? "num" : null }, c.cell(r)));
    if (o.selectable) {
      const key = o.selectable.key(r);
      const box = h("input", { type: "checkbox", "aria-label": `select ${key}`, checked: selected.has(key) });
      box.addEventListener("change", () => {
        if (box.checked) selected.add(key);
        else selected.delete(key);
        o.selectable!.onSelect([...selected]);
      });
      cells.unshift(h("td", { class: "select" }, box));
    }
    const tr = h("tr", { "data-nav": "", "data-href": o.href ? o.href(r) : null }, cells);
    if (o.href) tr.classList.add("link-row");
    return tr;
  }

  const input = h("input", { type: "search", class: "filter", placeholder: o.placeholder ?? "filter…", "aria-label": "filter rows" });
  input.addEventListener("input", () => {
    filter = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    render();
  });
  render();
  const head = h("tr", {}, o.selectable ? h("th", { class: "select" }, "") : null, headCells);
  return h(
    "div",
    { class: "table-box" },
    h("div", { class: "table-tools" }, input, count),
    h("div", { class: "table-scroll" }, h("table", { class: "data" }, o.caption ? h("caption", {}, o.caption) : null, h("thead", {}, head), tbody)),
  );
}
