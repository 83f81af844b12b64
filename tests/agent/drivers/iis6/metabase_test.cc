#include "agent/drivers/iis6/metabase.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certfleet::iis6 {
namespace {

namespace fs = std::filesystem;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr std::string_view kNewThumbprint = "0123456789abcdef0123456789ABCDEF01234567";

std::string ReadFile(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, std::string_view contents) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream << contents;
}

// The realistic metabase: Default Web Site, "Boutique Zürich" with several
// bindings, and "Intranet & Wiki" with Custom children, an attribute IIS's
// schema does not know and comments; CRLF line endings as IIS writes them.
std::string Fixture() {
  static const std::string* const contents = new std::string(
      ReadFile(fs::path(CERTFLEET_SOURCE_DIR) / "tests/agent/drivers/iis6/testdata/MetaBase.xml"));
  return *contents;
}

// Joins lines with IIS's CRLF, ending with one.
std::string Lines(std::initializer_list<std::string_view> lines) {
  std::string text;
  for (std::string_view line : lines) {
    text.append(line).append("\r\n");
  }
  return text;
}

// Replaces the only occurrence of `from`; the expectation fails otherwise,
// so a test cannot pass by editing nothing.
std::string ReplaceOnce(std::string text, std::string_view from, std::string_view to) {
  std::size_t position = text.find(from);
  EXPECT_NE(position, std::string::npos) << "not found: " << from;
  if (position == std::string::npos) {
    return text;
  }
  EXPECT_EQ(text.find(from, position + 1), std::string::npos) << "found twice: " << from;
  return text.replace(position, from.size(), to);
}

// Removes the bytes from `begin` (included) to `end` (excluded).
std::string Cut(std::string text, std::string_view begin, std::string_view end) {
  std::size_t from = text.find(begin);
  EXPECT_NE(from, std::string::npos) << "not found: " << begin;
  std::size_t to = text.find(end, from);
  EXPECT_NE(to, std::string::npos) << "not found: " << end;
  if (from == std::string::npos || to == std::string::npos) {
    return text;
  }
  return text.erase(from, to - from);
}

MetaBase ParseOrDie(std::string_view contents) {
  absl::StatusOr<MetaBase> metabase = MetaBase::Parse(contents);
  EXPECT_TRUE(metabase.ok()) << metabase.status();
  if (!metabase.ok()) {
    std::abort();
  }
  return *std::move(metabase);
}

std::vector<std::string> SiteIds(const MetaBase& metabase) {
  std::vector<std::string> ids;
  for (const Site& site : metabase.Sites()) {
    ids.push_back(site.id);
  }
  return ids;
}

// A generator that returns the given numbers in turn.
std::function<std::uint32_t()> Sequence(std::vector<std::uint32_t> numbers) {
  return [numbers = std::move(numbers), index = std::size_t{0}]() mutable {
    return numbers[index++ % numbers.size()];
  };
}

TEST(MetaBaseParseTest, UnmodifiedFileSerializesToTheSameBytes) {
  MetaBase metabase = ParseOrDie(Fixture());
  EXPECT_EQ(metabase.Serialize(), Fixture());
}

TEST(MetaBaseParseTest, UnmodifiedFileWithLinuxLineEndingsSerializesToTheSameBytes) {
  std::string contents = absl::StrReplaceAll(Fixture(), {{"\r\n", "\n"}});
  EXPECT_EQ(ParseOrDie(contents).Serialize(), contents);
}

TEST(MetaBaseParseTest, ByteOrderMarkAndTextAroundTheRootAreKept) {
  std::string contents = absl::StrCat("\xEF\xBB\xBF", Fixture(), "<!-- saved by hand -->\r\n");
  EXPECT_EQ(ParseOrDie(contents).Serialize(), contents);
}

TEST(MetaBaseParseTest, QuotingAndReferencesInUnknownAttributesAreKept) {
  std::string contents =
      ReplaceOnce(Fixture(), "Value=\"INT-42\"", "Value='INT \"42\" &#xE9;t&#233;'");
  EXPECT_EQ(ParseOrDie(contents).Serialize(), contents);
}

TEST(MetaBaseParseTest, ReadsEverySiteInFileOrder) {
  MetaBase metabase = ParseOrDie(Fixture());
  EXPECT_THAT(SiteIds(metabase), ElementsAre("1", "1962875481", "2012345678"));
}

TEST(MetaBaseParseTest, ReadsTheDefaultWebSite) {
  absl::StatusOr<Site> site = ParseOrDie(Fixture()).FindSite("1");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->id, "1");
  EXPECT_EQ(site->name, "Default Web Site");
  EXPECT_THAT(site->server_bindings, ElementsAre(Binding{"", 80, ""}));
  EXPECT_THAT(site->secure_bindings, ElementsAre(Binding{"", 443, ""}));
  EXPECT_TRUE(site->auto_start);
  // The file has IIS's lower-case hex; callers always see upper case.
  EXPECT_EQ(site->ssl_cert_hash, "40DA7E6686D698EFAE7172220F4DA438025DFEEA");
  EXPECT_EQ(site->ssl_store_name, "MY");
  EXPECT_EQ(site->root_path, "c:\\inetpub\\wwwroot");
}

