/* The share page's player (#17). Without this script the page still plays: the <video> element has the MP4
   and its captions track, with the browser's own controls. With it:
   - nothing but the poster, the page and hls.js arrive before play: hls.js reads the playlists, and loads
     media only once the viewer presses play (autoStartLoad: false);
   - the first rendition suits the player: capLevelToPlayerSize, at most 2 device pixels per CSS pixel, and
     hls.js's bandwidth estimate (seeded from navigator.connection where the browser tells it);
   - captions are drawn in .captions, sized to the player, above a control bar of our own with a caption
     toggle and a caption size (small, medium, large) remembered on the device;
   - audio description (#21): the "Audio description" switch sets hls.js's audio track to the described
     rendition (the master playlist's TYPE=AUDIO rendition that describes the video); without hls.js, Safari's
     own audio tracks or else the described MP4. The description under the playhead is also written, as text,
     into a polite live region for screen readers. */
(function () {
  "use strict";
  var SIZE_KEY = "share-caption-size", SHOW_KEY = "share-captions-on", AD_KEY = "share-audio-description";
  var video = document.getElementById("player");
  var captions = document.getElementById("captions");
  var controls = document.getElementById("controls");
  var hlsUrl = video.dataset.hls, mp4Url = video.dataset.mp4;
  var hls = null, loading = false;
  var described = {label: video.dataset.describedLabel || "", mp4: video.dataset.describedMp4 || "",
                   on: !!video.dataset.describedLabel && remembered(AD_KEY, "off") === "on"};
  // hls.js picks its first audio rendition by this: the described one for a viewer who switched it on before.
  function audioPreference() { return described.on ? {name: described.label} : undefined; }

  function remembered(key, fallback) {
    try { return window.localStorage.getItem(key) || fallback; } catch (e) { return fallback; }
  }
  function remember(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not remembered */ }
  }

  function useMp4() {
    if (hls) { hls.destroy(); hls = null; }
    video.src = described.on && described.mp4 ? described.mp4 : mp4Url; document.body.dataset.playback = "mp4";
  }

  function startHls() {
    var estimate = 500000;  // hls.js's own default, in bit/s
    var connection = navigator.connection;
    if (connection && connection.downlink) { estimate = Math.max(150000, connection.downlink * 1e6 * 0.7); }
    hls = new Hls({
      autoStartLoad: false, capLevelToPlayerSize: true, maxDevicePixelRatio: 2,
      abrEwmaDefaultEstimate: estimate, maxBufferLength: 20, maxMaxBufferLength: 30, backBufferLength: 30,
      enableWebVTT: false, enableCEA708Captions: false, audioPreference: audioPreference()
    });
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      document.body.dataset.manifest = "parsed";
    });
    hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, function (_e, data) {
      var switched = hls.audioTracks[data.id];
      document.body.dataset.audioTrack = switched ? switched.name : "";
    });
    hls.on(Hls.Events.FRAG_LOADED, function () { document.body.dataset.playback = "hls"; });
    hls.on(Hls.Events.ERROR, function (_e, data) { if (data.fatal) { useMp4(); video.play(); } });
    hls.loadSource(hlsUrl);
    hls.attachMedia(video);
  }

  function beginLoading() {
    if (loading) { return; }
    loading = true;
    if (hls) { hls.startLoad(-1); }
  }

  if (hlsUrl && window.Hls && Hls.isSupported()) {
    startHls();
  } else if (hlsUrl && video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = hlsUrl; document.body.dataset.playback = "native-hls";  // Safari on iOS: its own ABR
  } else {
    document.body.dataset.playback = "mp4";  // the src the page came with
  }
  video.addEventListener("play", beginLoading);

  // -- captions, drawn by us so that they can be sized and kept above the controls
  function trackOf(kind) {
    for (var i = 0; i < video.textTracks.length; i++) {
      if (video.textTracks[i].kind === kind) { return video.textTracks[i]; }
    }
    return null;
  }
  var track = trackOf("captions");
  var showing = remembered(SHOW_KEY, "on") === "on";
  function draw() {
    captions.replaceChildren();
    if (!track || !showing || !track.activeCues) { return; }
    for (var i = 0; i < track.activeCues.length; i++) {
      var line = document.createElement("span");
      line.textContent = track.activeCues[i].text.replace(/<[^>]*>/g, "");
      captions.appendChild(line);
      if (i < track.activeCues.length - 1) { captions.appendChild(document.createElement("br")); }
    }
  }
  if (track) {
    track.mode = "hidden";  // cues still load and change; the browser draws nothing
    track.addEventListener("cuechange", draw);
  }

  // -- the control bar
  function $(name) { return controls.querySelector("[data-control=" + name + "]"); }
  var play = $("play"), seek = $("seek"), time = $("time"), mute = $("mute"), toggle = $("captions");
  var size = $("size"), full = $("fullscreen");
  function clock(s) {
    s = Math.max(0, Math.floor(s || 0));
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }
  function update() {
    play.textContent = video.paused ? "Play" : "Pause";
    play.setAttribute("aria-label", video.paused ? "Play" : "Pause");
    if (isFinite(video.duration)) { seek.max = String(video.duration); }
    seek.value = String(video.currentTime);
    time.textContent = clock(video.currentTime) + " / " + clock(video.duration);
    mute.setAttribute("aria-pressed", String(video.muted));
  }
  function togglePlay() {
    if (video.paused) { beginLoading(); video.play(); } else { video.pause(); }
  }
  play.addEventListener("click", togglePlay);
  video.addEventListener("click", togglePlay);
  seek.addEventListener("input", function () { beginLoading(); video.currentTime = parseFloat(seek.value); });
  mute.addEventListener("click", function () { video.muted = !video.muted; update(); });
  ["play", "pause", "timeupdate", "durationchange", "volumechange"].forEach(function (name) {
    video.addEventListener(name, update);
  });
  function setShowing(on) {
    showing = on; remember(SHOW_KEY, on ? "on" : "off");
    toggle.setAttribute("aria-pressed", String(on));
    toggle.textContent = on ? "Captions on" : "Captions off";
    draw();
  }
  toggle.addEventListener("click", function () { setShowing(!showing); });
  function setSize(value) {
    if (["small", "medium", "large"].indexOf(value) === -1) { value = "medium"; }
    captions.dataset.size = value; size.value = value; remember(SIZE_KEY, value);
  }
  size.addEventListener("change", function () { setSize(size.value); });
  var box = document.getElementById("player-box");
  if (box.requestFullscreen) {
    full.addEventListener("click", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else { box.requestFullscreen(); }
    });
  } else {
    full.hidden = true;  // iPhone Safari: only the video itself can go full screen, without our captions
  }
  if (!track) { toggle.hidden = true; size.parentNode.hidden = true; }
  setSize(remembered(SIZE_KEY, "medium"));
  setShowing(showing);
  video.removeAttribute("controls");
  controls.hidden = false;
  update();

  // -- audio description: the switch, and the text of each description in the live region at its time
  var adToggle = $("descriptions"), live = document.getElementById("description-live");
  function describedIndex() {
    var tracks = hls ? hls.audioTracks : [];
    for (var i = 0; i < tracks.length; i++) {
      var t = tracks[i];
      if (t.name === described.label || /describes-video/.test(t.characteristics || "")) { return i; }
    }
    return -1;
  }
  function mainIndex(skip) {
    var tracks = hls.audioTracks, found = -1;
    for (var i = 0; i < tracks.length; i++) {
      if (i !== skip && (found === -1 || tracks[i].default)) { found = i; }
    }
    return found;
  }
  function nativeTrack(on) {  // Safari playing HLS itself: the described rendition is one of its audioTracks
    var tracks = document.body.dataset.playback === "native-hls" ? video.audioTracks : null;
    if (!tracks || !tracks.length) { return false; }
    var hit = -1;
    for (var i = 0; i < tracks.length; i++) { if (tracks[i].label === described.label) { hit = i; } }
    if (hit === -1) { return false; }
    for (var j = 0; j < tracks.length; j++) { tracks[j].enabled = on ? j === hit : j !== hit; }
    return true;
  }
  function swapSource(url) {  // the same moment of the other file
    var at = video.currentTime, playing = !video.paused;
    if (hls) { hls.destroy(); hls = null; document.body.dataset.playback = "mp4"; }
    if (video.currentSrc === url) { return; }
    video.src = url;
    video.addEventListener("loadedmetadata", function seek() {
      video.removeEventListener("loadedmetadata", seek);
      video.currentTime = at;
      if (playing) { video.play(); }
    });
  }
  function setDescribed(on) {
    described.on = on;
    remember(AD_KEY, on ? "on" : "off");
    adToggle.setAttribute("aria-pressed", String(on));
    if (hls && describedIndex() !== -1) {
      var index = on ? describedIndex() : mainIndex(describedIndex());
      if (hls.audioTrack !== index) { hls.audioTrack = index; }
    } else if (hls && document.body.dataset.manifest !== "parsed") {
      hls.config.audioPreference = audioPreference();  // the playlists are not read yet
    } else if (!nativeTrack(on) && described.mp4) {
      var plain = document.body.dataset.playback === "native-hls" ? hlsUrl : mp4Url;
      swapSource(on ? described.mp4 : plain);
    }
  }
  if (adToggle) {
    adToggle.addEventListener("click", function () { beginLoading(); setDescribed(!described.on); });
    if (described.on) { setDescribed(true); }
  }
  var descriptions = trackOf("descriptions");
  if (descriptions && live) {
    descriptions.mode = "hidden";  // its cues change at their times; the browser neither draws nor speaks them
    descriptions.addEventListener("cuechange", function () {
      var cues = descriptions.activeCues, said = [];
      for (var i = 0; cues && i < cues.length; i++) { said.push(cues[i].text.replace(/<[^>]*>/g, "")); }
      if (said.length) { live.textContent = said.join(" "); }
    });
  }

  // -- the transcript: a line starts the video there; the search box filters lines
  var items = Array.prototype.slice.call(document.querySelectorAll("ol.transcript li"));
  items.forEach(function (li) {
    li.querySelector("a").addEventListener("click", function (event) {
      event.preventDefault(); beginLoading(); video.currentTime = parseFloat(li.dataset.start); video.play();
    });
  });
  var search = document.getElementById("search");
  if (search) {
    search.addEventListener("input", function () {
      var term = search.value.trim().toLowerCase(), shown = 0;
      items.forEach(function (li) {
        var hit = !term || li.textContent.toLowerCase().indexOf(term) !== -1;
        li.hidden = !hit; if (hit) { shown++; }
      });
      document.getElementById("search-status").textContent =
        term ? shown + " of " + items.length + " lines match" : "";
    });
  }
})();
