// The review app's JSON API as the editor uses it (documented at /docs). Every request carries the page's CSRF
// token (pipeline/web/security.py), and every answer comes back as {ok, status, body}, never as an exception:
// a server that cannot be reached is status 0.

// The server's reason for refusing, in one line: its `detail`, or each field error of a 422 from validation.
export function detail(answer) {
  const d = answer.body.detail;
  if (Array.isArray(d)) return d.map((e) => `${e.loc.slice(1).join(" ")}: ${e.msg}`).join("; ");
  return d || `the server answered ${answer.status}`;
}

export function createApi({assetId, language, csrf, fetch: send = window.fetch.bind(window)}) {
  const asset = `/api/assets/${assetId}`;
  const captions = `${asset}/captions/${language}`;

  async function call(method, url, body) {
    let response;
    try {
      response = await send(url, {
        method, headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      return {ok: false, status: 0, body: {detail: "the review app cannot be reached; is it still running?"}};
    }
    let answer = {};
    try { answer = await response.json(); } catch { /* an empty or non-JSON body */ }
    return {ok: response.ok, status: response.status, body: answer};
  }

  return {
    captions: () => call("GET", captions),
    revisions: () => call("GET", `${captions}/revisions`),
    waveform: () => call("GET", `${asset}/waveform`),

    // A save names the revision it is based on. {outcome: "saved", revision, problems}; "conflict" (409: someone
    // saved a newer revision; `conflict` is the server's answer, with current_revision and author); or
    // "refused" (422 or any other failure; `reason` says why).
    async save(baseRevision, author, cues) {
      const answer = await call("PUT", captions, {base_revision: baseRevision, author, cues});
      if (answer.ok) return {outcome: "saved", revision: answer.body.revision.number, problems: answer.body.problems};
      if (answer.status === 409) return {outcome: "conflict", conflict: answer.body};
      return {outcome: "refused", reason: detail(answer)};
    },
    restore: (number, baseRevision, author) => call("POST", `${captions}/revisions/${number}/restore`,
                                                    {base_revision: baseRevision, author}),
    importFile: (name, content, baseRevision, author) => call("POST", `${captions}/import`,
                                                              {name, content, base_revision: baseRevision, author}),
    approve: (reviewer, revision, overrideReason) => call("POST", `${asset}/approve`, {
      reviewer, revisions: {[language]: revision}, override_reason: overrideReason || null,
    }),
    requestChanges: (reviewer, note) => call("POST", `${asset}/request-changes`, {reviewer, note}),
  };
}