TEST(MetaBaseParseTest, ReadsANonAsciiSiteWithSeveralBindings) {
  absl::StatusOr<Site> site = ParseOrDie(Fixture()).FindSite("1962875481");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->name, "Boutique Z\xC3\xBCrich");
  EXPECT_THAT(site->server_bindings,
              ElementsAre(Binding{"10.0.0.5", 80, "www.boutique-zuerich.ch"},
                          Binding{"10.0.0.5", 80, "boutique-zuerich.ch"}, Binding{"", 8080, ""}));
  EXPECT_THAT(site->secure_bindings, ElementsAre(Binding{"10.0.0.5", 443, ""}));
  EXPECT_TRUE(site->auto_start);
  EXPECT_THAT(site->ssl_cert_hash, IsEmpty());
  EXPECT_THAT(site->ssl_store_name, IsEmpty());
  EXPECT_EQ(site->root_path, "D:\\Sites\\Boutique Z\xC3\xBCrich");
}

TEST(MetaBaseParseTest, ReadsAStoppedSiteAndExpandsEntities) {
  absl::StatusOr<Site> site = ParseOrDie(Fixture()).FindSite("2012345678");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->name, "Intranet & Wiki");
  EXPECT_FALSE(site->auto_start);
  EXPECT_THAT(site->server_bindings,
              ElementsAre(Binding{"10.0.0.6", 80, "intranet.example.local"}));
  EXPECT_EQ(site->root_path, "E:\\Intranet");
}

TEST(MetaBaseParseTest, BindingsMayBeSeparatedBySpacesAndAttributesMayBeAbsent) {
  std::string contents =
      ReplaceOnce(Fixture(),
                  Lines({"\t\tServerBindings=\"10.0.0.5:80:www.boutique-zuerich.ch",
                         "\t\t\t10.0.0.5:80:boutique-zuerich.ch", "\t\t\t:8080:\""}),
                  Lines({"\t\tServerBindings=\" :81:  192.168.1.10:8081:shop.example  \""}));
  contents = ReplaceOnce(
      contents, Lines({"\t\tSecureBindings=\"10.0.0.5:443:\"", "\t\tServerAutoStart=\"TRUE\""}),
      "");
  absl::StatusOr<Site> site = ParseOrDie(contents).FindSite("1962875481");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_THAT(site->server_bindings,
              ElementsAre(Binding{"", 81, ""}, Binding{"192.168.1.10", 8081, "shop.example"}));
  EXPECT_THAT(site->secure_bindings, IsEmpty());
  // IIS's schema default.
  EXPECT_TRUE(site->auto_start);
}

TEST(MetaBaseParseTest, BindingToStringIsIisNotation) {
  EXPECT_EQ((Binding{"", 443, ""}).ToString(), ":443:");
  EXPECT_EQ((Binding{"10.0.0.5", 80, "www.example.com"}).ToString(), "10.0.0.5:80:www.example.com");
}

TEST(MetaBaseParseTest, ReadsTheEditWhileRunningFlags) {
  MetaBase enabled = ParseOrDie(Fixture());
  EXPECT_TRUE(enabled.EditWhileRunningEnabled());
  EXPECT_TRUE(enabled.HistoryEnabled());

  std::string contents =
      ReplaceOnce(Fixture(), "EnableEditWhileRunning=\"1\"", "EnableEditWhileRunning=\"FALSE\"");
  contents = ReplaceOnce(contents, "\t\tEnableHistory=\"1\"\r\n", "");
  MetaBase disabled = ParseOrDie(contents);
  EXPECT_FALSE(disabled.EditWhileRunningEnabled());
  EXPECT_FALSE(disabled.HistoryEnabled());
}

TEST(MetaBaseParseTest, AcceptsOtherMetabaseSchemaVersions) {
  for (std::string version : {"V51_0", "V7", "V64_1"}) {
    std::string contents =
        ReplaceOnce(Fixture(), "XML_Metabase_V64_0", absl::StrCat("XML_Metabase_", version));
    absl::StatusOr<MetaBase> metabase = MetaBase::Parse(contents);
    ASSERT_TRUE(metabase.ok()) << version << ": " << metabase.status();
    EXPECT_EQ(metabase->Serialize(), contents);
  }
}

