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
    call, // (method, url, body): any other request, answered the same way (gateApi below)
    captions: () => call("GET", captions),
    revisions: () => call("GET", `${captions}/revisions`),
    waveform: () => call("GET", `${asset}/waveform`),

    // A save names the revision it is based on and sends only the captions changed since, by id
    // ([{id, cue | null}], changes.js). {outcome: "saved", answer} (200; `answer.merged_with` names the
    // revisions merged in, and then `answer.cues` is the merged track); "conflict" (409: `conflict` is the
    // server's answer: conflicts, latest_cues, merged); or "refused" (422 or any other failure; `reason`).
    async save(baseRevision, author, changes) {
      const answer = await call("PUT", captions, {base_revision: baseRevision, author, changes});
      if (answer.ok) return {outcome: "saved", answer: answer.body};
      if (answer.status === 409) return {outcome: "conflict", conflict: answer.body};
      return {outcome: "refused", reason: detail(answer)};
    },
    // What restoring revision `number` would change, cue by cue, each naming whose change it would replace.
    compareLatest: (number) => call("GET", `${captions}/revisions/${number}/compare-latest`),
    compare: (from, to) => call("GET", `${captions}/compare?from=${from}&to=${to}`),
    // `ids`: the captions to restore (null: all of them).
    restore: (number, baseRevision, author, ids) => call("POST", `${captions}/revisions/${number}/restore`,
                                                         {base_revision: baseRevision, author, ids}),
    // `preview`: only what it would change; `ids`: import only these captions (null: all of them).
    importFile: (name, content, baseRevision, author, preview = false, ids = null) => call(
      "POST", `${captions}/import`, {name, content, base_revision: baseRevision, author, preview, ids}),
    events: () => call("GET", `${asset}/events`),
    comments: () => call("GET", `${captions}/comments`),
    comment: (cueId, author, text) => call("POST", `${captions}/comments`, {cue_id: cueId, author, text}),
    resolveComment: (id, author) => call("POST", `${captions}/comments/${id}/resolve`, {author}),
    requestChanges: (reviewer, note) => call("POST", `${asset}/request-changes`, {reviewer, note}),
  };
}

// -- the gate (issue #15): flag states, approval with a reason, the no-speech decision, the server's line breaks.
// Built on an api from createApi, so every request carries the CSRF token and answers as {ok, status, body}.
export function gateApi(api, {assetId, language}) {
  const asset = `/api/assets/${assetId}`;
  const captions = `${asset}/captions/${language}`;
  const flag = (key) => `${captions}/flags/${encodeURIComponent(key)}`;
  return {
    flags: () => api.call("GET", `${captions}/flags`), // {flags, decision}
    checkFlag: (key, author) => api.call("POST", `${flag(key)}/check`, {author}),
    reopenFlag: (key, author) => api.call("POST", `${flag(key)}/reopen`, {author}),
    // 422 while open flags or errors remain and no reason is given: body.open_items lists them.
    approve: (reviewer, revision, reason) => api.call("POST", `${asset}/approve`, {
      reviewer, revisions: {[language]: revision}, reason: reason || null,
    }),
    noSpeech: (reviewer, reason) => api.call("POST", `${asset}/no-speech`, {reviewer, reason}),
    // Each text with the line breaks the server's segmenter chooses under the asset's rules.
    layout: (texts) => api.call("POST", `${captions}/layout`, {texts}),
  };
}
