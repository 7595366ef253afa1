// hpsmart: the point picker of the report forms, on Leaflet (static/vendor/leaflet).
// Progressive and CSP-friendly: set up from data attributes (templates/intake/_report_fields.html),
// no inline script. Without this file, without Leaflet or without tiles the latitude and
// longitude inputs work on their own; the map only fills them in.
(function () {
  "use strict";

  function number(input) {
    var value = parseFloat(input.value);
    return isFinite(value) ? value : null;
  }

  function setup(box) {
    var lat = document.getElementById(box.dataset.lat);
    var lon = document.getElementById(box.dataset.lon);
    var canvas = box.querySelector("[data-map-canvas]");
    var status = box.querySelector("[data-map-status]");
    if (!window.L || !lat || !lon || !canvas) return;

    canvas.hidden = false;
    // No scroll-wheel zoom: scrolling down the form must not zoom the map.
    var map = L.map(canvas, { scrollWheelZoom: false });
    var tiles = Boolean(box.dataset.tileUrl);
    if (tiles) {
      L.tileLayer(box.dataset.tileUrl, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
      box.querySelector("[data-map-help]").hidden = false;
    } else {
      box.querySelector("[data-map-note]").hidden = false;
    }
    // Hai Phong's area as the intake service checks it; the first ring is the mainland.
    var rings = JSON.parse(box.dataset.outline || "[]");
    var style = { color: "#0b5ea8", weight: 2, fillOpacity: 0.06, interactive: false };
    var outline = rings.map(function (ring) { return L.polygon(ring, style).addTo(map); });
    var city = outline.length ? outline[0].getBounds() : L.latLngBounds([[20.55, 106.10], [21.24, 107.20]]);
    map.fitBounds(city);

    var marker = null;
    function show(latitude, longitude, centre) {
      if (marker) marker.setLatLng([latitude, longitude]);
      else marker = L.marker([latitude, longitude], { keyboard: false }).addTo(map);
      if (!centre) return;
      // With tiles, zoom in on the point; without, keep the city's outline in view with it
      // (a point outside the border is then seen outside it).
      if (tiles) map.setView([latitude, longitude], Math.max(map.getZoom(), 16));
      else map.fitBounds(L.latLngBounds(city.getSouthWest(), city.getNorthEast()).extend([latitude, longitude]), { padding: [24, 24] });
    }
    function set(latitude, longitude) {
      // Six decimals: about 10 cm, more than any phone knows.
      lat.value = latitude.toFixed(6);
      lon.value = longitude.toFixed(6);
      show(latitude, longitude, false);
    }
    function fromInputs() {
      var latitude = number(lat), longitude = number(lon);
      if (latitude === null || longitude === null || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return;
      show(latitude, longitude, true);
    }

    map.on("click", function (event) { set(event.latlng.lat, event.latlng.lng); });
    lat.addEventListener("change", fromInputs);
    lon.addEventListener("change", fromInputs);
    fromInputs();  // a form that came back with a point

    var locate = box.querySelector("[data-map-locate]");
    if (!locate || !navigator.geolocation) return;
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = box.dataset.msgLocating;
      locate.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        locate.disabled = false;
        set(position.coords.latitude, position.coords.longitude);
        show(position.coords.latitude, position.coords.longitude, true);
        status.textContent = box.dataset.msgFound;
      }, function (error) {
        locate.disabled = false;
        status.textContent = error.code === 1 ? box.dataset.msgDenied : box.dataset.msgUnavailable;
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-point-picker]"), setup);
  });
})();