TEST(MetaBaseParseTest, FindSiteRejectsMalformedIdsAndUnknownSites) {
  MetaBase metabase = ParseOrDie(Fixture());
  EXPECT_EQ(metabase.FindSite("abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metabase.FindSite("01").status().code(), absl::StatusCode::kInvalidArgument);
  absl::Status missing = metabase.FindSite("7").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("no site 7"));
  // /LM/W3SVC/Info exists but is not a site; /LM/MSFTPSVC/1 is an FTP site.
  EXPECT_EQ(metabase.FindSite("Info").status().code(), absl::StatusCode::kInvalidArgument);
}

struct CorruptCase {
  std::string name;
  std::string contents;
  std::string message;

  // Names the case in failure output instead of dumping its bytes.
  friend void PrintTo(const CorruptCase& corrupt_case, std::ostream* stream) {
    *stream << corrupt_case.name;
  }
};

std::vector<CorruptCase> CorruptCases() {
  const std::string fixture = Fixture();
  return {
      {"NotXml", "this is not a metabase", "is not well-formed XML"},
      {"Empty", "", "No document element found at offset 0 (line 1, column 1)"},
      {"Truncated", fixture.substr(0, fixture.find("</IIsWebServer>")),
       "is not well-formed XML: Start-end tags mismatch at offset"},
      {"UnclosedTag", ReplaceOnce(fixture, "\t>\r\n</IIsComputer>", "\r\n</IIsComputer>"),
       "Error parsing start element tag at offset 505 (line 18, column 1)"},
      {"Utf16", std::string("\xFF\xFE<\0?\0x\0", 8), "is UTF-16"},
      {"WrongRoot",
       absl::StrReplaceAll(
           fixture, {{"<configuration ", "<settings "}, {"</configuration>", "</settings>"}}),
       "line 2: the root element is <settings>, expected <configuration>"},
      {"NoNamespace",
       ReplaceOnce(fixture, " xmlns=\"urn:microsoft-catalog:XML_Metabase_V64_0\"", ""),
       "line 2: <configuration> has no xmlns; expected "
       "urn:microsoft-catalog:XML_Metabase_V<version>"},
      {"WrongNamespace",
       ReplaceOnce(fixture, "urn:microsoft-catalog:XML_Metabase_V64_0", "urn:example:config"),
       "line 2: the namespace is \"urn:example:config\", expected "
       "urn:microsoft-catalog:XML_Metabase_V<version>"},
      {"NamespaceWithoutVersion", ReplaceOnce(fixture, "XML_Metabase_V64_0", "XML_Metabase_V"),
       "the namespace is \"urn:microsoft-catalog:XML_Metabase_V\""},
      {"NoMBProperty",
       absl::StrReplaceAll(fixture, {{"<MBProperty>", "<Keys>"}, {"</MBProperty>", "</Keys>"}}),
       "line 2: <configuration> has no <MBProperty> element holding the keys"},
      {"TwoMBProperty",
       ReplaceOnce(fixture, "</MBProperty>\r\n",
                   "</MBProperty>\r\n<MBProperty>\r\n</MBProperty>\r\n"),
       "line 158: a second <MBProperty> element"},
      {"KeyWithoutLocation",
       ReplaceOnce(fixture, "<IIsFilters\tLocation =\"/LM/W3SVC/Filters\"", "<IIsFilters"),
       "line 40: key <IIsFilters> has no Location attribute"},
      {"DuplicateLocation",
       ReplaceOnce(fixture, "Location =\"/LM/W3SVC/1/filters\"", "Location =\"/lm/w3svc/1/\""),
       "line 67: Location \"/lm/w3svc/1/\" appears twice (first on line 55)"},
      {"SiteLocationNotNumeric",
       ReplaceOnce(fixture, "<IIsWebServer\tLocation =\"/LM/W3SVC/1\"",
                   "<IIsWebServer\tLocation =\"/LM/W3SVC/www\""),
       "line 55: IIsWebServer Location \"/LM/W3SVC/www\" is not /LM/W3SVC/<number>"},
      {"SiteLocationOutsideW3svc",
       ReplaceOnce(fixture, "<IIsWebServer\tLocation =\"/LM/W3SVC/1\"",
                   "<IIsWebServer\tLocation =\"/LM/W3SVC/1/ROOT/x\""),
       "IIsWebServer Location \"/LM/W3SVC/1/ROOT/x\" is not /LM/W3SVC/<number>"},
      {"ShortCertificateHash",
       ReplaceOnce(fixture, "40da7e6686d698efae7172220f4da438025dfeea", "40da7e66"),
       "line 55: site 1: SSLCertHash \"40da7e66\" is not 40 hex digits"},
      {"NonHexCertificateHash",
       ReplaceOnce(fixture, "40da7e6686d698efae7172220f4da438025dfeea",
                   "40da7e6686d698efae7172220f4da438025dfeeg"),
       "site 1: SSLCertHash \"40da7e6686d698efae7172220f4da438025dfeeg\" is not 40 hex digits"},
      {"BindingWithoutPort",
       ReplaceOnce(fixture, "ServerBindings=\":80:\"", "ServerBindings=\":http:\""),
       "site 1: ServerBindings: binding \":http:\" is not ip:port:hostheader with a port from 1 to "
       "65535"},
      {"BindingPortTooLarge",
       ReplaceOnce(fixture, "SecureBindings=\":443:\"", "SecureBindings=\":70000:\""),
       "site 1: SecureBindings: binding \":70000:\" is not ip:port:hostheader"},
      {"BindingWithoutHostField",
       ReplaceOnce(fixture, "ServerBindings=\":80:\"", "ServerBindings=\":80\""),
       "binding \":80\" is not ip:port:hostheader"},
      {"AutoStartNotBoolean",
       ReplaceOnce(fixture, "ServerAutoStart=\"FALSE\"", "ServerAutoStart=\"maybe\""),
       "line 101: site 2012345678: ServerAutoStart is \"maybe\", expected TRUE, FALSE, 1 or 0"},
      {"UnknownEntity", ReplaceOnce(fixture, "Intranet &amp; Wiki", "Intranet &nbsp; Wiki"),
       "site 2012345678: ServerComment: unknown entity &nbsp;"},
      {"EditWhileRunningNotBoolean",
       ReplaceOnce(fixture, "EnableEditWhileRunning=\"1\"", "EnableEditWhileRunning=\"yes\""),
       "line 12: /LM: EnableEditWhileRunning is \"yes\", expected TRUE, FALSE, 1 or 0"},
      {"NoComputerKey", Cut(fixture, "<IIsComputer\t", "<IIsWebService\t"),
       "MetaBase.xml has no IIsComputer key at Location \"/LM\""},
      {"NoWebServiceKey", Cut(fixture, "<IIsWebService\t", "<IIsFilters\t"),
       "MetaBase.xml has no IIsWebService key at Location \"/LM/W3SVC\""},
      {"WebServiceKeyOfWrongType",
       absl::StrReplaceAll(fixture, {{"<IIsWebService\t", "<IIsConfigObject\t"},
                                     {"</IIsWebService>", "</IIsConfigObject>"}}),
       "line 19: the key at /LM/W3SVC is <IIsConfigObject>, expected <IIsWebService>"},
      {"TextBetweenKeys",
       ReplaceOnce(fixture, "</IIsFilters>\r\n<IIsConfigObject",
                   "</IIsFilters>\r\nstray text\r\n<IIsConfigObject"),
       "unexpected text \"stray text\" inside <MBProperty>"},
  };
}

class MetaBaseCorruptInputTest : public ::testing::TestWithParam<CorruptCase> {};

TEST_P(MetaBaseCorruptInputTest, IsRefusedWithAMessageSayingWhatIsWrong) {
  absl::StatusOr<MetaBase> metabase = MetaBase::Parse(GetParam().contents);
  ASSERT_FALSE(metabase.ok());
  EXPECT_EQ(metabase.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(metabase.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(EachDefect, MetaBaseCorruptInputTest, ::testing::ValuesIn(CorruptCases()),
                         [](const ::testing::TestParamInfo<CorruptCase>& info) {
                           return info.param.name;
                         });

TEST(MetaBaseCorruptInputTest, NotWellFormedXmlNamesTheOffset) {
  std::string contents = Fixture();
  std::size_t position = contents.find("<IIsFilters\tLocation =\"/LM/W3SVC/Filters\"");
  contents.insert(position + 1, "<");
  absl::Status status = MetaBase::Parse(contents).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat("at offset ", position + 1, " (line 40, column 2)")));
}

// The fixture with `site_count` more sites (ids 1100000000 and up, each
// with a ROOT virtual directory) before the FTP service's key.
std::string FixtureWithManySites(int site_count) {
  std::string sites;
  for (int index = 0; index < site_count; ++index) {
    std::string location = absl::StrCat("/LM/W3SVC/", 1100000000 + index);
    absl::StrAppend(&sites,
                    Lines({
                        absl::StrCat("<IIsWebServer\tLocation =\"", location, "\""),
                        absl::StrCat("\t\tServerBindings=\":80:site", index, ".example\""),
                        absl::StrCat("\t\tServerComment=\"Site ", index, "\""),
                        "\t>",
                        "</IIsWebServer>",
                        absl::StrCat("<IIsWebVirtualDir\tLocation =\"", location, "/ROOT\""),
                        absl::StrCat("\t\tPath=\"D:\\Sites\\", index, "\""),
                        "\t>",
                        "</IIsWebVirtualDir>",
                    }));
  }
  return ReplaceOnce(Fixture(), "<IIsFtpService\t", absl::StrCat(sites, "<IIsFtpService\t"));
}

// The 1-based line of the only occurrence of `text`, counted independently
// of the code under test.
int LineOfText(std::string_view contents, std::string_view text) {
  std::size_t position = contents.find(text);
  EXPECT_NE(position, std::string_view::npos) << "not found: " << text;
  EXPECT_EQ(contents.find(text, position + 1), std::string_view::npos) << "found twice: " << text;
  std::string_view before = contents.substr(0, std::min(position, contents.size()));
  return 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
}

TEST(MetaBaseCorruptInputTest, LineNumbersAreRightFarIntoALargeFile) {
  const std::string large = FixtureWithManySites(300);
  MetaBase metabase = ParseOrDie(large);
  EXPECT_EQ(metabase.Sites().size(), 303u);
  absl::StatusOr<Site> last = metabase.FindSite("1100000299");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->root_path, "D:\\Sites\\299");

  // The last site's ROOT repeats the first added site's ROOT Location,
  // spelled as IIS would not write it.
  std::string duplicate = ReplaceOnce(large, "Location =\"/LM/W3SVC/1100000299/ROOT\"",
                                      "Location =\"/lm/w3svc/1100000000/root/\"");
  absl::Status status = MetaBase::Parse(duplicate).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            absl::StrCat("MetaBase.xml line ",
                         LineOfText(duplicate, "Location =\"/lm/w3svc/1100000000/root/\""),
                         ": Location \"/lm/w3svc/1100000000/root/\" appears twice (first on line ",
                         LineOfText(duplicate, "Location =\"/LM/W3SVC/1100000000/ROOT\""), ")"));

  // A bad value in the last site names the line of that site's key, and
  // the next key sitting on the same line does not shift it.
  std::string bad_value =
      ReplaceOnce(ReplaceOnce(large, "ServerComment=\"Site 299\"",
                              "ServerComment=\"Site 299\"\r\n\t\tServerAutoStart=\"maybe\""),
                  "</IIsWebServer>\r\n<IIsWebVirtualDir\tLocation =\"/LM/W3SVC/1100000299/ROOT\"",
                  "</IIsWebServer><IIsWebVirtualDir\tLocation =\"/LM/W3SVC/1100000299/ROOT\"");
  status = MetaBase::Parse(bad_value).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(status.message()),
            absl::StrCat("MetaBase.xml line ",
                         LineOfText(bad_value, "Location =\"/LM/W3SVC/1100000299\""),
                         ": site 1100000299: ServerAutoStart is \"maybe\", expected TRUE, FALSE, "
                         "1 or 0"));
}

