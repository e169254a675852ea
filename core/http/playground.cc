// GET /playground: a page, its script and its styles (core/http/playground/, embedded at build
// time) that call this same API from a browser. It adds no capability: everything it does, a
// client with curl can do. Served only when server.playground is on (by default: a loopback
// host).

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string_view>

#include "core/http/services.h"
#include "embedded_playground.h"

namespace pyrunner {
namespace {

// What the page may do, and nothing else: its own script and styles; images from data: and
// blob: URLs (figures) and itself; requests to this server only. Results' HTML is shown in
// sandboxed srcdoc iframes, which frame-src does not govern (no URL is fetched) and which
// inherit this policy: no script or inline style runs there either, nothing is fetched from
// elsewhere. No <base>, no form posts, no framing of the page.
constexpr const char* kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src data: blob: 'self'; "
    "connect-src 'self'; frame-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

struct Asset {
  std::string_view bytes;
  std::string content_type;
  std::string etag;  // the bytes' hash: a browser revalidates and gets 304 until an upgrade
};

std::string content_type_of(std::string_view name) {
  const auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

// FNV-1a: a version tag for the ETag, not a security measure.
std::string etag_of(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(h));
  return text;
}

Handler serve(std::shared_ptr<const Asset> asset) {
  return [asset](const HttpRequest& req, HttpResponse& res) {
    res.set_header("Content-Security-Policy", kPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    // Revalidated on every load (a 304 while unchanged), so an upgraded server is never shown
    // with the page of the previous version.
    res.set_header("Cache-Control", "no-cache");
    res.set_header("ETag", asset->etag);
    if (req.header("if-none-match") == asset->etag) {
      res.status = 304;
      res.content_type = asset->content_type;
      return;
    }
    res.status = 200;
    res.content_type = asset->content_type;
    res.body = std::string(asset->bytes);
  };
}

}  // namespace

std::vector<Route> playground_routes(Services& s) {
  if (!s.config.server.playground_on()) return {};
  std::vector<Route> routes;
  for (const auto& file : embedded::kPlaygroundFiles) {
    const std::string_view name(file.name);
    const std::string_view bytes(reinterpret_cast<const char*>(file.data), file.size);
    auto asset = std::make_shared<const Asset>(Asset{bytes, content_type_of(name), etag_of(bytes)});
    // The page at /playground; what it loads beside it, by relative URLs, at /playground/NAME
    // (so that the page also works under a proxy's path prefix).
    // Open with API keys too: a browser sends none when it loads a page, and the page holds
    // nothing but itself; its requests to the API carry the key its field is given.
    if (name == "index.html")
      routes.push_back({"GET", "/playground", "/playground", serve(asset), true});
    else
      routes.push_back(
          {"GET", "/playground/" + std::string(name), "/playground/{file}", serve(asset), true});
  }
  return routes;
}

}  // namespace pyrunner
