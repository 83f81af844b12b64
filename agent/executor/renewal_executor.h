// The renewal steps of DESIGN.md ("The renewal, end to end"), run on a host
// through its HostDriver and recorded in the JobJournal, platform-agnostic:
//
//   Prepare: create_temporary_site, create_pending_request -> the CSR.
//   Deploy:  accept_certificate, install_chain, read_binding (the previous
//            thumbprint is kept in the journal), replace_binding,
//            delete_temporary_site, restart, verify (a real TLS handshake on
//            every secure endpoint must serve the new thumbprint with a chain
//            that verifies to the order's root), backup.
//   When verify fails: rollback_binding (the previous thumbprint),
//            rollback_restart, rollback_verify (the previous thumbprint is
//            served again); the job ends kRolledBack with the reason.
//
// Each step is journaled before and after it runs and reported to a
// StepReporter. ResumeUnfinished() continues, after a crash, every job the
// journal still shows running: it reads the host's real state (ReadBinding,
// ScanInventory), reruns from the first step not done (driver methods are
// idempotent), and never leaves a site bound to a certificate that was not
// verified: a deploy whose verify cannot succeed is rolled back.
//
// Thread safety: a RenewalExecutor runs one job at a time on one thread; its
// methods are not thread-safe. The driver, journal, reporter and clock must
// outlive it.

#ifndef CERTFLEET_AGENT_EXECUTOR_RENEWAL_EXECUTOR_H_
#define CERTFLEET_AGENT_EXECUTOR_RENEWAL_EXECUTOR_H_

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "agent/executor/job_journal.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/distinguished_name.h"
#include "common/crypto/private_key.h"

namespace certfleet::agent {

// "Now" for step times; tests use a fixed or stepping clock.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current time.
  virtual absl::Time Now() = 0;
};

// absl::Now().
class SystemClock : public Clock {
 public:
  // absl::Now().
  absl::Time Now() override { return absl::Now(); }
};

struct StepReport {
  std::string job_id;
  int attempt = 0;
  std::string step_name;
  int step_index = 0;
  absl::Time started;
  // Unset in StepStarted.
  std::optional<absl::Time> finished;
  std::optional<StepOutcome> outcome;
  // What happened, in a sentence a person can read.
  std::string detail;
};

// Where steps are reported; the controller session sends them on later.
class StepReporter {
 public:
  virtual ~StepReporter() = default;
  // Called after the step is journaled as started and before it runs.
  virtual void StepStarted(const StepReport& report) = 0;
  // Called after the step's outcome is journaled.
  virtual void StepFinished(const StepReport& report) = 0;
};

struct PrepareOrder {
  std::string job_id;
  int attempt = 1;
  // The real site the certificate is for.
  std::string site_id;
  // The temporary site that holds the pending request (DESIGN.md: the real
  // site is never left "pending").
  std::string temporary_site_name;
  crypto::DistinguishedName subject;
  std::vector<std::string> dns_names;
  crypto::KeySpec key_spec;
};

struct DeployOrder {
  std::string job_id;
  int attempt = 1;
  std::string site_id;
  std::string temporary_site_name;
  crypto::Certificate leaf;
  // Intermediates and the root, as the CA returned them.
  std::vector<crypto::Certificate> chain;
  // Upper-case SHA-1 thumbprint the leaf must have.
  std::string expected_thumbprint;
  // The root the served chain must verify to.
  crypto::Certificate trusted_root;
  // When set, the verified certificate is backed up. The passphrase is not
  // journaled: after a restart ExecutorSettings::backup_passphrase is used.
  std::optional<BackupOptions> backup;
};

enum class JobOutcome { kSucceeded, kFailed, kRolledBack };

struct DeployResult {
  JobOutcome outcome = JobOutcome::kFailed;
  // Why it failed or was rolled back; empty on success.
  std::string reason;
  std::string previous_thumbprint;
  std::optional<std::filesystem::path> backup_path;
};

struct ResumedJob {
  std::string job_id;
  int attempt = 0;
  std::string kind;
  // The final state written to the journal.
  JobState state = JobState::kFailed;
  std::string detail;
};

