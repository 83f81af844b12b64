// Runs the certfleet-controller binary as an operator would: creates a join
// token offline, starts the server on port 0, enrolls over TLS pinned to the
// CA it wrote, and stops it with SIGTERM.

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "certfleet/v1/agent.grpc.pb.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/private_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/command_runner.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::controller {
namespace {

namespace v1 = ::certfleet::v1;
using ::certfleet::testing::BinaryPath;
using ::certfleet::testing::CommandResult;
using ::certfleet::testing::RunCommand;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A running certfleet-controller whose standard output is read line by line.
class ControllerProcess {
 public:
  explicit ControllerProcess(const std::vector<std::string>& arguments) {
    int pipe_ends[2];
    EXPECT_EQ(pipe(pipe_ends), 0);
    process_id_ = fork();
    if (process_id_ == 0) {
      dup2(pipe_ends[1], STDOUT_FILENO);
      close(pipe_ends[0]);
      close(pipe_ends[1]);
      std::vector<char*> argv;
      for (const std::string& argument : arguments) {
        argv.push_back(const_cast<char*>(argument.c_str()));
      }
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(pipe_ends[1]);
    output_ = fdopen(pipe_ends[0], "r");
  }

  ~ControllerProcess() {
    if (process_id_ > 0) {
      kill(process_id_, SIGKILL);
      waitpid(process_id_, nullptr, 0);
    }
    if (output_ != nullptr) fclose(output_);
  }

  // The next line of output without its newline; empty at end of output.
  std::string ReadLine() {
    char buffer[512];
    if (fgets(buffer, sizeof buffer, output_) == nullptr) return "";
    std::string line(buffer);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }

  // Sends `signal_number` and returns the exit code (128 + signal if killed).
  int Stop(int signal_number) {
    kill(process_id_, signal_number);
    int status = 0;
    waitpid(process_id_, &status, 0);
    process_id_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t process_id_ = -1;
  FILE* output_ = nullptr;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

TEST(ControllerBinaryTest, TokenCreateThenServeEnrollAndStopOnSigterm) {
  certfleet::testing::TemporaryDirectory directory;
  const std::string data_dir = (directory.path() / "data").string();
  const std::string binary = BinaryPath("certfleet-controller");

  // The first start creates the data dir, the store and the fleet CA.
  ControllerProcess controller(
      {binary, "--data-dir", data_dir, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"});
  const std::string fingerprint_line = controller.ReadLine();
  ASSERT_THAT(fingerprint_line, StartsWith("fleet CA fingerprint (agents pin it): "));
  const std::string port_line = controller.ReadLine();
  ASSERT_THAT(port_line, StartsWith("listening on port "));
  const std::string port = port_line.substr(std::string("listening on port ").size());
  // The HTTP side on a port of its own, printed right after.
  const std::string dashboard_line = controller.ReadLine();
  EXPECT_THAT(dashboard_line, StartsWith("dashboard: http://127.0.0.1:"));
  EXPECT_THAT(dashboard_line, Not(HasSubstr(absl::StrCat(":", port, "/"))));

  // A token made offline while the controller runs.
  CommandResult token = RunCommand(
      {binary, "token", "create", "--data-dir", data_dir, "--ttl", "10m", "--host", "web1"});
  ASSERT_EQ(token.exit_code, 0) << token.standard_error;
  const std::string secret = std::string(absl::StripAsciiWhitespace(token.standard_output));
  EXPECT_THAT(secret, StartsWith("cfjoin_"));

  const std::string ca_pem = ReadFile(std::filesystem::path(data_dir) / "fleet-ca" / "ca.crt");
  absl::StatusOr<crypto::Certificate> ca = crypto::ReadSingleCertificate(ca_pem);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_THAT(fingerprint_line, HasSubstr(ca->Sha256Fingerprint()));

  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ca_pem;
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  auto stub = v1::AgentService::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + port, grpc::SslCredentials(tls), arguments));
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
  ASSERT_TRUE(key.ok());
  crypto::DistinguishedName subject;
  subject.common_name = "web1";
  absl::StatusOr<crypto::CertificateRequest> csr =
      crypto::CertificateRequest::Create(*key, subject, {});
  ASSERT_TRUE(csr.ok());
  v1::EnrollRequest request;
  request.set_join_token(secret);
  request.set_hostname("web1");
  request.set_csr_pem(csr->ToPem());
  v1::EnrollResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status status = stub->Enroll(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.host_id(), StartsWith("host-"));

  EXPECT_EQ(controller.Stop(SIGTERM), 0);
}

TEST(ControllerBinaryTest, MissingFlagsAreRefused) {
  const std::string binary = BinaryPath("certfleet-controller");
  CommandResult result = RunCommand({binary, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.standard_error, HasSubstr("--data-dir is required"));
  result = RunCommand({binary, "token", "create", "--data-dir", "/nonexistent", "--ttl", "soon"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.standard_error, HasSubstr("--ttl"));
  result = RunCommand({binary, "--bogus"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.standard_error, HasSubstr("unknown argument --bogus"));
}

}  // namespace
}  // namespace certfleet::controller
