// Tests of enrollment against a real ControllerServer on 127.0.0.1 (port 0):
// the identity written 0600 and reused, the pinned CA checked before the
// join token is sent, identity renewal.

#include "agent/session/enrollment.h"

#include <sys/stat.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "agent/session/agent_identity.h"
#include "common/io/file.h"
#include "controller/identity/join_token.h"
#include "controller/server/controller_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::agent::session {
namespace {

namespace v1 = certfleet::v1;
using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;

class EnrollmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    controller::server::ControllerOptions options;
    options.data_dir = directory_.path() / "controller";
    options.listen_address = "127.0.0.1:0";
    CERTFLEET_ASSERT_OK_AND_ASSIGN(controller_,
                                   controller::server::ControllerServer::Start(options));
    config_.controller_address = "127.0.0.1:" + std::to_string(controller_->port());
    config_.controller_ca_sha256 = controller_->authority().ca_certificate().Sha256Fingerprint();
    config_.hostname = "web01.example.test";
    config_.state_dir = directory_.path() / "state";
    config_.iis6_host_root = directory_.path() / "host";
    config_.labels = {{"env", "test"}};
    config_.rpc_timeout = absl::Seconds(10);
    platform_.set_driver("iis6");
  }

  void TearDown() override {
    if (controller_ != nullptr) controller_->Shutdown(absl::Seconds(2));
  }

  std::string NewToken() {
    controller::server::JoinTokenSpec spec;
    absl::StatusOr<std::string> secret =
        controller::server::CreateJoinToken(controller_->store(), spec, absl::Now());
    EXPECT_THAT(secret, IsOk());
    return secret.value_or("");
  }

  // Whether the token is still usable (not consumed by an enrollment).
  bool TokenUnused(const std::string& token) {
    return controller_->store()
        .join_tokens()
        .ValidateJoinToken(controller::HashJoinTokenSecret(token), "any-host", absl::Now())
        .ok();
  }

  certfleet::testing::TemporaryDirectory directory_;
  std::unique_ptr<controller::server::ControllerServer> controller_;
  AgentConfig config_;
  v1::Platform platform_;
  v1::HostCapabilities capabilities_;
};

TEST_F(EnrollmentTest, FirstStartEnrollsAndWritesTheIdentity0600) {
  config_.join_token = NewToken();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(AgentIdentity identity,
                                 LoadOrEnroll(config_, platform_, capabilities_, {}));
  EXPECT_FALSE(identity.host_id.empty());
  EXPECT_EQ(identity.fleet_ca(), controller_->authority().ca_certificate());
  EXPECT_EQ(identity.certificate.public_key(), identity.key.public_key());
  EXPECT_LT(identity.renew_at, identity.certificate.NotAfter());

  struct stat file {};
  ASSERT_EQ(::stat(IdentityFile(config_.state_dir).c_str(), &file), 0);
  EXPECT_EQ(file.st_mode & 0777, 0600u);
  struct stat folder {};
  ASSERT_EQ(::stat(config_.state_dir.c_str(), &folder), 0);
  EXPECT_EQ(folder.st_mode & 0777, 0700u);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(controller::store::HostRecord host,
                                 controller_->store().hosts().GetHost(identity.host_id));
  EXPECT_EQ(host.hostname, "web01.example.test");
  EXPECT_EQ(host.labels.at("env"), "test");
  EXPECT_EQ(host.identity.certificate_sha256, identity.certificate.Sha256Fingerprint());
  EXPECT_FALSE(TokenUnused(config_.join_token));
  // The join token is never kept in the state dir.
  std::string everything;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(config_.state_dir)) {
    if (entry.is_regular_file()) everything += io::ReadFile(entry.path(), 1 << 20).value_or("");
  }
  EXPECT_THAT(everything, ::testing::Not(HasSubstr(config_.join_token)));
}

TEST_F(EnrollmentTest, ASecondStartReusesTheIdentityWithoutAToken) {
  config_.join_token = NewToken();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(AgentIdentity first,
                                 LoadOrEnroll(config_, platform_, capabilities_, {}));
  config_.join_token.clear();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(AgentIdentity second,
                                 LoadOrEnroll(config_, platform_, capabilities_, {}));
  EXPECT_EQ(second.host_id, first.host_id);
  EXPECT_EQ(second.certificate, first.certificate);
  EXPECT_EQ(second.key.public_key(), first.key.public_key());
}

TEST_F(EnrollmentTest, AWrongPinRefusesAndNeverSendsTheToken) {
  const std::string token = NewToken();
  config_.join_token = token;
  const std::string real_pin = config_.controller_ca_sha256;
  config_.controller_ca_sha256 = std::string(64, 'A');
  EXPECT_THAT(LoadOrEnroll(config_, platform_, capabilities_, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("controller CA fingerprint " + real_pin +
                                 " does not match the pinned " + std::string(64, 'A'))));
  EXPECT_TRUE(TokenUnused(token));
  EXPECT_FALSE(std::filesystem::exists(IdentityFile(config_.state_dir)));
  // With the right pin the same token works: it was never spent.
  config_.controller_ca_sha256 = real_pin;
  EXPECT_THAT(LoadOrEnroll(config_, platform_, capabilities_, {}), IsOk());
}

TEST_F(EnrollmentTest, NoTokenOnFirstStartSaysWhereToPutOne) {
  EXPECT_THAT(LoadOrEnroll(config_, platform_, capabilities_, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("join token")));
}

TEST_F(EnrollmentTest, ARefusedTokenIsUnauthenticated) {
  config_.join_token = controller::GenerateJoinTokenSecret();
  EXPECT_THAT(LoadOrEnroll(config_, platform_, capabilities_, {}),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("join token refused")));
  EXPECT_FALSE(std::filesystem::exists(IdentityFile(config_.state_dir)));
}

TEST_F(EnrollmentTest, AStoredIdentityOfAnotherFleetCaIsRefused) {
  config_.join_token = NewToken();
  ASSERT_THAT(LoadOrEnroll(config_, platform_, capabilities_, {}), IsOk());
  config_.controller_ca_sha256 = std::string(64, 'B');
  EXPECT_THAT(
      LoadOrEnroll(config_, platform_, capabilities_, {}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("pins " + std::string(64, 'B'))));
}

TEST_F(EnrollmentTest, RenewingTheIdentitySupersedesTheOldCertificate) {
  config_.join_token = NewToken();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(AgentIdentity first,
                                 LoadOrEnroll(config_, platform_, capabilities_, {}));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      AgentIdentity renewed,
      RenewAgentIdentity(config_, first, MakeControllerChannel(config_, first.fleet_ca(), &first)));
  EXPECT_EQ(renewed.host_id, first.host_id);
  EXPECT_FALSE(renewed.key.public_key() == first.key.public_key());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(controller::store::HostRecord host,
                                 controller_->store().hosts().GetHost(first.host_id));
  EXPECT_EQ(host.identity.certificate_sha256, renewed.certificate.Sha256Fingerprint());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::optional<AgentIdentity> stored,
                                 LoadIdentity(config_.state_dir));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->certificate, renewed.certificate);
}

TEST(AddressTest, SplitsHostAndPort) {
  EXPECT_EQ(SplitAddress("controller.example.com:7443").value(),
            std::make_pair(std::string("controller.example.com"), uint16_t{7443}));
  EXPECT_EQ(SplitAddress("[::1]:7443").value(), std::make_pair(std::string("::1"), uint16_t{7443}));
  EXPECT_THAT(SplitAddress("controller"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SplitAddress("controller:99999"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace certfleet::agent::session
