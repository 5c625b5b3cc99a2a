/**
 * Server-Sent Events from baton's /events stream, read with fetch so the API key travels in a
 * header (a browser's EventSource cannot send one). Uses only fetch, ReadableStream and
 * TextDecoder: the same code runs in Node 22+ and in a browser.
 */

export interface ServerEvent {
  /** The event name: "hello" first, then "tasks" (counts by status) and other kinds. */
  event: string;
  /** The data field, parsed as JSON when it is JSON. */
  data: unknown;
}

/**
 * Parses an SSE byte stream into events (the WHATWG rules that baton's stream uses: `event:` and
 * `data:` fields, a blank line ends an event, comment lines start with a colon).
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl = buffer.search(/\r?\n/);
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(buffer[nl] === "\r" ? nl + 2 : nl + 1);
        if (line === "") {
          if (data.length) yield { event, data: parseJson(data.join("\n")) };
          event = "message";
          data = [];
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
        nl = buffer.search(/\r?\n/);
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

/** JSON when the text is JSON, else the text itself. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
