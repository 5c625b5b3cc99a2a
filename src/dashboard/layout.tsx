/**
 * The page frame and small shared pieces. Pages are plain server-rendered HTML; the page script
 * (the ES module /assets/<version>/baton.js and the modules it imports, same origin, no inline
 * code) adds live updates and calls the JSON API for actions, so a Content-Security-Policy of
 * script-src 'self' holds.
 */
import type { Child, FC } from "hono/jsx";
import type { TaskStatus } from "../db/types.js";
import { fmtAge, fmtTime, iso } from "./format.js";

export const NAV = [
  { href: "/", label: "Overview", key: "overview" },
  { href: "/tasks", label: "Tasks", key: "tasks" },
  { href: "/schedules", label: "Schedules", key: "schedules" },
  { href: "/queues", label: "Queues", key: "queues" },
  { href: "/task-types", label: "Task types", key: "task-types" },
  { href: "/instances", label: "Instances", key: "instances" },
  { href: "/settings", label: "Settings", key: "settings" },
] as const;

export type PageKey = (typeof NAV)[number]["key"] | "task";

export interface PageInfo {
  title: string;
  page: PageKey;
  instanceId: string;
  /** URLs of the versioned static assets. */
  assets: { css: string; js: string };
}

export const Layout: FC<PageInfo & { children?: Child }> = ({ title, page, instanceId, assets, children }) => {
  const current = page === "task" ? "tasks" : page;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · baton`}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={assets.css} />
        <script type="module" src={assets.js} />
      </head>
      <body data-page={page}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            baton
          </a>
          <nav aria-label="Main">
            <ul>
              {NAV.map((n) => (
                <li>
                  <a href={n.href} aria-current={n.key === current ? "page" : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <p class="conn">
            <span id="live-state" class="live-state" data-state="connecting">
              connecting…
            </span>{" "}
            <span class="muted">instance {instanceId}</span>
          </p>
        </header>
        <main id="main" tabindex={-1}>
          <h1>{title}</h1>
          {children}
        </main>
        <output id="toast" class="toast" aria-live="polite" />
      </body>
    </html>
  );
};

export const StatusBadge: FC<{ status: TaskStatus | string }> = ({ status }) => <span class={`badge s-${status}`}>{status}</span>;

/** A timestamp: UTC text, localised by the page script; `age` adds "(5 s ago)". */
export const Time: FC<{ at: Date | string | null | undefined; age?: boolean }> = ({ at, age }) => {
  const s = iso(at);
  if (!s) return <span class="muted">–</span>;
  return (
    <time datetime={s} data-local={age ? "age" : "time"}>
      {age ? fmtAge(Date.now() - Date.parse(s)) : fmtTime(s)}
    </time>
  );
};

/** An empty-state row for a table. */
export const EmptyRow: FC<{ cols: number; children?: Child }> = ({ cols, children }) => (
  <tr>
    <td colspan={cols} class="empty">
      {children}
    </td>
  </tr>
);

/** An age measured by the database clock ("4 s ago"); the page script keeps it ticking. */
export const Age: FC<{ ms: number }> = ({ ms }) => (
  <span class="age" data-age-ms={String(Math.max(0, Math.round(ms)))}>
    {fmtAge(ms)}
  </span>
);
