// MetaBase: the IIS 6 configuration database (MetaBase.xml) as the IIS 6 host
// driver reads and edits it.
//
// MetaBase.xml holds one XML element per metabase key, each named by its
// Location ("/LM/W3SVC/1"). This class reads the few keys that certificate
// replacement needs (the web sites with their bindings, bound certificate and
// content folder, and the edit-while-running flags at /LM) and edits them.
// Everything else is kept as it was: other keys, attributes it does not know,
// <Custom> children, comments, attribute order, and attribute values exactly
// as written (entity references and non-ASCII text included), because IIS
// refuses or silently drops a metabase a tool has damaged.
//
// Output always uses the layout IIS's own writer produces (one attribute per
// line, tab indentation, the line ending the file already uses), so a file IIS
// wrote serializes back to identical bytes. Whitespace that deviates from that
// layout is not kept; IIS would normalize it on its next save anyway.
//
// Thread safety: a MetaBase is a plain value. Const methods may be called
// concurrently; anything else needs external synchronization.

#ifndef CERTFLEET_AGENT_DRIVERS_IIS6_METABASE_H_
#define CERTFLEET_AGENT_DRIVERS_IIS6_METABASE_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace certfleet::iis6 {

// One entry of ServerBindings or SecureBindings, which IIS writes as
// "ip:port:hostheader" (for example ":443:" or "10.0.0.5:80:www.example.com").
struct Binding {
  // Empty means "All Unassigned": every address of the host.
  std::string ip;
  std::uint16_t port = 0;
  // Empty means any host name.
  std::string host_header;

  // Returns the binding as IIS writes it: "ip:port:hostheader".
  std::string ToString() const;

  bool operator==(const Binding&) const = default;
};

// A web site: an IIsWebServer key at /LM/W3SVC/<id>.
struct Site {
  // The numeric site id as written in the Location, e.g. "1" or "1962875481".
  std::string id;
  // ServerComment, the name IIS Manager shows. UTF-8; may be non-ASCII.
  std::string name;
  std::vector<Binding> server_bindings;
  std::vector<Binding> secure_bindings;
  // ServerAutoStart; true when the attribute is absent, as in IIS's schema.
  bool auto_start = true;
  // SSLCertHash: the bound certificate's SHA-1 thumbprint as 40 upper-case
  // hex digits, in thumbprint byte order. Empty when no certificate is bound.
  std::string ssl_cert_hash;
  // SSLStoreName, normally "MY". Empty when absent.
  std::string ssl_store_name;
  // Path of the site's ROOT virtual directory (its content folder). Empty when
  // the site has no ROOT key or the key has no Path.
  std::string root_path;
};

// What AddSite needs to create a site and its ROOT virtual directory.
struct NewSite {
  // ServerComment. Must not be empty.
  std::string name;
  // At least one binding: IIS does not start a site without one.
  std::vector<Binding> server_bindings;
  // May be empty; a site without a secure binding serves no TLS.
  std::vector<Binding> secure_bindings;
  // Path of the ROOT virtual directory. Must not be empty.
  std::string root_path;
  bool auto_start = true;
};

class MetaBase {
 public:
  // Load refuses files above this size: a real MetaBase.xml is a few hundred
  // kilobytes, so anything far larger is not one and would only waste memory.
  static constexpr std::size_t kDefaultMaximumFileSize = std::size_t{16} * 1024 * 1024;
  // The store IIS binds server certificates from (the machine's personal store).
  static constexpr std::string_view kPersonalStoreName = "MY";

  // Parses the contents of a MetaBase.xml.
  // Returns InvalidArgument, with a message naming the problem and its line,
  // when the bytes are not well-formed XML (with the offset), are UTF-16, the
  // root element is not <configuration> in a
  // urn:microsoft-catalog:XML_Metabase_V* namespace, there is no (or more than
  // one) <MBProperty>, a key has no Location or repeats one (Locations compare
  // case-insensitively, as IIS does), /LM is not IIsComputer or /LM/W3SVC not
  // IIsWebService or either is missing, an IIsWebServer Location is not
  // /LM/W3SVC/<number>, or a site attribute this class reads has a malformed
  // value (SSLCertHash not 40 hex digits, a binding not "ip:port:host",
  // ServerAutoStart not TRUE/FALSE, and so on).
  // Takes time linear in the size of `contents`: keys are indexed by Location
  // once, so Parse, Sites(), FindSite and the edits find a key without walking
  // all of them, and line numbers are only counted for an error message.
  static absl::StatusOr<MetaBase> Parse(std::string_view contents);

  // Reads and parses the file at `path`; a refused file is left untouched.
  // Returns NotFound when there is no such file, FailedPrecondition when the
  // path is a directory or not a regular file or the file is larger than
  // `maximum_size`, the errno-derived status when reading fails, and Parse's
  // errors prefixed with the path.
  static absl::StatusOr<MetaBase> Load(const std::filesystem::path& path,
                                       std::size_t maximum_size = kDefaultMaximumFileSize);