struct ExecutorSettings {
  // Per endpoint, for the verify steps.
  absl::Duration probe_timeout = absl::Seconds(10);
  // For a backup resumed after a restart (never journaled).
  std::string backup_passphrase;
  // Asked before a deploy starts changing the host (before
  // accept_certificate and before replace_binding, when they are not done
  // yet): when it answers true (the job was cancelled) the job ends kFailed
  // with "stopped on request before the binding was changed" and the site
  // keeps its certificate. A deploy past replace_binding always finishes or
  // rolls back. Empty: never asked.
  std::function<bool(std::string_view job_id, int attempt)> stop_requested;
};

class RenewalExecutor {
 public:
  RenewalExecutor(HostDriver& driver, JobJournal& journal, StepReporter& reporter, Clock& clock,
                  ExecutorSettings settings = {});

  // Creates the temporary site and its pending request and returns the CSR.
  // Returns InvalidArgument for an order without id, site or temporary site
  // name, AlreadyExists when the job is in the journal, the driver's error
  // when a step fails (the job is then journaled kFailed), and journal errors.
  absl::StatusOr<crypto::CertificateRequest> Prepare(const PrepareOrder& order);

  // Runs the deploy steps. Host failures are in the result (kFailed before
  // the binding changed, kRolledBack after a failed verify); the status is
  // an error only for a malformed order (InvalidArgument, e.g. a leaf whose
  // thumbprint is not expected_thumbprint: nothing is touched), a job
  // already journaled (AlreadyExists) or a journal error.
  absl::StatusOr<DeployResult> Deploy(const DeployOrder& order);

  // The CSR a prepare job made, as journaled by its create_pending_request
  // step (also after a resume, so the session can send it). NotFound when the
  // job or its CSR is not in the journal.
  absl::StatusOr<crypto::CertificateRequest> PreparedRequest(std::string_view job_id, int attempt);

  // The deploy order of a journaled deploy job (also after a resume, so that
  // the session can probe what it verified). NotFound when the job is not
  // in the journal, InvalidArgument when it is not a deploy, DataLoss when
  // its order cannot be decoded.
  absl::StatusOr<DeployOrder> JournaledDeployOrder(std::string_view job_id, int attempt);

  // Finishes every job the journal shows running, as described above, and
  // returns what became of each. A journal error stops and is returned.
  absl::StatusOr<std::vector<ResumedJob>> ResumeUnfinished();

 private:
  // One step: journals and reports its start, runs `body` (which returns the
  // detail, or an error), journals and reports its end. The outer status is
  // a journal error; the inner one the step's own outcome.
  absl::StatusOr<absl::Status> RunStep(std::string_view job_id, int attempt, int index,
                                       std::string_view name,
                                       const std::function<absl::StatusOr<std::string>()>& body);
  absl::Status RecordSkipped(std::string_view job_id, int attempt, int index, std::string_view name,
                             std::string_view detail);

  absl::StatusOr<crypto::CertificateRequest> RunPrepare(const PrepareOrder& order);
  absl::StatusOr<DeployResult> RunDeploy(const DeployOrder& order);
  // Ends the job with `state` and returns `result` (journal errors win).
  absl::StatusOr<DeployResult> Finish(const DeployOrder& order, JobState state,
                                      DeployResult result);
  absl::StatusOr<DeployResult> RollBack(const DeployOrder& order, std::string reason);
  // Verifies that every secure endpoint of `site_id` serves `thumbprint`;
  // with `root`, also that the served chain verifies to it. Returns the
  // detail, or FailedPrecondition saying what was served instead.
  absl::StatusOr<std::string> VerifyServed(std::string_view site_id, std::string_view thumbprint,
                                           const std::optional<crypto::Certificate>& root);
  absl::StatusOr<std::string> FindTemporarySite(std::string_view name);

  HostDriver& driver_;
  JobJournal& journal_;
  StepReporter& reporter_;
  Clock& clock_;
  ExecutorSettings settings_;
};

}  // namespace certfleet::agent

#endif  // CERTFLEET_AGENT_EXECUTOR_RENEWAL_EXECUTOR_H_
