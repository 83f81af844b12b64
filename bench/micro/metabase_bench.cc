// Micro-benchmarks of the IIS 6 driver's MetaBase.xml reader and writer
// (agent/drivers/iis6/metabase.h) on files of 1, 100 and 1,000 web sites
// (the Arg of each benchmark; --max-sites leaves out larger files): parsing, loading from disk,
// listing the sites (inventory scan), finding a site, replacing its SSL binding in memory,
// serializing, saving atomically with the history copy, and the driver's
// whole binding replacement (load, find, set SSLCertHash, save).
//
// The files are generated at start-up in IIS 6's own layout (as
// agent/drivers/iis6/emulated_host_builder.cc writes them: CRLF, one
// attribute per line, IIS-style ten-digit site ids, a ROOT virtual
// directory per site, every other site bound to a certificate, an XML
// comment and a <Custom> property here and there) into a mkdtemp folder
// removed at exit.
//
//   build/bin/metabase_bench [--max-sites N] [benchmark flags]
//   build/bin/metabase_bench --max-sites 100 --benchmark_min_time=0.01   # the smoke run
//
// Exits non-zero when a benchmark fails.
//
// Thread safety: single-threaded program.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/drivers/iis6/metabase.h"
#include "bench/micro/micro_bench_support.h"
#include "common/io/file.h"

namespace {

namespace iis6 = certfleet::iis6;
using certfleet::bench::Fail;

constexpr char kLineEnd[] = "\r\n";

std::filesystem::path* folder = nullptr;

// IIS-style site ids: ten digits, the first site "1" (the Default Web Site).
std::string SiteId(int index) { return index == 0 ? "1" : absl::StrCat(1000000000 + index * 7919); }

std::string Thumbprint(int number) { return absl::StrFormat("%040X", number); }

// One key as IIS writes it; `attributes` must already be in IIS's sorted
// order.
std::string Key(std::string_view type, std::string_view location,
                const std::vector<std::pair<std::string, std::string>>& attributes,
                std::string_view children = "") {
  std::string text =
      absl::StrCat("<", std::string(type), "\tLocation =\"", std::string(location), "\"", kLineEnd);
  for (const auto& [name, value] : attributes) {
    absl::StrAppend(&text, "\t\t", name, "=\"", value, "\"", kLineEnd);
  }
  absl::StrAppend(&text, "\t>", kLineEnd, std::string(children), "</", std::string(type), ">",
                  kLineEnd);
  return text;
}

// A MetaBase.xml of `site_count` sites.
std::string MetaBaseText(int site_count) {
  std::string text =
      absl::StrCat("<?xml version =\"1.0\"?>", kLineEnd,
                   "<configuration xmlns=\"urn:microsoft-catalog:XML_Metabase_V64_0\">", kLineEnd,
                   "<MBProperty>", kLineEnd);
  absl::StrAppend(&text, Key("IIS_Global", ".",
                             {{"BINSchemaTimeStamp", "f1d9b3f4c1d2c401"},
                              {"ChangeNumber", "412"},
                              {"HistoryMajorVersionNumber", "40"},
                              {"XMLSchemaTimeStamp", "6b3c5d10c1d2c401"}}));
  absl::StrAppend(&text, Key("IIsComputer", "/LM",
                             {{"EnableEditWhileRunning", "1"},
                              {"EnableHistory", "1"},
                              {"MaxBandwidth", "4294967295"},
                              {"MaxHistoryFiles", "10"}}));
  const std::string custom =
      absl::StrCat("\t<Custom", kLineEnd, "\t\tName=\"AdminServer\"", kLineEnd, "\t\tID=\"2115\"",
                   kLineEnd, "\t\tValue=\"2\"", kLineEnd, "\t\tType=\"STRING\"", kLineEnd,
                   "\t\tUserType=\"IIS_MD_UT_SERVER\"", kLineEnd, "\t\tAttributes=\"INHERIT\"",
                   kLineEnd, "\t/>", kLineEnd);
  absl::StrAppend(&text, Key("IIsWebService", "/LM/W3SVC",
                             {{"AccessFlags", "AccessRead | AccessScript"},
                              {"AnonymousUserName", "IUSR_WEB01"},
                              {"AppPoolId", "DefaultAppPool"},
                              {"DefaultDoc", "Default.htm,Default.asp,index.htm,index.html"},
                              {"DownlevelAdminInstance", "1"},
                              {"LogFileDirectory", "C:\\WINDOWS\\system32\\LogFiles"}},
                             custom));
  absl::StrAppend(&text, Key("IIsFilters", "/LM/W3SVC/Filters", {{"FilterLoadOrder", ""}}));
  for (int index = 0; index < site_count; ++index) {
    const std::string location = absl::StrCat("/LM/W3SVC/", SiteId(index));
    const std::string host = absl::StrCat("site", index, ".example.com");
    std::vector<std::pair<std::string, std::string>> server = {
        {"AppPoolId", "DefaultAppPool"},
        {"LogPluginClsid", "{FF160663-DE82-11CF-BC0A-00AA006111E0}"}};
    const bool secure = index % 2 == 0;
    if (secure) {
      server.emplace_back("SSLCertHash", Thumbprint(index + 1));
      server.emplace_back("SSLStoreName", "MY");
      server.emplace_back("SecureBindings",
                          absl::StrCat("10.0.", index / 250, ".", index % 250, ":443:"));
    }
    server.emplace_back("ServerAutoStart", index % 7 == 6 ? "FALSE" : "TRUE");
    server.emplace_back("ServerBindings", absl::StrCat(":80:", host));
    server.emplace_back("ServerComment", absl::StrCat("Site ", index, " (", host, ")"));
    server.emplace_back("ServerSize", "1");
    if (index % 10 == 3) {
      absl::StrAppend(&text, "<!-- ", host, ": owned by team ", index % 17, " -->", kLineEnd);
    }
    absl::StrAppend(&text, Key("IIsWebServer", location, server, index % 25 == 5 ? custom : ""));
    absl::StrAppend(&text, Key("IIsWebVirtualDir", absl::StrCat(location, "/ROOT"),
                               {{"AccessFlags", "AccessRead | AccessScript"},
                                {"AppFriendlyName", "Default Application"},
                                {"AppIsolated", "2"},
                                {"AppRoot", absl::StrCat(location, "/ROOT")},
                                {"Path", absl::StrCat("D:\\Sites\\", host)}}));
  }
  absl::StrAppend(&text, Key("IIsApplicationPools", "/LM/W3SVC/AppPools",
                             {{"AppPoolQueueLength", "1000"}, {"PeriodicRestartTime", "1740"}}));
  absl::StrAppend(&text, Key("IIsApplicationPool", "/LM/W3SVC/AppPools/DefaultAppPool",
                             {{"AppPoolIdentityType", "2"}}));
  absl::StrAppend(&text, "</MBProperty>", kLineEnd, "</configuration>", kLineEnd);
  return text;
}

// The text of each size, generated once.
const std::string& Text(int site_count) {
  static std::map<int, std::string> texts;
  auto found = texts.find(site_count);
  if (found == texts.end()) found = texts.emplace(site_count, MetaBaseText(site_count)).first;
  return found->second;
}

// A host root's MetaBase.xml of `site_count` sites, written once per size.
std::filesystem::path MetaBaseFile(int site_count) {
  const std::filesystem::path path = *folder / absl::StrCat("sites-", site_count) / "MetaBase.xml";
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    std::filesystem::create_directories(path.parent_path(), error);
    if (absl::Status status = certfleet::io::WriteFileAtomically(path, Text(site_count), 0600);
        !status.ok()) {
      return {};
    }
  }
  return path;
}