  MetaBase(MetaBase&& other) noexcept;
  MetaBase& operator=(MetaBase&& other) noexcept;
  ~MetaBase();

  // Returns the whole file in IIS's layout. For an unmodified MetaBase parsed
  // from a file IIS wrote, these are the bytes that were parsed.
  std::string Serialize() const;

  // Writes Serialize() to `path` atomically: a temporary file in the same
  // folder (with the mode of the file it replaces, 0600 for a new file) is
  // written, fsynced and renamed over `path`, then the folder is fsynced. Also
  // writes a history copy into `history_folder` (created if missing) named as
  // IIS names them, MetaBase_<major>_<minor>.xml with ten zero-padded digits
  // each, where major is one more than the highest major already there (1 when
  // there is none) and minor is 0.
  // Returns the path of the history copy. Returns FailedPrecondition when
  // `path` is a directory or not a regular file, and the errno-derived status
  // (NotFound, PermissionDenied, ...) when a file operation fails. If an error
  // occurs before the rename, `path` is unchanged and no temporary file is
  // left behind; if only the history copy fails after the rename, the message
  // says that the metabase itself was saved.
  absl::StatusOr<std::filesystem::path> Save(const std::filesystem::path& path,
                                             const std::filesystem::path& history_folder) const;

  // Save with the history folder IIS uses: "History" beside `path`.
  absl::StatusOr<std::filesystem::path> Save(const std::filesystem::path& path) const;

  // Returns every site (IIsWebServer key) in file order.
  std::vector<Site> Sites() const;

  // Returns the site with this id. Returns InvalidArgument when `site_id` is
  // not a site id (digits) and NotFound when there is no such site.
  absl::StatusOr<Site> FindSite(std::string_view site_id) const;

  // EnableEditWhileRunning at /LM: whether IIS picks up direct edits of the
  // file while it runs. False when absent.
  bool EditWhileRunningEnabled() const;

  // EnableHistory at /LM: whether IIS keeps history copies. False when absent.
  bool HistoryEnabled() const;

  // Binds the certificate with this SHA-1 thumbprint (40 hex digits, any case;
  // written upper case) from `store_name` to the site, i.e. sets SSLCertHash
  // and SSLStoreName, replacing any previous certificate. Only those two
  // attribute lines change; a missing attribute is inserted where IIS's sorted
  // order puts it. Returns InvalidArgument for a malformed site id, thumbprint
  // or store name, and NotFound when there is no such site.
  absl::Status SetCertificate(std::string_view site_id, std::string_view thumbprint,
                              std::string_view store_name = kPersonalStoreName);

  // Unbinds the site's certificate: removes SSLCertHash and SSLStoreName.
  // Succeeds without change when none is bound. Returns InvalidArgument for a
  // malformed site id and NotFound when there is no such site.
  absl::Status ClearCertificate(std::string_view site_id);

  // Creates a site with id `site_id`: an IIsWebServer key and its
  // IIsWebVirtualDir ROOT key, placed after the last key under /LM/W3SVC.
  // Returns InvalidArgument for a malformed site id or an invalid `site`
  // (empty name or root path, no server binding, a port of 0, an address or
  // host header containing ':' or whitespace), and AlreadyExists when a key
  // at or under /LM/W3SVC/<site_id> exists.
  absl::Status AddSiteWithId(std::string_view site_id, const NewSite& site);

  // Creates a site as AddSiteWithId does, with a fresh id in IIS's style: a
  // ten-digit number (1000000000 to 2147483647, like 1962875481) derived from
  // `random_number`, drawing again while the id is in use. Tests pass a
  // deterministic generator. Returns the new id, AddSiteWithId's errors, and
  // ResourceExhausted when 100 draws in a row hit ids in use.
  absl::StatusOr<std::string> AddSite(const NewSite& site,
                                      const std::function<std::uint32_t()>& random_number);

  // AddSite drawing from std::random_device.
  absl::StatusOr<std::string> AddSite(const NewSite& site);

  // Deletes the site: its IIsWebServer key and every key under it
  // (/LM/W3SVC/<id>/...), each with the comment lines directly before it,
  // which IIS writes as that key's comment. Certificates and keys in the
  // stores are not touched. Returns InvalidArgument for a malformed site id
  // and NotFound when there is no such site.
  absl::Status DeleteSite(std::string_view site_id);

 private:
  struct Document;

  explicit MetaBase(std::unique_ptr<Document> document);

  std::unique_ptr<Document> document_;
};

}  // namespace certfleet::iis6

#endif  // CERTFLEET_AGENT_DRIVERS_IIS6_METABASE_H_
