// The HTTP API over real HTTP on 127.0.0.1 (port 0) against an HttpServer on
// an in-memory SqliteStore seeded with a small fleet (http_test_seed.h):
// every resource, filters, sorting, pagination, errors, the bearer token,
// the embedded dashboard files, the CSV export and /metrics line by line.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "controller/http/http_server.h"
#include "controller/store/sqlite/sqlite_store.h"
#include "tests/controller/http/http_test_seed.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet::controller::http::testing {
namespace {

using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kToken[] = "test-token-0123456789abcdef";

struct Answer {
  int status = 0;
  std::string content_type;
  std::string body;
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(store_, store::SqliteStore::Open({.path = ":memory:"}));
    CERTFLEET_ASSERT_OK_AND_ASSIGN(fleet_, SeedFleet(*store_));
    StartServer(/*with_token=*/false);
  }

  void StartServer(bool with_token) {
    server_.reset();
    HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.api.clock = [] { return SeedNow(); };
    if (with_token) {
      options.token_file = directory_.path() / "token";
      std::ofstream(options.token_file) << kToken << "\n";
    }
    CERTFLEET_ASSERT_OK_AND_ASSIGN(server_, HttpServer::Start(options, store_.get()));
  }

  Answer Get(const std::string& path, const std::string& token = "") {
    httplib::Client client("127.0.0.1", server_->port());
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", absl::StrCat("Bearer ", token));
    httplib::Result result = client.Get(path, headers);
    Answer answer;
    EXPECT_TRUE(result) << "GET " << path << " failed: " << httplib::to_string(result.error());
    if (!result) return answer;
    answer.status = result->status;
    answer.content_type = result->get_header_value("Content-Type");
    answer.body = result->body;
    return answer;
  }

  json GetJson(const std::string& path) {
    Answer answer = Get(path);
    EXPECT_EQ(answer.status, 200) << path << ": " << answer.body;
    EXPECT_EQ(answer.content_type, "application/json") << path;
    return answer.Json();
  }

  // The values of `field` of every item, in order.
  static std::vector<std::string> Field(const json& page, const std::string& field) {
    std::vector<std::string> values;
    for (const json& item : page["items"]) {
      values.push_back(item[field].is_string() ? item[field].get<std::string>()
                                               : item[field].dump());
    }
    return values;
  }

  static std::string Thumbprint(int number) { return SeedCertificate(number, 0).thumbprint_sha1; }

