// The dashboard's static files (controller/dashboard/static/), compiled into
// the controller at build time (embed_assets.cmake generates the data), so
// the controller serves them with no file system access and no network.
//
// Thread safety: immutable data.

#ifndef CERTFLEET_CONTROLLER_HTTP_EMBEDDED_ASSETS_H_
#define CERTFLEET_CONTROLLER_HTTP_EMBEDDED_ASSETS_H_

#include <span>
#include <string_view>

namespace certfleet::controller::http {

struct EmbeddedAsset {
  // The file name, without folder ("index.html", "dashboard.js").
  std::string_view name;
  // From the extension: text/html; charset=utf-8, text/javascript; ...
  std::string_view content_type;
  std::string_view content;
};

// Every embedded file, by name.
std::span<const EmbeddedAsset> EmbeddedDashboardAssets();

// The file called exactly `name`, or null.
const EmbeddedAsset* FindEmbeddedAsset(std::string_view name);

}  // namespace certfleet::controller::http

#endif  // CERTFLEET_CONTROLLER_HTTP_EMBEDDED_ASSETS_H_