TEST(MetaBaseEditTest, SetCertificateReplacesOnlyTheHashLine) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.SetCertificate("1", kNewThumbprint).ok());
  EXPECT_EQ(metabase.Serialize(),
            ReplaceOnce(Fixture(), "SSLCertHash=\"40da7e6686d698efae7172220f4da438025dfeea\"",
                        "SSLCertHash=\"0123456789ABCDEF0123456789ABCDEF01234567\""));
  absl::StatusOr<Site> site = ParseOrDie(metabase.Serialize()).FindSite("1");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->ssl_cert_hash, "0123456789ABCDEF0123456789ABCDEF01234567");
  EXPECT_EQ(site->ssl_store_name, "MY");
}

TEST(MetaBaseEditTest, SetCertificateOnAnUnboundSiteInsertsTwoLinesInIisOrder) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.SetCertificate("1962875481", kNewThumbprint).ok());
  // IIS sorts properties by ordinal name, so SSL* comes before SecureBindings.
  EXPECT_EQ(
      metabase.Serialize(),
      ReplaceOnce(Fixture(),
                  Lines({"<IIsWebServer\tLocation =\"/LM/W3SVC/1962875481\"",
                         "\t\tSecureBindings=\"10.0.0.5:443:\""}),
                  Lines({"<IIsWebServer\tLocation =\"/LM/W3SVC/1962875481\"",
                         "\t\tSSLCertHash=\"0123456789ABCDEF0123456789ABCDEF01234567\"",
                         "\t\tSSLStoreName=\"MY\"", "\t\tSecureBindings=\"10.0.0.5:443:\""})));
}