  TemporaryDirectory directory_;
  std::unique_ptr<store::SqliteStore> store_;
  SeededFleet fleet_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpApiTest, SummaryCountsTheSeededFleet) {
  json summary = GetJson("/api/v1/summary");
  EXPECT_EQ(summary["generated_at"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(summary["hosts"],
            (json{{"total", 2}, {"online", 1}, {"offline", 1}, {"inventory_failures", 0}}));
  EXPECT_EQ(summary["agents_connected"], 1);
  EXPECT_EQ(summary["certificates_by_expiry"], (json{{"expired", 1},
                                                     {"under_7_days", 1},
                                                     {"under_30_days", 1},
                                                     {"under_90_days", 1},
                                                     {"later", 0}}));
  EXPECT_EQ(summary["served"], (json{{"matches", 1},
                                     {"mismatch", 1},
                                     {"incomplete_chain", 1},
                                     {"unreachable", 0},
                                     {"not_probed", 1}}));
  EXPECT_EQ(summary["orders_by_state"]["done"], 1);
  EXPECT_EQ(summary["orders_by_state"]["failed"], 1);
  EXPECT_EQ(summary["orders_by_state"]["deploying"], 1);
  EXPECT_EQ(summary["orders_by_state"]["due"], 0);
  EXPECT_EQ(summary["orders_in_progress"], 1);
  const json& timeline = summary["expiry_timeline"];
  ASSERT_EQ(timeline.size(), 90u);
  EXPECT_EQ(timeline[0]["start"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(timeline[1]["start"], "2026-01-02T00:00:00Z");
  std::map<int, int> nonzero;
  for (size_t day = 0; day < timeline.size(); ++day) {
    if (timeline[day]["count"] != 0) nonzero[static_cast<int>(day)] = timeline[day]["count"];
  }
  EXPECT_EQ(nonzero, (std::map<int, int>{{3, 1}, {20, 1}, {60, 1}}));
}

TEST_F(HttpApiTest, HostsAreFilteredAndPaged) {
  json hosts = GetJson("/api/v1/hosts");
  EXPECT_THAT(Field(hosts, "hostname"), ElementsAre("db-02.example.org", "web-01.example.com"));
  EXPECT_EQ(hosts["total_size"], 2);
  EXPECT_EQ(hosts["next_page_token"], "");
  const json& web = hosts["items"][1];
  EXPECT_EQ(web["online"], true);
  EXPECT_EQ(web["labels"], (json{{"env", "prod"}}));
  EXPECT_EQ(web["last_seen_at"], "2025-12-31T23:59:00Z");
  EXPECT_EQ(web["last_inventory_at"], "2025-12-31T23:50:00Z");

  EXPECT_THAT(Field(GetJson("/api/v1/hosts?online=true"), "hostname"),
              ElementsAre("web-01.example.com"));
  EXPECT_THAT(Field(GetJson("/api/v1/hosts?online=false"), "hostname"),
              ElementsAre("db-02.example.org"));
  EXPECT_THAT(Field(GetJson("/api/v1/hosts?label=env%3Dtest"), "hostname"),
              ElementsAre("db-02.example.org"));
  EXPECT_THAT(Field(GetJson("/api/v1/hosts?name=web-*"), "hostname"),
              ElementsAre("web-01.example.com"));

  json first = GetJson("/api/v1/hosts?page_size=1");
  EXPECT_THAT(Field(first, "hostname"), ElementsAre("db-02.example.org"));
  ASSERT_NE(first["next_page_token"], "");
  json second = GetJson(absl::StrCat("/api/v1/hosts?page_size=1&page_token=",
                                     first["next_page_token"].get<std::string>()));
  EXPECT_THAT(Field(second, "hostname"), ElementsAre("web-01.example.com"));
  EXPECT_EQ(second["next_page_token"], "");
}

TEST_F(HttpApiTest, HostDetailHasSitesAndBindingsWithServedStatus) {
  json host = GetJson(absl::StrCat("/api/v1/hosts/", fleet_.web_host_id));
  EXPECT_EQ(host["hostname"], "web-01.example.com");
  ASSERT_THAT(host["sites"], SizeIs(2));
  EXPECT_EQ(host["sites"][1]["name"], "Blog, \"quoted\"");
  ASSERT_THAT(host["sites"][1]["bindings"], SizeIs(1));
  const json& binding = host["sites"][1]["bindings"][0];
  EXPECT_EQ(binding["certificate_thumbprint"], Thumbprint(2));
  EXPECT_EQ(binding["served"]["status"], "mismatch");
  EXPECT_EQ(binding["served"]["served_thumbprint"], Thumbprint(9));
  EXPECT_EQ(binding["served"]["probed_at"], "2025-12-31T23:55:00Z");
  EXPECT_EQ(binding["served"]["endpoint"], "10.0.0.5:443");
  ASSERT_THAT(host["bindings"], SizeIs(2));

  json db = GetJson(absl::StrCat("/api/v1/hosts/", fleet_.db_host_id));
  EXPECT_EQ(db["bindings"][1]["served"]["status"], "not_probed");
  EXPECT_EQ(db["bindings"][1]["served"]["probed_at"], nullptr);

  Answer missing = Get("/api/v1/hosts/host-00000000000000000000000000000000");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()["error"]["code"], "not_found");
  EXPECT_THAT(missing.Json()["error"]["message"].get<std::string>(),
              HasSubstr("host-00000000000000000000000000000000"));
}

TEST_F(HttpApiTest, CertificatesListBoundOnesSoonestFirstWithEveryField) {
  json page = GetJson("/api/v1/certificates");
  EXPECT_THAT(Field(page, "thumbprint"),
              ElementsAre(Thumbprint(6), Thumbprint(1), Thumbprint(2), Thumbprint(5)));
  EXPECT_THAT(Field(page, "days_left"), ElementsAre("-2", "3", "20", "60"));
  EXPECT_EQ(page["total_size"], 4);

  const json& blog = page["items"][2];
  EXPECT_EQ(blog["host_id"], fleet_.web_host_id);
  EXPECT_EQ(blog["hostname"], "web-01.example.com");
  EXPECT_EQ(blog["fingerprint_sha256"], SeedCertificate(2, 0).fingerprint_sha256);
  EXPECT_EQ(blog["subject"], "=HYPERLINK(\"x\"),CN=blog.example.com");
  EXPECT_EQ(blog["subject_alternative_names"], (json{"DNS:www2.example.com"}));
  EXPECT_EQ(blog["issuer"], "CN=CrossTrust OV CA3,O=CrossTrust");
  EXPECT_EQ(blog["serial_number"], "00000002");
  EXPECT_EQ(blog["not_after"], "2026-01-21T12:00:00Z");
  EXPECT_EQ(blog["not_before"], "2025-10-23T12:00:00Z");
  EXPECT_EQ(blog["key_algorithm"], "RSA");
  EXPECT_EQ(blog["key_bits"], 2048);
  EXPECT_EQ(blog["signature_hash"], "SHA256");
  EXPECT_EQ(blog["store"], "MY");
  ASSERT_THAT(blog["bound_sites"], SizeIs(1));
  EXPECT_EQ(blog["bound_sites"][0]["site_id"], "2");
  EXPECT_EQ(blog["bound_sites"][0]["site_name"], "Blog, \"quoted\"");
  EXPECT_EQ(blog["bound_sites"][0]["served"]["status"], "mismatch");
  EXPECT_EQ(blog["served_status"], "mismatch");
  EXPECT_EQ(page["items"][0]["served_status"], "not_probed");
  EXPECT_EQ(page["items"][1]["served_status"], "matches");
  EXPECT_EQ(page["items"][3]["served_status"], "incomplete_chain");
}

TEST_F(HttpApiTest, CertificateFiltersAndSorting) {
  EXPECT_THAT(Field(GetJson("/api/v1/certificates?expiring_within=30d"), "thumbprint"),
              ElementsAre(Thumbprint(6), Thumbprint(1), Thumbprint(2)));
  EXPECT_THAT(Field(GetJson("/api/v1/certificates?expiring_within=12h"), "thumbprint"),
              ElementsAre(Thumbprint(6)));
  EXPECT_THAT(Field(GetJson(absl::StrCat("/api/v1/certificates?host_id=", fleet_.db_host_id)),
                    "thumbprint"),
              ElementsAre(Thumbprint(6), Thumbprint(5)));
  EXPECT_THAT(Field(GetJson("/api/v1/certificates?subject=www5"), "thumbprint"),
              ElementsAre(Thumbprint(5)));
  EXPECT_THAT(Field(GetJson("/api/v1/certificates?subject=HYPERLINK"), "thumbprint"),
              ElementsAre(Thumbprint(2)));
  EXPECT_THAT(Field(GetJson("/api/v1/certificates?issuer=crosstrust"), "thumbprint"), SizeIs(4));
  EXPECT_THAT(Field(GetJson("/api/v1/certificates?issuer=nobody"), "thumbprint"), SizeIs(0));
  EXPECT_THAT(
      Field(GetJson(absl::StrCat("/api/v1/certificates?thumbprint=", Thumbprint(1))), "hostname"),
      ElementsAre("web-01.example.com"));

  json untotalled = GetJson("/api/v1/certificates?expiring_within=30d&total_size=false");
  EXPECT_EQ(untotalled["total_size"], nullptr);
  EXPECT_THAT(untotalled["items"], SizeIs(3));

  json server = GetJson("/api/v1/certificates?scope=server");
  EXPECT_EQ(server["total_size"], 5);  // Certificate 4 too, not 3 (in CA).
  json all = GetJson("/api/v1/certificates?scope=all");
  EXPECT_EQ(all["total_size"], 6);
  EXPECT_EQ(all["items"][5]["thumbprint"], Thumbprint(3));
  EXPECT_EQ(all["items"][5]["bound_sites"], json::array());
  EXPECT_EQ(all["items"][5]["served_status"], nullptr);

  EXPECT_THAT(Field(GetJson("/api/v1/certificates?sort=hostname&order=desc"), "hostname"),
              ElementsAre("web-01.example.com", "web-01.example.com", "db-02.example.org",
                          "db-02.example.org"));
  EXPECT_THAT(Field(GetJson("/api/v1/certificates?sort=not_after&order=desc"), "thumbprint"),
              ElementsAre(Thumbprint(5), Thumbprint(2), Thumbprint(1), Thumbprint(6)));
}

TEST_F(HttpApiTest, CertificatePagesWalkTheWholeListing) {
  std::vector<std::string> walked;
  std::string token;
  int pages = 0;
  do {
    json page = GetJson(absl::StrCat("/api/v1/certificates?sort=subject&page_size=1",
                                     token.empty() ? "" : "&page_token=", token));
    for (const std::string& thumbprint : Field(page, "thumbprint")) walked.push_back(thumbprint);
    EXPECT_EQ(page["total_size"], 4);
    token = page["next_page_token"];
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(walked, Field(GetJson("/api/v1/certificates?sort=subject"), "thumbprint"));
  EXPECT_EQ(pages, 4);
}

TEST_F(HttpApiTest, BadParametersAreRefusedWith400) {
  for (const char* path : {
           "/api/v1/certificates?expiring_within=30x",
           "/api/v1/certificates?expiring_within=d",
           "/api/v1/certificates?scope=everything",
           "/api/v1/certificates?sort=size",
           "/api/v1/certificates?order=up",
           "/api/v1/certificates?page_size=abc",
           "/api/v1/certificates?page_size=-1",
           "/api/v1/certificates?page_token=not-a-token",
           "/api/v1/certificates?expiring=30d",
           "/api/v1/certificates.csv?scope=everything",
           "/api/v1/hosts?online=maybe",
           "/api/v1/hosts?label=novalue",
           "/api/v1/orders?state=nonsense",
           "/api/v1/orders?open=false",
           "/api/v1/jobs?kind=dance",
           "/api/v1/jobs?state=sleeping",
           "/api/v1/failures?limit=0",
           "/api/v1/summary?verbose=true",
       }) {
    Answer answer = Get(path);
    EXPECT_EQ(answer.status, 400) << path << ": " << answer.body;
    json body = answer.Json();
    EXPECT_EQ(body["error"]["code"], "invalid_argument") << path;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty()) << path;
  }
  EXPECT_THAT(
      Get("/api/v1/certificates?expiring=30d").Json()["error"]["message"].get<std::string>(),
      HasSubstr("unknown parameter 'expiring'"));
  Answer unknown = Get("/api/v1/widgets");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json()["error"]["code"], "not_found");
  EXPECT_THAT(unknown.Json()["error"]["message"].get<std::string>(), HasSubstr("campaigns"))
      << "the message lists the resources there are";
}

TEST_F(HttpApiTest, OrdersShowTheirCurrentStepAndFailure) {
  json orders = GetJson("/api/v1/orders");
  EXPECT_THAT(Field(orders, "order_id"),
              ElementsAre(fleet_.deploying_order_id, fleet_.done_order_id, fleet_.failed_order_id));
  const json& deploying = orders["items"][0];
  EXPECT_EQ(deploying["hostname"], "web-01.example.com");
  EXPECT_EQ(deploying["site"], "Blog, \"quoted\"");
  EXPECT_EQ(deploying["state"], "deploying");
  EXPECT_EQ(deploying["trigger"], "schedule");
  EXPECT_EQ(deploying["created_at"], "2025-12-31T23:10:00Z");
  EXPECT_EQ(deploying["updated_at"], "2025-12-31T23:20:00Z");
  EXPECT_EQ(deploying["current_step"]["kind"], "deploy");
  EXPECT_EQ(deploying["current_step"]["step"], "REPLACE_BINDING");
  EXPECT_EQ(deploying["current_step"]["outcome"], "running");
  EXPECT_EQ(deploying["failure"], nullptr);
  EXPECT_EQ(orders["items"][1]["current_step"], nullptr);  // The done order ran no job.

  const json& failed = orders["items"][2];
  EXPECT_EQ(failed["failure"]["step"], "CREATE_CSR");
  EXPECT_EQ(failed["failure"]["reason"], "key generation refused");
  EXPECT_EQ(failed["failure"]["job_kind"], "prepare");

  EXPECT_THAT(Field(GetJson("/api/v1/orders?open=true"), "order_id"),
              ElementsAre(fleet_.deploying_order_id));
  EXPECT_THAT(Field(GetJson("/api/v1/orders?state=done,failed"), "order_id"),
              ElementsAre(fleet_.done_order_id, fleet_.failed_order_id));
  EXPECT_THAT(Field(GetJson("/api/v1/orders?state=done&state=deploying"), "order_id"),
              ElementsAre(fleet_.deploying_order_id, fleet_.done_order_id));
  EXPECT_THAT(
      Field(GetJson(absl::StrCat("/api/v1/orders?host_id=", fleet_.db_host_id)), "order_id"),
      ElementsAre(fleet_.failed_order_id));
  json first = GetJson("/api/v1/orders?page_size=2");
  EXPECT_THAT(first["items"], SizeIs(2));
  json rest = GetJson(absl::StrCat("/api/v1/orders?page_size=2&page_token=",
                                   first["next_page_token"].get<std::string>()));
  EXPECT_THAT(Field(rest, "order_id"), ElementsAre(fleet_.failed_order_id));
}

TEST_F(HttpApiTest, OrderDetailHasHistoryAndJobs) {
  json order = GetJson(absl::StrCat("/api/v1/orders/", fleet_.failed_order_id));
  ASSERT_THAT(order["history"], SizeIs(3));
  EXPECT_EQ(order["history"][0]["from"], nullptr);
  EXPECT_EQ(order["history"][0]["to"], "due");
  EXPECT_EQ(order["history"][2]["to"], "failed");
  EXPECT_EQ(order["history"][2]["reason"], "prepare failed");
  EXPECT_EQ(order["last_failure"]["code"], "FAILURE_CODE_KEY_GENERATION");
  ASSERT_THAT(order["jobs"], SizeIs(1));
  const json& job = order["jobs"][0];
  EXPECT_EQ(job["job_id"], fleet_.failed_prepare_job_id);
  EXPECT_EQ(job["state"], "failed");
  ASSERT_THAT(job["attempts"], SizeIs(1));
  ASSERT_THAT(job["attempts"][0]["steps"], SizeIs(2));
  EXPECT_EQ(job["attempts"][0]["steps"][1]["step"], "CREATE_CSR");
  EXPECT_EQ(job["attempts"][0]["steps"][1]["failure"]["message"], "key generation refused");

  Answer missing = Get("/api/v1/orders/order-00000000000000000000000000000000");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.Json()["error"]["code"], "not_found");
}

TEST_F(HttpApiTest, FailuresAreNewestFirstWithStepAndReason) {
  json failures = GetJson("/api/v1/failures?limit=10");
  ASSERT_THAT(failures["items"], SizeIs(2));  // The order's failed job is told by the order.
  const json& job = failures["items"][0];
  EXPECT_EQ(job["type"], "job");
  EXPECT_EQ(job["job_id"], fleet_.failed_inventory_job_id);
  EXPECT_EQ(job["hostname"], "db-02.example.org");
  EXPECT_EQ(job["at"], "2025-12-31T23:30:00Z");
  EXPECT_EQ(job["step"]["kind"], "inventory");
  EXPECT_EQ(job["reason"], "MetaBase.xml is unreadable");
  const json& order = failures["items"][1];
  EXPECT_EQ(order["type"], "order");
  EXPECT_EQ(order["order_id"], fleet_.failed_order_id);
  EXPECT_EQ(order["site"], "Api");
  EXPECT_EQ(order["state"], "failed");
  EXPECT_EQ(order["step"], (json{{"kind", "prepare"}, {"step", "CREATE_CSR"}}));
  EXPECT_EQ(order["reason"], "key generation refused");

  EXPECT_THAT(GetJson("/api/v1/failures?limit=1")["items"], SizeIs(1));
}

TEST_F(HttpApiTest, JobsAreFilteredAndShowTheirSteps) {
  json jobs = GetJson("/api/v1/jobs");
  EXPECT_EQ(jobs["total_size"], 3);
  EXPECT_THAT(Field(GetJson("/api/v1/jobs?kind=deploy"), "job_id"),
              ElementsAre(fleet_.running_deploy_job_id));
  EXPECT_THAT(Field(GetJson("/api/v1/jobs?state=failed"), "job_id"),
              ElementsAre(fleet_.failed_inventory_job_id, fleet_.failed_prepare_job_id));
  EXPECT_THAT(
      Field(GetJson(absl::StrCat("/api/v1/jobs?order_id=", fleet_.failed_order_id)), "job_id"),
      ElementsAre(fleet_.failed_prepare_job_id));
  EXPECT_THAT(Field(GetJson(absl::StrCat("/api/v1/jobs?host_id=", fleet_.web_host_id)), "hostname"),
              ElementsAre("web-01.example.com"));

  json job = GetJson(absl::StrCat("/api/v1/jobs/", fleet_.running_deploy_job_id));
  EXPECT_EQ(job["state"], "running");
  EXPECT_EQ(job["kind"], "deploy");
  EXPECT_EQ(job["order_id"], fleet_.deploying_order_id);
  ASSERT_THAT(job["attempts"], SizeIs(1));
  EXPECT_THAT(job["attempts"][0]["steps"], SizeIs(2));
  EXPECT_EQ(job["attempts"][0]["steps"][1]["outcome"], "running");
  EXPECT_EQ(Get("/api/v1/jobs/job-00000000000000000000000000000000").status, 404);
}

// Splits a CSV document (RFC 4180) into rows of fields.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t index = 0; index < text.size(); ++index) {
    const char character = text[index];
    if (quoted) {
      if (character == '"' && index + 1 < text.size() && text[index + 1] == '"') {
        field.push_back('"');
        ++index;
      } else if (character == '"') {
        quoted = false;
      } else {
        field.push_back(character);
      }
    } else if (character == '"') {
      quoted = true;
    } else if (character == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (character == '\r' && index + 1 < text.size() && text[index + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      ++index;
    } else {
      field.push_back(character);
    }
  }
  return rows;
}

TEST_F(HttpApiTest, CsvExportQuotesFieldsAndGuardsFormulas) {
  Answer answer = Get("/api/v1/certificates.csv?expiring_within=30d");
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.content_type, "text/csv; charset=utf-8");
  EXPECT_THAT(answer.body,
              HasSubstr("\"Blog, \"\"quoted\"\"\",00000000000000000000000000000000000000"
                        "02"));
  EXPECT_THAT(answer.body, HasSubstr(",\"'=HYPERLINK(\"\"x\"\"),CN=blog.example.com\","));
  std::vector<std::vector<std::string>> rows = ParseCsv(answer.body);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_THAT(rows[0],
              ElementsAre("host_id", "hostname", "sites", "thumbprint", "fingerprint_sha256",
                          "subject", "subject_alternative_names", "issuer", "serial_number",
                          "not_before", "not_after", "days_left", "key_algorithm", "key_bits",
                          "signature_hash", "store", "served_status"));
  EXPECT_THAT(rows[1], ElementsAre(fleet_.db_host_id, "db-02.example.org", "Old", Thumbprint(6),
                                   SeedCertificate(6, 0).fingerprint_sha256,
                                   "CN=www6.example.com,O=Example Ltd", "DNS:www6.example.com",
                                   "CN=CrossTrust OV CA3,O=CrossTrust", "00000006",
                                   "2025-10-01T12:00:00Z", "2025-12-30T12:00:00Z", "-2", "RSA",
                                   "2048", "SHA256", "MY", "not_probed"));
  EXPECT_EQ(rows[3][2], "Blog, \"quoted\"");
  EXPECT_EQ(rows[3][5], "'=HYPERLINK(\"x\"),CN=blog.example.com");
  EXPECT_EQ(rows[3][16], "mismatch");
}

