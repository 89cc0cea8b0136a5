/* The share page's player (#17). Without this script the page still plays: the <video> element has the MP4
   and its captions track, with the browser's own controls. With it:
   - nothing but the poster, the page and hls.js arrive before play: hls.js reads the playlists, and loads
     media only once the viewer presses play (autoStartLoad: false);
   - the first rendition suits the player: capLevelToPlayerSize, at most 2 device pixels per CSS pixel, and
     hls.js's bandwidth estimate (seeded from navigator.connection where the browser tells it);
   - captions are drawn in .captions, sized to the player, above a control bar of our own with a caption
     toggle and a caption size (small, medium, large) remembered on the device. */
(function () {
  "use strict";
  var SIZE_KEY = "share-caption-size", SHOW_KEY = "share-captions-on";
  var video = document.getElementById("player");
  var captions = document.getElementById("captions");
  var controls = document.getElementById("controls");
  var hlsUrl = video.dataset.hls, mp4Url = video.dataset.mp4;
  var hls = null, loading = false;

  function remembered(key, fallback) {
    try { return window.localStorage.getItem(key) || fallback; } catch (e) { return fallback; }
  }
  function remember(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not remembered */ }
  }

  function useMp4() {
    if (hls) { hls.destroy(); hls = null; }
    video.src = mp4Url; document.body.dataset.playback = "mp4";
  }

  function startHls() {
    var estimate = 500000;  // hls.js's own default, in bit/s
    var connection = navigator.connection;
    if (connection && connection.downlink) { estimate = Math.max(150000, connection.downlink * 1e6 * 0.7); }
    hls = new Hls({
      autoStartLoad: false, capLevelToPlayerSize: true, maxDevicePixelRatio: 2,
      abrEwmaDefaultEstimate: estimate, maxBufferLength: 20, maxMaxBufferLength: 30, backBufferLength: 30,
      enableWebVTT: false, enableCEA708Captions: false
    });
    hls.on(Hls.Events.MANIFEST_PARSED, function () { document.body.dataset.manifest = "parsed"; });
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
  var track = video.textTracks.length ? video.textTracks[0] : null;
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