TEST(MetaBaseEditTest, SetCertificateKeepsCustomChildrenCommentsAndUnknownAttributes) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.SetCertificate("2012345678", kNewThumbprint, "WebHosting").ok());
  EXPECT_EQ(
      metabase.Serialize(),
      ReplaceOnce(
          Fixture(), Lines({"\t\tFrobnicateLevel=\"7\"", "\t\tSecureBindings=\"10.0.0.6:443:\""}),
          Lines({"\t\tFrobnicateLevel=\"7\"",
                 "\t\tSSLCertHash=\"0123456789ABCDEF0123456789ABCDEF01234567\"",
                 "\t\tSSLStoreName=\"WebHosting\"", "\t\tSecureBindings=\"10.0.0.6:443:\""})));
}

TEST(MetaBaseEditTest, SetCertificateRefusesBadArguments) {
  MetaBase metabase = ParseOrDie(Fixture());
  absl::Status short_thumbprint = metabase.SetCertificate("1", "0123");
  EXPECT_EQ(short_thumbprint.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_thumbprint.message()), HasSubstr("\"0123\" is not 40 hex digits"));
  EXPECT_EQ(metabase.SetCertificate("1", kNewThumbprint, "").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metabase.SetCertificate("/LM/W3SVC/1", kNewThumbprint).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metabase.SetCertificate("42", kNewThumbprint).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(metabase.Serialize(), Fixture());
}

TEST(MetaBaseEditTest, ClearCertificateRemovesOnlyTheTwoLines) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.ClearCertificate("1").ok());
  EXPECT_EQ(metabase.Serialize(),
            ReplaceOnce(Fixture(),
                        Lines({"\t\tSSLCertHash=\"40da7e6686d698efae7172220f4da438025dfeea\"",
                               "\t\tSSLStoreName=\"MY\""}),
                        ""));
  absl::StatusOr<Site> site = ParseOrDie(metabase.Serialize()).FindSite("1");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_THAT(site->ssl_cert_hash, IsEmpty());

  // Clearing again is a no-op; an unknown site is reported.
  ASSERT_TRUE(metabase.ClearCertificate("1").ok());
  EXPECT_EQ(metabase.ClearCertificate("5").code(), absl::StatusCode::kNotFound);
}

NewSite TemporarySite() {
  NewSite site;
  site.name = "certfleet temporary <renewal> & \"test\"";
  site.server_bindings = {Binding{"", 8081, ""}, Binding{"10.0.0.5", 8082, "tmp.example"}};
  site.secure_bindings = {Binding{"", 8443, ""}};
  site.root_path = "C:\\Inetpub\\certfleet-temporary";
  site.auto_start = false;
  return site;
}

