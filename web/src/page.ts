import { h, fill } from "./dom.js";
import { href } from "./routes.js";

/** What a page gets: where to draw, how to set the breadcrumbs, and a signal that fires when the page is left. */
export interface PageContext {
  main: HTMLElement;
  signal: AbortSignal;
  crumbs(items: { label: string; href?: string }[]): void;
}

export function setCrumbs(nav: HTMLElement, items: { label: string; href?: string }[]): void {
  const all = [{ label: "Jobs", href: href.jobs() }, ...items];
  fill(nav, 
    ...all.flatMap((c, i) => [i > 0 ? h("span", { class: "sep" }, "/") : null, c.href && i < all.length - 1 ? h("a", { href: c.href }, c.label) : h("span", { class: "here" }, c.label)]),
  );
  document.title = `${all.at(-1)!.label} · tmax view`;
}

/** The last component of a view path. */
export const baseName = (p: string): string => p.slice(p.lastIndexOf("/") + 1);

export const link = (to: string, label: string, cls?: string): HTMLAnchorElement => h("a", { href: to, class: cls }, label);