TEST_F(HttpApiTest, CsvExportStreamsEveryPage) {
  // 2,500 bound certificates on one more host: three pages of the export.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string host_id, SeedHost(*store_, "bulk.example.com", {}));
  store::InventoryReport report;
  report.host_id = host_id;
  report.scanned_at = SeedNow();
  report.content_hash = "bulk";
  for (int number = 100; number < 2600; ++number) {
    report.certificates.push_back(SeedCertificate(number, 200 + number % 50));
    store::BindingRecord binding;
    binding.binding_id = absl::StrCat(number);
    binding.site_id = binding.binding_id;
    binding.certificate_thumbprint = report.certificates.back().thumbprint_sha1;
    report.bindings.push_back(binding);
  }
  ASSERT_TRUE(store_->inventory().IngestInventory(report, SeedNow()).ok());
  Answer answer = Get("/api/v1/certificates.csv");
  ASSERT_EQ(answer.status, 200);
  std::vector<std::vector<std::string>> rows = ParseCsv(answer.body);
  EXPECT_EQ(rows.size(), 1u + 4u + 2500u);
  std::set<std::string> thumbprints;
  for (size_t index = 1; index < rows.size(); ++index) thumbprints.insert(rows[index][3]);
  EXPECT_EQ(thumbprints.size(), 2504u);
}