TEST(MetaBaseEditTest, AddSiteWritesBothKeysInIisLayoutAfterTheWebServiceKeys) {
  MetaBase metabase = ParseOrDie(Fixture());
  // 962875481 maps to 1962875481, which is taken; the next draw is free.
  absl::StatusOr<std::string> site_id =
      metabase.AddSite(TemporarySite(), Sequence({962875481, 12345}));
  ASSERT_TRUE(site_id.ok()) << site_id.status();
  EXPECT_EQ(*site_id, "1000012345");

  std::string keys = Lines({
      "<IIsWebServer\tLocation =\"/LM/W3SVC/1000012345\"",
      "\t\tSecureBindings=\":8443:\"",
      "\t\tServerAutoStart=\"FALSE\"",
      "\t\tServerBindings=\":8081:",
      "\t\t\t10.0.0.5:8082:tmp.example\"",
      "\t\tServerComment=\"certfleet temporary &lt;renewal&gt; &amp; &quot;test&quot;\"",
      "\t>",
      "</IIsWebServer>",
      "<IIsWebVirtualDir\tLocation =\"/LM/W3SVC/1000012345/ROOT\"",
      "\t\tAccessFlags=\"AccessRead | AccessScript\"",
      "\t\tAppFriendlyName=\"Default Application\"",
      "\t\tAppIsolated=\"2\"",
      "\t\tAppRoot=\"/LM/W3SVC/1000012345/Root\"",
      "\t\tPath=\"C:\\Inetpub\\certfleet-temporary\"",
      "\t>",
      "</IIsWebVirtualDir>",
  });
  EXPECT_EQ(metabase.Serialize(),
            ReplaceOnce(Fixture(), "<IIsFtpService\t", absl::StrCat(keys, "<IIsFtpService\t")));

  MetaBase reparsed = ParseOrDie(metabase.Serialize());
  EXPECT_THAT(SiteIds(reparsed), ElementsAre("1", "1962875481", "2012345678", "1000012345"));
  absl::StatusOr<Site> site = reparsed.FindSite("1000012345");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->name, "certfleet temporary <renewal> & \"test\"");
  EXPECT_THAT(site->server_bindings,
              ElementsAre(Binding{"", 8081, ""}, Binding{"10.0.0.5", 8082, "tmp.example"}));
  EXPECT_THAT(site->secure_bindings, ElementsAre(Binding{"", 8443, ""}));
  EXPECT_FALSE(site->auto_start);
  EXPECT_THAT(site->ssl_cert_hash, IsEmpty());
  EXPECT_EQ(site->root_path, "C:\\Inetpub\\certfleet-temporary");
}

TEST(MetaBaseEditTest, AddSiteUsesTheLineEndingOfTheFile) {
  std::string contents = absl::StrReplaceAll(Fixture(), {{"\r\n", "\n"}});
  MetaBase metabase = ParseOrDie(contents);
  ASSERT_TRUE(metabase.AddSiteWithId("1500000000", TemporarySite()).ok());
  std::string serialized = metabase.Serialize();
  EXPECT_EQ(serialized.find('\r'), std::string::npos);
  EXPECT_THAT(serialized,
              HasSubstr("\t\tServerBindings=\":8081:\n\t\t\t10.0.0.5:8082:tmp.example\"\n"));
}

TEST(MetaBaseEditTest, AddSiteWithIdRefusesIdsInUseAndInvalidSites) {
  MetaBase metabase = ParseOrDie(Fixture());
  absl::Status taken = metabase.AddSiteWithId("1962875481", TemporarySite());
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(taken.message()), HasSubstr("site id 1962875481 is in use"));
  EXPECT_EQ(metabase.AddSiteWithId("x1", TemporarySite()).code(),
            absl::StatusCode::kInvalidArgument);

  NewSite nameless = TemporarySite();
  nameless.name.clear();
  EXPECT_EQ(metabase.AddSiteWithId("77", nameless).code(), absl::StatusCode::kInvalidArgument);
  NewSite unbound = TemporarySite();
  unbound.server_bindings.clear();
  EXPECT_EQ(metabase.AddSiteWithId("77", unbound).code(), absl::StatusCode::kInvalidArgument);
  NewSite port_zero = TemporarySite();
  port_zero.secure_bindings = {Binding{"", 0, ""}};
  EXPECT_EQ(metabase.AddSiteWithId("77", port_zero).code(), absl::StatusCode::kInvalidArgument);
  NewSite colon_in_host = TemporarySite();
  colon_in_host.server_bindings = {Binding{"", 80, "a:b"}};
  absl::Status colon = metabase.AddSiteWithId("77", colon_in_host);
  EXPECT_EQ(colon.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(colon.message()), HasSubstr("binding \":80:a:b\""));
  EXPECT_EQ(metabase.Serialize(), Fixture());
}

TEST(MetaBaseEditTest, AddSiteGivesUpWhenEveryDrawIsTaken) {
  MetaBase metabase = ParseOrDie(Fixture());
  absl::StatusOr<std::string> site_id = metabase.AddSite(TemporarySite(), Sequence({962875481}));
  EXPECT_EQ(site_id.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(metabase.Serialize(), Fixture());
}

TEST(MetaBaseEditTest, AddSiteWithoutAGeneratorMakesATenDigitId) {
  MetaBase metabase = ParseOrDie(Fixture());
  absl::StatusOr<std::string> site_id = metabase.AddSite(TemporarySite());
  ASSERT_TRUE(site_id.ok()) << site_id.status();
  EXPECT_EQ(site_id->size(), 10u);
  EXPECT_TRUE(metabase.FindSite(*site_id).ok());
}

TEST(MetaBaseEditTest, DeleteSiteRemovesItsKeysOnly) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.DeleteSite("1962875481").ok());
  EXPECT_EQ(metabase.Serialize(),
            Cut(Fixture(), "<IIsWebServer\tLocation =\"/LM/W3SVC/1962875481\"", "<!-- Intranet"));
  EXPECT_EQ(metabase.DeleteSite("1962875481").code(), absl::StatusCode::kNotFound);
}

