// The look-up page: finds a value in the build's sharded index (lookup/meta.json and one
// shard under lookup/), and says which feeds list it, what each task did with it and why.
// Every text from the index reaches the page through textContent, never as markup.
(function () {
  "use strict";

  var form = document.getElementById("lookup-form");
  var input = document.getElementById("q");
  var answer = document.getElementById("answer");
  var metaPromise = null;
  var shards = {};

  var VERDICTS = {
    selected: "selected: in the outputs below",
    expired: "left out: its score is below the threshold",
    warninglisted: "left out: a warning list matches it",
    reserved: "left out: a special-purpose address range",
    unscored: "left out: no decay model scores its type"
  };

  function loadJson(path) {
    return fetch(path).then(function (response) {
      if (response.status === 404) {
        return null;
      }
      if (!response.ok) {
        throw new Error(path + ": HTTP " + response.status);
      }
      return response.json();
    });
  }

  function meta() {
    if (!metaPromise) {
      metaPromise = loadJson("lookup/meta.json").then(function (m) {
        if (!m) {
          throw new Error("this site has no look-up index (lookup/meta.json)");
        }
        return m;
      });
    }
    return metaPromise;
  }

  // FNV-1a over the UTF-8 bytes, then MurmurHash3's finalizer: the hash the build names
  // the shards by (src/export/lookup_index.rs).
  function hash32(text) {
    var bytes = new TextEncoder().encode(text);
    var h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      h ^= bytes[i];
      h = Math.imul(h, 0x01000193);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  function shardPath(value, digits) {
    var shard = hash32(value) >>> (32 - 4 * digits);
    var hex = shard.toString(16);
    while (hex.length < digits) {
      hex = "0" + hex;
    }
    var name = hex.length <= 2 ? hex : hex.slice(0, 2) + "/" + hex.slice(2);
    return "lookup/" + name + ".json";
  }

  function shard(value, digits) {
    var path = shardPath(value, digits);
    if (!shards[path]) {
      shards[path] = loadJson(path).then(function (rows) {
        return rows || {};
      });
    }
    return shards[path];
  }

  function find(value, m) {
    return shard(value, m.digits).then(function (rows) {
      return Object.prototype.hasOwnProperty.call(rows, value) ? rows[value] : null;
    });
  }

  // The host of a URL in canonical form, by the browser's URL parser (lower case, punycode,
  // canonical IP addresses), or null.
  function canonicalHost(host) {
    try {
      var bracketed = host.indexOf(":") >= 0 && host.charAt(0) !== "[" ? "[" + host + "]" : host;
      var parsed = new URL("http://" + bracketed + "/");
      var name = parsed.hostname;
      return name.charAt(0) === "[" ? name.slice(1, -1) : name;
    } catch (e) {
      return null;
    }
  }

  // The networks of the index's prefix lengths that hold an address, as feedsmith writes
  // them (`198.51.100.0/24`, `2001:db8::/32`), longest prefix first; none for a value that is
  // not a single address.
  function networks(value, m) {
    var out = [];
    var v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(value);
    if (v4) {
      var n = ((+v4[1] << 24) >>> 0) + (+v4[2] << 16) + (+v4[3] << 8) + (+v4[4]);
      (m.v4_prefixes || []).forEach(function (p) {
        var mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
        var net = (n & mask) >>> 0;
        out.push([net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join(".") + "/" + p);
      });
      return out;
    }
    if (value.indexOf(":") < 0 || value.indexOf("/") >= 0 || typeof BigInt === "undefined") {
      return out;
    }
    var halves = value.split("::");
    var head = halves[0] ? halves[0].split(":") : [];
    var tail = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
    if (halves.length > 2 || tail.concat(head).some(function (h) { return !/^[0-9a-f]{1,4}$/.test(h); })) {
      return out;
    }
    var groups = head.concat(new Array(8 - head.length - tail.length).fill("0"), tail);
    if (groups.length !== 8) {
      return out;
    }
    var whole = groups.reduce(function (acc, h) { return (acc << BigInt(16)) + BigInt(parseInt(h, 16)); }, BigInt(0));
    (m.v6_prefixes || []).forEach(function (p) {
      var bits = BigInt(128 - p);
      var net = (whole >> bits) << bits;
      var parts = [];
      for (var i = 7; i >= 0; i--) {
        parts.push(((net >> BigInt(16 * i)) & BigInt(0xffff)).toString(16));
      }
      out.push((canonicalHost(parts.join(":")) || parts.join(":")) + "/" + p);
    });
    return out;
  }

  // The forms the build may have stored the query in, most likely first: refanged, then
  // canonical as feedsmith writes each family.
  function candidates(raw) {
    var v = raw.trim()
      .replace(/\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)/gi, ".")
      .replace(/\[:\]/g, ":")
      .replace(/\[\/\]/g, "/")
      .replace(/\[@\]|\[at\]/gi, "@")
      .replace(/^hxxp/i, "http")
      .replace(/^fxp/i, "ftp");
    var out = [];
    function add(x) {
      if (x && out.indexOf(x) < 0) {
        out.push(x);
      }
    }
    var url = /^([a-z][a-z0-9+.-]*):\/\/([^\/?#]*)(.*)$/i.exec(v);
    if (url) {
      var auth = url[2];
      var at = auth.lastIndexOf("@");
      var user = at >= 0 ? auth.slice(0, at + 1) : "";
      var hostPort = at >= 0 ? auth.slice(at + 1) : auth;
      var port = "";
      var hostMatch = /^\[([^\]]+)\](:\d+)?$/.exec(hostPort) || /^([^:]*)(:\d+)?$/.exec(hostPort);
      if (hostMatch) {
        hostPort = hostMatch[1];
        port = hostMatch[2] || "";
      }
      var host = canonicalHost(hostPort);
      var shownHost = host && host.indexOf(":") >= 0 ? "[" + host + "]" : host;
      add(url[1].toLowerCase() + "://" + user + (shownHost || hostPort.toLowerCase()) + port + url[3]);
      add(v);
      return { values: out, related: host ? [host] : [] };
    }
    var lower = v.toLowerCase().replace(/\.$/, "");
    var v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})((\/\d{1,2})|:(\d{1,5}))?$/.exec(lower);
    if (v4) {
      var address = [v4[1], v4[2], v4[3], v4[4]].map(function (n) { return String(parseInt(n, 10)); }).join(".");
      if (v4[7]) {
        add(address + "|" + parseInt(v4[7], 10));
        add(address);
      } else {
        add(address + (v4[5] || ""));
      }
      add(lower);
      return { values: out, related: [] };
    }
    var v6 = /^\[?([0-9a-f:.]+)\]?(\/\d{1,3})?$/.exec(lower);
    if (v6 && v6[1].indexOf(":") >= 0) {
      add((canonicalHost(v6[1]) || v6[1]) + (v6[2] || ""));
      add(lower);
      return { values: out, related: [] };
    }
    add(lower);
    add(v);
    var related = [];
    if (/^[^\s\/@|]+\.[^\s\/@|]+$/.test(lower)) {
      var name = canonicalHost(lower);
      add(name);
      var labels = (name || lower).split(".");
      for (var i = 1; i < labels.length - 1; i++) {
        related.push(labels.slice(i).join("."));
      }
    }
    return { values: out, related: related };
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function date(unix) {
    return new Date(unix * 1000).toISOString().replace(".000Z", "Z");
  }

  function link(href, text) {
    return el("a", { href: href }, [text]);
  }

  function outputHref(output) {
    if (output.format === "misp-feed") {
      return output.path + "/manifest.json";
    }
    if (output.format === "suricata") {
      return output.path + "/feedsmith.rules";
    }
    return output.path;
  }

  function table(caption, heads, rows) {
    var head = el("tr", {}, heads.map(function (h) { return el("th", { scope: "col" }, [h]); }));
    return el("table", {}, [el("caption", {}, [caption]), el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  function renderRow(value, row, m) {
    var part = el("div", { "class": "lookup-row" });
    var types = [];
    row.l.forEach(function (l) {
      if (types.indexOf(m.types[l[0]]) < 0) {
        types.push(m.types[l[0]]);
      }
    });
    row.t.forEach(function (t) {
      if (types.indexOf(m.types[t[1]]) < 0) {
        types.push(m.types[t[1]]);
      }
    });
    part.appendChild(el("h2", {}, [el("code", {}, [value])]));
    part.appendChild(el("p", {}, ["Type: " + types.join(", ")]));
    if (row.l.length) {
      part.appendChild(table("Feeds that list it", ["Feed", "Type", "First seen", "Last seen"],
        row.l.map(function (l) {
          var feed = m.feeds[l[1]];
          return el("tr", { "class": "feed", "data-feed": feed.id }, [
            el("td", {}, [link("feeds/" + encodeURIComponent(feed.id) + ".html", feed.name)]),
            el("td", {}, [m.types[l[0]]]),
            el("td", {}, [l[2] === null ? "unknown" : date(m.now_unix - l[2])]),
            el("td", {}, [l[3] === null ? "unknown" : date(m.now_unix - l[3])])
          ]);
        })));
    } else {
      part.appendChild(el("p", {}, ["No feed lists this value itself; the tasks below took it from a value that holds it (an address with a port, say)."]));
    }
    if (row.t.length) {
      part.appendChild(table("What each task did with it",
        ["Task", "As type", "Verdict", "Score", "Model", "Expires", "Outputs that hold it", "Warning lists checked", "From feeds"],
        row.t.map(function (t) {
          var task = m.tasks[t[0]];
          var model = t[4] === null ? null : m.models[t[4]];
          var attrs = { "data-task": task.id, "data-type": m.types[t[1]], "data-verdict": t[2] };
          if (t[3] !== null) {
            attrs["data-score"] = String(t[3]);
          }
          var outputs = el("td", {}, []);
          t[6].forEach(function (o, i) {
            if (i > 0) {
              outputs.appendChild(document.createTextNode(", "));
            }
            outputs.appendChild(link(outputHref(m.outputs[o]), m.outputs[o].path));
          });
          if (!t[6].length) {
            outputs.appendChild(document.createTextNode("none"));
          }
          var checked = task.warninglists.map(function (w) {
            var matched = t[7].indexOf(w) >= 0;
            return m.warninglists[w].id + (matched ? " (matches)" : "");
          });
          var verdict = VERDICTS[t[2]] || t[2];
          if (t[2] === "warninglisted") {
            verdict += ": " + t[7].map(function (w) { return m.warninglists[w].name; }).join(", ");
          }
          return el("tr", attrs, [
            el("td", {}, [link("tasks/" + encodeURIComponent(task.id) + ".html", task.name)]),
            el("td", {}, [m.types[t[1]]]),
            el("td", {}, [verdict]),
            el("td", { "class": "num" }, [t[3] === null ? "unscored" : String(t[3])]),
            el("td", {}, [model ? link("models/" + encodeURIComponent(model.id) + ".html", model.name) : "none"]),
            el("td", {}, [t[5] === null ? (model ? "never" : "") : date(m.now_unix + t[5])]),
            outputs,
            el("td", {}, [checked.length ? checked.join(", ") : "none"]),
            el("td", {}, [t[8].map(function (f) { return m.feeds[f].id; }).join(", ")])
          ]);
        })));
    } else {
      part.appendChild(el("p", {}, ["No task takes this value's type."]));
    }
    return part;
  }

  function show(state, nodes) {
    answer.textContent = "";
    nodes.forEach(function (node) { answer.appendChild(node); });
    answer.setAttribute("data-state", state);
  }

  function search(query) {
    if (!query.trim()) {
      show("error", [el("p", {}, ["Enter an IP address, network, domain, URL or hash."])]);
      return Promise.resolve();
    }
    if (location.protocol === "file:") {
      show("error", [el("p", {}, ["The look-up reads the index over HTTP: serve the site (feedsmith serve) or open it from its web address."])]);
      return Promise.resolve();
    }
    answer.setAttribute("data-state", "loading");
    answer.setAttribute("aria-busy", "true");
    var wanted = candidates(query);
    return meta().then(function (m) {
      return Promise.all(wanted.values.map(function (v) { return find(v, m); })).then(function (rows) {
        var at = rows.findIndex(function (r) { return r !== null; });
        // An address: the listed networks that may hold it, from the first form that is one.
        var covering = [];
        wanted.values.some(function (v) { covering = networks(v, m); return covering.length > 0; });
        wanted.related = wanted.related.concat(covering);
        return Promise.all(wanted.related.map(function (v) { return find(v, m); })).then(function (related) {
          var nodes = [];
          var built = "the build of " + m.built;
          if (at >= 0) {
            nodes.push(el("p", {}, ["Found in " + built + "."]));
            nodes.push(renderRow(wanted.values[at], rows[at], m));
          } else {
            nodes.push(el("p", {}, ["No feed of " + built + " lists ", el("code", {}, [wanted.values[0] || query]), " itself."]));
          }
          var covered = related.some(function (row) { return row !== null; });
          if (at < 0 && covered) {
            nodes.push(el("p", {}, ["It is covered by what is listed below: a network that holds the address, a listed name above it, or the host of the URL. The tasks' verdicts on that entry decide whether the outputs block it."]));
          }
          related.forEach(function (row, i) {
            if (row) {
              nodes.push(el("h2", {}, ["Listed and covering it: ", el("code", {}, [wanted.related[i]])]));
              nodes.push(renderRow(wanted.related[i], row, m));
            }
          });
          show(at >= 0 ? "found" : covered ? "covered" : "not-found", nodes);
        });
      });
    }).catch(function (error) {
      show("error", [el("p", {}, ["The look-up failed: " + error.message])]);
    }).then(function () {
      answer.removeAttribute("aria-busy");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var query = input.value;
    var params = new URLSearchParams(location.search);
    params.set("q", query);
    history.replaceState(null, "", "?" + params.toString());
    search(query);
  });

  var initial = new URLSearchParams(location.search).get("q");
  if (initial !== null) {
    input.value = initial;
    search(initial);
  }
})();