// Parses Prometheus text format 0.0.4: every sample line into
// series -> value, checking that each family has HELP and TYPE before its
// samples and that each line is well formed.
struct Metrics {
  std::map<std::string, std::string> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> problems;
};

Metrics ParseMetrics(const std::string& text) {
  Metrics metrics;
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? ([-+0-9.eE]+|\+Inf|NaN)$)");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram|summary|untyped)$)");
  std::set<std::string> helped;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string copy(line);
    std::smatch match;
    if (std::regex_match(copy, match, kHelp)) {
      helped.insert(match[1]);
    } else if (std::regex_match(copy, match, kType)) {
      if (!helped.contains(match[1])) metrics.problems.push_back("TYPE before HELP: " + copy);
      metrics.types[match[1]] = match[2];
    } else if (std::regex_match(copy, match, kSample)) {
      std::string family = match[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (family.ends_with(suffix) &&
            metrics.types.contains(family.substr(0, family.size() - strlen(suffix)))) {
          family = family.substr(0, family.size() - strlen(suffix));
        }
      }
      if (!metrics.types.contains(family)) metrics.problems.push_back("no TYPE: " + copy);
      const size_t space = copy.rfind(' ');
      metrics.samples[copy.substr(0, space)] = copy.substr(space + 1);
    } else {
      metrics.problems.push_back("malformed: " + copy);
    }
  }
  return metrics;
}