TEST(MetaBaseEditTest, DeleteSiteRemovesChildKeysCustomPropertiesAndItsComment) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.DeleteSite("2012345678").ok());
  EXPECT_EQ(metabase.Serialize(), Cut(Fixture(), "<!-- Intranet", "<IIsApplicationPools\t"));
}

TEST(MetaBaseEditTest, DeleteSiteOneKeepsSitesWhoseIdStartsWithOne) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.DeleteSite("1").ok());
  EXPECT_EQ(metabase.Serialize(), Cut(Fixture(), "<IIsWebServer\tLocation =\"/LM/W3SVC/1\"",
                                      "<IIsWebServer\tLocation =\"/LM/W3SVC/1962875481\""));
  EXPECT_THAT(SiteIds(ParseOrDie(metabase.Serialize())), ElementsAre("1962875481", "2012345678"));
}

TEST(MetaBaseEditTest, AddThenDeleteRestoresTheOriginalBytes) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.AddSiteWithId("1500000000", TemporarySite()).ok());
  ASSERT_TRUE(metabase.DeleteSite("1500000000").ok());
  EXPECT_EQ(metabase.Serialize(), Fixture());
}

// The keys are looked up by Location through an index that the edits keep
// up to date, so the same MetaBase must see its own edits without a reparse.
TEST(MetaBaseEditTest, EditsAreSeenWithoutReparsing) {
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.AddSiteWithId("1500000000", TemporarySite()).ok());
  absl::StatusOr<Site> added = metabase.FindSite("1500000000");
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->root_path, "C:\\Inetpub\\certfleet-temporary");
  ASSERT_TRUE(metabase.SetCertificate("1500000000", kNewThumbprint).ok());
  EXPECT_EQ(metabase.FindSite("1500000000")->ssl_cert_hash,
            "0123456789ABCDEF0123456789ABCDEF01234567");

  // Deleting site 1 forgets its keys; a new site 1 gets its own ROOT.
  ASSERT_TRUE(metabase.DeleteSite("1").ok());
  EXPECT_EQ(metabase.FindSite("1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(metabase.SetCertificate("1", kNewThumbprint).code(), absl::StatusCode::kNotFound);
  NewSite replacement = TemporarySite();
  replacement.root_path = "E:\\New Default";
  ASSERT_TRUE(metabase.AddSiteWithId("1", replacement).ok());
  absl::StatusOr<Site> readded = metabase.FindSite("1");
  ASSERT_TRUE(readded.ok()) << readded.status();
  EXPECT_EQ(readded->root_path, "E:\\New Default");
  EXPECT_THAT(SiteIds(metabase), ElementsAre("1962875481", "2012345678", "1500000000", "1"));
  EXPECT_EQ(metabase.Sites().back().root_path, "E:\\New Default");
}

class MetaBaseFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "metabase_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    folder_ = pattern;
  }
  void TearDown() override { fs::remove_all(folder_); }

  // Names in `folder`, sorted, so tests can assert that no temporary file
  // was left behind.
  static std::vector<std::string> Listing(const fs::path& folder) {
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  static mode_t Mode(const fs::path& path) {
    struct stat status;
    EXPECT_EQ(::stat(path.c_str(), &status), 0);
    return status.st_mode & 07777;
  }

  fs::path folder_;
};

TEST_F(MetaBaseFileTest, LoadReadsAFile) {
  WriteFile(folder_ / "MetaBase.xml", Fixture());
  absl::StatusOr<MetaBase> metabase = MetaBase::Load(folder_ / "MetaBase.xml");
  ASSERT_TRUE(metabase.ok()) << metabase.status();
  EXPECT_EQ(metabase->Serialize(), Fixture());
}

TEST_F(MetaBaseFileTest, LoadReportsMissingFilesDirectoriesAndOversizedFiles) {
  absl::Status missing = MetaBase::Load(folder_ / "MetaBase.xml").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("MetaBase.xml: no such file"));

  absl::Status directory = MetaBase::Load(folder_).status();
  EXPECT_EQ(directory.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(directory.message()), HasSubstr("is a directory"));

  WriteFile(folder_ / "MetaBase.xml", Fixture());
  absl::Status too_large = MetaBase::Load(folder_ / "MetaBase.xml", 1000).status();
  EXPECT_EQ(too_large.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      std::string(too_large.message()),
      HasSubstr(absl::StrCat(" is ", Fixture().size(), " bytes, more than the 1000-byte limit")));
}

TEST_F(MetaBaseFileTest, LoadRefusesACorruptFileAndLeavesItUntouched) {
  std::string corrupt = ReplaceOnce(Fixture(), "40da7e6686d698efae7172220f4da438025dfeea", "zz");
  fs::path path = folder_ / "MetaBase.xml";
  WriteFile(path, corrupt);
  absl::Status status = MetaBase::Load(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith(absl::StrCat(path.string(), ": MetaBase.xml line 55: ")));
  EXPECT_EQ(ReadFile(path), corrupt);
  EXPECT_THAT(Listing(folder_), ElementsAre("MetaBase.xml"));
}