// The site whose binding the edits replace: the last secure one, so that
// FindSite walks the whole file.
std::string EditedSiteId(int site_count) { return SiteId((site_count - 1) / 2 * 2); }

void BM_MetaBaseParse(benchmark::State& state) {
  const std::string& text = Text(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    absl::StatusOr<iis6::MetaBase> metabase = iis6::MetaBase::Parse(text);
    if (!metabase.ok()) return Fail(state, "MetaBase::Parse", metabase.status());
    benchmark::DoNotOptimize(metabase);
  }
  state.SetBytesProcessed(state.iterations() * text.size());
  state.counters["file_bytes"] = static_cast<double>(text.size());
}

// Read the file and parse it, as every driver operation starts.
void BM_MetaBaseLoad(benchmark::State& state) {
  const std::filesystem::path path = MetaBaseFile(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    absl::StatusOr<iis6::MetaBase> metabase = iis6::MetaBase::Load(path);
    if (!metabase.ok()) return Fail(state, "MetaBase::Load", metabase.status());
    benchmark::DoNotOptimize(metabase);
  }
}

// Every site with its bindings and bound certificate (the inventory scan).
void BM_MetaBaseListSites(benchmark::State& state) {
  absl::StatusOr<iis6::MetaBase> metabase =
      iis6::MetaBase::Parse(Text(static_cast<int>(state.range(0))));
  if (!metabase.ok()) return Fail(state, "MetaBase::Parse", metabase.status());
  for (auto _ : state) benchmark::DoNotOptimize(metabase->Sites());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_MetaBaseFindSite(benchmark::State& state) {
  const int site_count = static_cast<int>(state.range(0));
  absl::StatusOr<iis6::MetaBase> metabase = iis6::MetaBase::Parse(Text(site_count));
  if (!metabase.ok()) return Fail(state, "MetaBase::Parse", metabase.status());
  const std::string site_id = EditedSiteId(site_count);
  for (auto _ : state) {
    absl::StatusOr<iis6::Site> site = metabase->FindSite(site_id);
    if (!site.ok()) return Fail(state, "FindSite", site.status());
    benchmark::DoNotOptimize(site);
  }
}

// SetCertificate in memory, alternating between two thumbprints so that
// every call really changes the attribute.
void BM_MetaBaseSetCertificate(benchmark::State& state) {
  const int site_count = static_cast<int>(state.range(0));
  absl::StatusOr<iis6::MetaBase> metabase = iis6::MetaBase::Parse(Text(site_count));
  if (!metabase.ok()) return Fail(state, "MetaBase::Parse", metabase.status());
  const std::string site_id = EditedSiteId(site_count);
  const std::string thumbprints[] = {Thumbprint(0xABCDEF), Thumbprint(0xFEDCBA)};
  int turn = 0;
  for (auto _ : state) {
    if (absl::Status status = metabase->SetCertificate(site_id, thumbprints[turn ^= 1]);
        !status.ok()) {
      return Fail(state, "SetCertificate", status);
    }
  }
}

void BM_MetaBaseSerialize(benchmark::State& state) {
  absl::StatusOr<iis6::MetaBase> metabase =
      iis6::MetaBase::Parse(Text(static_cast<int>(state.range(0))));
  if (!metabase.ok()) return Fail(state, "MetaBase::Parse", metabase.status());
  for (auto _ : state) benchmark::DoNotOptimize(metabase->Serialize());
}

// Save: temporary file, fsync, rename, folder fsync, and the history copy.
// The history copy is removed outside the timing so that every save sees
// the same history folder (IIS keeps MaxHistoryFiles of them).
void BM_MetaBaseSave(benchmark::State& state) {
  const int site_count = static_cast<int>(state.range(0));
  const std::filesystem::path path = MetaBaseFile(site_count);
  absl::StatusOr<iis6::MetaBase> metabase = iis6::MetaBase::Load(path);
  if (!metabase.ok()) return Fail(state, "MetaBase::Load", metabase.status());
  for (auto _ : state) {
    absl::StatusOr<std::filesystem::path> history = metabase->Save(path);
    if (!history.ok()) return Fail(state, "MetaBase::Save", history.status());
    state.PauseTiming();
    std::error_code error;
    std::filesystem::remove(*history, error);
    state.ResumeTiming();
  }
}

// The driver's binding replacement from disk to disk: load, find the site,
// set its SSLCertHash, save atomically (Iis6Driver::ReplaceBinding without
// its store and SNI checks).
void BM_MetaBaseReplaceBinding(benchmark::State& state) {
  const int site_count = static_cast<int>(state.range(0));
  const std::filesystem::path path = MetaBaseFile(site_count);
  const std::string site_id = EditedSiteId(site_count);
  const std::string thumbprints[] = {Thumbprint(0x123456), Thumbprint(0x654321)};
  int turn = 0;
  for (auto _ : state) {
    absl::StatusOr<iis6::MetaBase> metabase = iis6::MetaBase::Load(path);
    if (!metabase.ok()) return Fail(state, "MetaBase::Load", metabase.status());
    absl::StatusOr<iis6::Site> site = metabase->FindSite(site_id);
    if (!site.ok()) return Fail(state, "FindSite", site.status());
    if (absl::Status status = metabase->SetCertificate(site->id, thumbprints[turn ^= 1]);
        !status.ok()) {
      return Fail(state, "SetCertificate", status);
    }
    absl::StatusOr<std::filesystem::path> history = metabase->Save(path);
    if (!history.ok()) return Fail(state, "MetaBase::Save", history.status());
    state.PauseTiming();
    std::error_code error;
    std::filesystem::remove(*history, error);
    state.ResumeTiming();
  }
}

// The site counts measured; --max-sites leaves out the larger ones.
int max_sites = 1000;

void RegisterAll() {
  const std::vector<std::pair<std::string, void (*)(benchmark::State&)>> benchmarks = {
      {"BM_MetaBaseParse", BM_MetaBaseParse},
      {"BM_MetaBaseLoad", BM_MetaBaseLoad},
      {"BM_MetaBaseListSites", BM_MetaBaseListSites},
      {"BM_MetaBaseFindSite", BM_MetaBaseFindSite},
      {"BM_MetaBaseSetCertificate", BM_MetaBaseSetCertificate},
      {"BM_MetaBaseSerialize", BM_MetaBaseSerialize},
      {"BM_MetaBaseSave", BM_MetaBaseSave},
      {"BM_MetaBaseReplaceBinding", BM_MetaBaseReplaceBinding},
  };
  for (const auto& [name, function] : benchmarks) {
    benchmark::internal::Benchmark* registered =
        benchmark::RegisterBenchmark(name.c_str(), function);
    registered->ArgName("sites")->Unit(benchmark::kMicrosecond);
    for (int sites : {1, 100, 1000}) {
      if (sites <= max_sites) registered->Arg(sites);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, int> flags = {{"max-sites", max_sites}};
  if (absl::Status parsed = certfleet::bench::ParsePositiveFlags(argc, argv, flags); !parsed.ok()) {
    std::cerr << parsed.message() << "\n";
    return 2;
  }
  max_sites = flags["max-sites"];
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  certfleet::bench::TemporaryFolder temporary("certfleet-metabase-bench");
  std::filesystem::path path = temporary.path();
  folder = &path;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  folder = nullptr;
  return certfleet::bench::RunFailed() ? 1 : 0;
}