TEST_F(HttpApiTest, MetricsMatchTheSeed) {
  Answer answer = Get("/metrics");
  ASSERT_EQ(answer.status, 200);
  EXPECT_EQ(answer.content_type, "text/plain; version=0.0.4; charset=utf-8");
  Metrics metrics = ParseMetrics(answer.body);
  EXPECT_THAT(metrics.problems, ::testing::IsEmpty());
  EXPECT_EQ(metrics.types["certfleet_certificate_not_after_timestamp_seconds"], "gauge");
  EXPECT_EQ(metrics.types["certfleet_jobs_total"], "counter");
  EXPECT_EQ(metrics.types["certfleet_renewal_duration_seconds"], "histogram");

  const auto series = [](const std::string& host, const std::string& site,
                         const std::string& subject, int number) {
    return absl::StrCat("{host=\"", host, "\",site=\"", site, "\",subject=\"", subject,
                        "\",thumbprint=\"", SeedCertificate(number, 0).thumbprint_sha1, "\"}");
  };
  const std::string blog = series("web-01.example.com", "Blog, \\\"quoted\\\"",
                                  "=HYPERLINK(\\\"x\\\"),CN=blog.example.com", 2);
  EXPECT_EQ(metrics.samples["certfleet_certificate_not_after_timestamp_seconds" + blog],
            absl::StrCat(absl::ToUnixSeconds(SeedNow() + absl::Hours(24 * 20 + 12))));
  EXPECT_EQ(metrics.samples["certfleet_certificate_not_before_timestamp_seconds" + blog],
            absl::StrCat(
                absl::ToUnixSeconds(SeedNow() + absl::Hours(24 * 20 + 12) - absl::Hours(24 * 90))));
  EXPECT_EQ(
      metrics.samples["certfleet_certificate_not_after_timestamp_seconds" +
                      series("db-02.example.org", "Old", "CN=www6.example.com,O=Example Ltd", 6)],
      absl::StrCat(absl::ToUnixSeconds(SeedNow() - absl::Hours(36))));
  int certificate_series = 0;
  for (const auto& [name, value] : metrics.samples) {
    if (name.starts_with("certfleet_certificate_not_after_timestamp_seconds{")) {
      ++certificate_series;
    }
  }
  EXPECT_EQ(certificate_series, 4);  // Bound certificates only.

  EXPECT_EQ(metrics.samples["certfleet_agents_connected"], "1");
  EXPECT_EQ(metrics.samples["certfleet_hosts{state=\"online\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_hosts{state=\"offline\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_orders{state=\"done\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_orders{state=\"failed\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_orders{state=\"deploying\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_orders{state=\"due\"}"], "0");
  EXPECT_EQ(metrics.samples["certfleet_jobs_total{kind=\"prepare\",result=\"failed\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_jobs_total{kind=\"inventory\",result=\"failed\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_jobs_total{kind=\"deploy\",result=\"succeeded\"}"], "0");
  EXPECT_EQ(metrics.samples["certfleet_renewal_duration_seconds_bucket{le=\"3600\"}"], "0");
  EXPECT_EQ(metrics.samples["certfleet_renewal_duration_seconds_bucket{le=\"7200\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_renewal_duration_seconds_bucket{le=\"+Inf\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_renewal_duration_seconds_sum"], "7200.000000");
  EXPECT_EQ(metrics.samples["certfleet_renewal_duration_seconds_count"], "1");
  EXPECT_EQ(
      metrics
          .samples["certfleet_host_last_inventory_timestamp_seconds{host=\"web-01.example.com\"}"],
      absl::StrCat(absl::ToUnixSeconds(SeedNow() - absl::Minutes(10))));
  EXPECT_EQ(
      metrics
          .samples["certfleet_host_last_inventory_timestamp_seconds{host=\"db-02.example.org\"}"],
      absl::StrCat(absl::ToUnixSeconds(SeedNow() - absl::Minutes(20))));
  EXPECT_EQ(metrics.samples["certfleet_certificates_by_expiry{bucket=\"expired\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_certificates_by_expiry{bucket=\"under_7_days\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_certificates_by_expiry{bucket=\"later\"}"], "0");
  EXPECT_EQ(metrics.samples["certfleet_bindings_served{status=\"mismatch\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_bindings_served{status=\"not_probed\"}"], "1");
  EXPECT_EQ(metrics.samples["certfleet_bindings_served{status=\"unreachable\"}"], "0");
}