TEST_F(MetaBaseFileTest, SaveReplacesTheFileKeepsItsModeAndWritesTheFirstHistoryCopy) {
  fs::path path = folder_ / "MetaBase.xml";
  WriteFile(path, "old contents");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.SetCertificate("1", kNewThumbprint).ok());

  absl::StatusOr<fs::path> history = metabase.Save(path);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(*history, folder_ / "History" / "MetaBase_0000000001_0000000000.xml");
  EXPECT_EQ(ReadFile(path), metabase.Serialize());
  EXPECT_EQ(ReadFile(*history), metabase.Serialize());
  EXPECT_EQ(Mode(path), 0640u);
  EXPECT_EQ(Mode(*history), 0640u);
  EXPECT_THAT(Listing(folder_), ElementsAre("History", "MetaBase.xml"));
  EXPECT_THAT(Listing(folder_ / "History"), ElementsAre("MetaBase_0000000001_0000000000.xml"));
}

TEST_F(MetaBaseFileTest, SaveCreatesANewFileWithMode0600) {
  fs::path path = folder_ / "MetaBase.xml";
  absl::StatusOr<fs::path> history = ParseOrDie(Fixture()).Save(path);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(ReadFile(path), Fixture());
  EXPECT_EQ(Mode(path), 0600u);
}

TEST_F(MetaBaseFileTest, SaveNumbersTheHistoryCopyAfterTheHighestMajorVersion) {
  fs::path history_folder = folder_ / "inetsrv-history";
  fs::create_directory(history_folder);
  WriteFile(history_folder / "MetaBase_0000000040_0000000000.xml", "");
  WriteFile(history_folder / "MetaBase_0000000041_0000000003.xml", "");
  WriteFile(history_folder / "MBSchema_0000000099_0000000000.xml", "");
  WriteFile(history_folder / "MetaBase_99.xml", "");
  absl::StatusOr<fs::path> history =
      ParseOrDie(Fixture()).Save(folder_ / "MetaBase.xml", history_folder);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(*history, history_folder / "MetaBase_0000000042_0000000000.xml");
  EXPECT_EQ(ReadFile(*history), Fixture());

  absl::StatusOr<fs::path> next =
      ParseOrDie(Fixture()).Save(folder_ / "MetaBase.xml", history_folder);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, history_folder / "MetaBase_0000000043_0000000000.xml");
}

TEST_F(MetaBaseFileTest, SaveToADirectoryFailsAndChangesNothing) {
  fs::path target = folder_ / "MetaBase.xml";
  fs::create_directory(target);
  absl::StatusOr<fs::path> history = ParseOrDie(Fixture()).Save(target);
  EXPECT_EQ(history.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(history.status().message()), HasSubstr("is a directory"));
  EXPECT_THAT(Listing(folder_), ElementsAre("MetaBase.xml"));
  EXPECT_THAT(Listing(target), IsEmpty());
}

TEST_F(MetaBaseFileTest, SaveFailingBeforeTheRenameLeavesTheTargetUntouched) {
  fs::path path = folder_ / "MetaBase.xml";
  WriteFile(path, Fixture());
  // The history folder cannot be created because a file has its name, so
  // the save fails after its checks but before anything replaces the target.
  WriteFile(folder_ / "History", "not a folder");
  MetaBase metabase = ParseOrDie(Fixture());
  ASSERT_TRUE(metabase.DeleteSite("1").ok());
  absl::StatusOr<fs::path> history = metabase.Save(path);
  EXPECT_EQ(history.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(history.status().message()), HasSubstr("exists but is not a folder"));
  EXPECT_EQ(ReadFile(path), Fixture());
  EXPECT_THAT(Listing(folder_), ElementsAre("History", "MetaBase.xml"));
}

TEST_F(MetaBaseFileTest, SaveIntoAMissingFolderReportsNotFound) {
  absl::StatusOr<fs::path> history =
      ParseOrDie(Fixture()).Save(folder_ / "missing" / "MetaBase.xml");
  EXPECT_EQ(history.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Listing(folder_), IsEmpty());
}

TEST_F(MetaBaseFileTest, LoadEditSaveLoadKeepsTheEdit) {
  fs::path path = folder_ / "MetaBase.xml";
  WriteFile(path, Fixture());
  absl::StatusOr<MetaBase> metabase = MetaBase::Load(path);
  ASSERT_TRUE(metabase.ok()) << metabase.status();
  ASSERT_TRUE(metabase->SetCertificate("1962875481", kNewThumbprint).ok());
  ASSERT_TRUE(metabase->Save(path).ok());
  absl::StatusOr<MetaBase> reloaded = MetaBase::Load(path);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  absl::StatusOr<Site> site = reloaded->FindSite("1962875481");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->ssl_cert_hash, "0123456789ABCDEF0123456789ABCDEF01234567");
  EXPECT_EQ(reloaded->Serialize(), metabase->Serialize());
}

}  // namespace
}  // namespace certfleet::iis6