TEST_F(HttpApiTest, DashboardFilesAreServedFromTheBinary) {
  std::ifstream file(std::string(CERTFLEET_SOURCE_DIR) + "/controller/dashboard/static/index.html");
  std::stringstream on_disk;
  on_disk << file.rdbuf();
  Answer index = Get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.body, on_disk.str());
  Answer script = Get("/static/dashboard.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/static/dashboard.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Get("/static/missing.js").status, 404);
  EXPECT_EQ(Get("/static/../CMakeLists.txt").status, 404);
  EXPECT_EQ(Get("/static/%2e%2e%2fCMakeLists.txt").status, 404);
  EXPECT_EQ(Get("/etc/passwd").status, 404);

  httplib::Client client("127.0.0.1", server_->port());
  httplib::Result post = client.Post("/api/v1/summary", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(HttpApiTest, TokenIsRequiredForTheApiAndMetricsButNotTheDashboard) {
  StartServer(/*with_token=*/true);
  EXPECT_TRUE(server_->requires_token());
  for (const char* path :
       {"/api/v1/summary", "/api/v1/certificates.csv", "/metrics", "/api/v1/nothing"}) {
    Answer anonymous = Get(path);
    EXPECT_EQ(anonymous.status, 401) << path;
    EXPECT_EQ(anonymous.Json()["error"]["code"], "unauthenticated") << path;
    EXPECT_EQ(Get(path, "wrong-token-0123456789").status, 401) << path;
  }
  EXPECT_EQ(Get("/api/v1/summary", kToken).status, 200);
  EXPECT_EQ(Get("/metrics", kToken).status, 200);
  EXPECT_EQ(Get("/api/v1/nothing", kToken).status, 404);
  EXPECT_EQ(Get("/").status, 200);
  EXPECT_EQ(Get("/static/dashboard.js").status, 200);
}

TEST(HttpServerStartTest, NonLoopbackAddressWithoutTokenIsRefused) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<store::SqliteStore> store,
                                 store::SqliteStore::Open({.path = ":memory:"}));
  HttpServerOptions options;
  options.listen_address = "0.0.0.0:0";
  EXPECT_THAT(HttpServer::Start(options, store.get()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--http-token-file")));
  options.listen_address = "[::]:0";
  EXPECT_THAT(HttpServer::Start(options, store.get()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(HttpServerStartTest, BadOptionsAreNamed) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<store::SqliteStore> store,
                                 store::SqliteStore::Open({.path = ":memory:"}));
  TemporaryDirectory directory;
  HttpServerOptions options;
  options.listen_address = "127.0.0.1";
  EXPECT_THAT(HttpServer::Start(options, store.get()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ADDRESS:PORT")));
  options.listen_address = "127.0.0.1:0";
  options.token_file = directory.path() / "short";
  std::ofstream(options.token_file) << "abc\n";
  EXPECT_THAT(HttpServer::Start(options, store.get()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 16")));
  options.token_file = directory.path() / "missing";
  EXPECT_THAT(HttpServer::Start(options, store.get()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
  options.token_file.clear();
  options.tls_certificate_file = directory.path() / "cert.pem";
  EXPECT_THAT(HttpServer::Start(options, store.get()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("both")));
  options.tls_key_file = directory.path() / "key.pem";
  std::ofstream(options.tls_certificate_file) << "not a certificate\n";
  std::ofstream(options.tls_key_file) << "not a key\n";
  EXPECT_THAT(HttpServer::Start(options, store.get()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PEM")));
}

TEST(HttpServerStartTest, TlsServesHttpsWithTheGivenCertificate) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<store::SqliteStore> store,
                                 store::SqliteStore::Open({.path = ":memory:"}));
  TemporaryDirectory directory;
  const certfleet::testing::TestPki& pki = certfleet::testing::TestPki::Shared();
  HttpServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls_certificate_file = directory.path() / "server.crt";
  options.tls_key_file = directory.path() / "server.key";
  const std::string ca_file = (directory.path() / "ca.crt").string();
  {
    certfleet::testing::Issued leaf = pki.IssueLeaf("127.0.0.1");
    std::ofstream(options.tls_certificate_file)
        << leaf.certificate.ToPem() << pki.intermediate.certificate.ToPem();
    std::ofstream(options.tls_key_file) << leaf.key.ToPem();
    std::ofstream(ca_file) << pki.root.certificate.ToPem();
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpServer> server,
                                 HttpServer::Start(options, store.get()));
  EXPECT_TRUE(server->tls());
  EXPECT_EQ(server->DashboardUrl(), absl::StrCat("https://127.0.0.1:", server->port(), "/"));
  httplib::SSLClient client("127.0.0.1", server->port());
  client.set_ca_cert_path(ca_file.c_str());
  client.enable_server_certificate_verification(true);
  httplib::Result result = client.Get("/api/v1/summary");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  // Plain HTTP to the HTTPS port gets no answer.
  httplib::Client plain("127.0.0.1", server->port());
  httplib::Result refused = plain.Get("/api/v1/summary");
  EXPECT_TRUE(!refused || refused->status != 200);
}

TEST(HttpServerStartTest, DashboardUrlNamesTheBoundPort) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<store::SqliteStore> store,
                                 store::SqliteStore::Open({.path = ":memory:"}));
  HttpServerOptions options;
  options.listen_address = "127.0.0.1:0";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpServer> server,
                                 HttpServer::Start(options, store.get()));
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->DashboardUrl(), absl::StrCat("http://127.0.0.1:", server->port(), "/"));
}

}  // namespace
}  // namespace certfleet::controller::http::testing
