#include "agent/executor/renewal_executor.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto/chain_verifier.h"
#include "common/tls/tls_probe.h"

namespace certfleet::agent {
namespace {

constexpr char kPrepareKind[] = "prepare";
constexpr char kDeployKind[] = "deploy";
constexpr char kPreviousThumbprint[] = "previous_thumbprint";
constexpr char kRollbackReason[] = "rollback_reason";
constexpr char kCsr[] = "csr";

// Deploy step indexes; rollback steps follow at 20.
enum DeployStep {
  kAcceptCertificate = 0,
  kInstallChain = 1,
  kReadBinding = 2,
  kReplaceBinding = 3,
  kDeleteTemporarySite = 4,
  kRestart = 5,
  kVerify = 6,
  kBackup = 7,
  kRollbackBinding = 20,
  kRollbackRestart = 21,
  kRollbackVerify = 22,
};

constexpr std::string_view StepName(int index) {
  switch (index) {
    case kAcceptCertificate:
      return "accept_certificate";
    case kInstallChain:
      return "install_chain";
    case kReadBinding:
      return "read_binding";
    case kReplaceBinding:
      return "replace_binding";
    case kDeleteTemporarySite:
      return "delete_temporary_site";
    case kRestart:
      return "restart";
    case kVerify:
      return "verify";
    case kBackup:
      return "backup";
    case kRollbackBinding:
      return "rollback_binding";
    case kRollbackRestart:
      return "rollback_restart";
    case kRollbackVerify:
      return "rollback_verify";
  }
  return "unknown";
}

constexpr int kCreateTemporarySite = 0;
constexpr int kCreatePendingRequest = 1;

// Orders are journaled as "key\n<length>\n<bytes>" records.
using Fields = std::map<std::string, std::string>;

std::string EncodeFields(const Fields& fields) {
  std::string out;
  for (const auto& [key, value] : fields)
    absl::StrAppend(&out, key, "\n", value.size(), "\n", value);
  return out;
}

absl::StatusOr<Fields> DecodeFields(std::string_view text) {
  Fields fields;
  while (!text.empty()) {
    const size_t key_end = text.find('\n');
    if (key_end == std::string_view::npos) break;
    std::string key(text.substr(0, key_end));
    text.remove_prefix(key_end + 1);
    const size_t length_end = text.find('\n');
    size_t length = 0;
    if (length_end == std::string_view::npos ||
        !absl::SimpleAtoi(std::string(text.substr(0, length_end)), &length) ||
        text.size() - length_end - 1 < length) {
      return absl::DataLossError(absl::StrCat("a journaled order is damaged at field '", key, "'"));
    }
    text.remove_prefix(length_end + 1);
    fields[key] = std::string(text.substr(0, length));
    text.remove_prefix(length);
  }
  return fields;
}

std::string Get(const Fields& fields, const std::string& key) {
  auto found = fields.find(key);
  return found == fields.end() ? std::string() : found->second;
}

std::string EncodePrepare(const PrepareOrder& order) {
  Fields fields{{"site_id", order.site_id},
                {"temporary_site_name", order.temporary_site_name},
                {"subject.cn", order.subject.common_name},
                {"subject.o", order.subject.organization},
                {"subject.ou", order.subject.organizational_unit},
                {"subject.l", order.subject.locality},
                {"subject.st", order.subject.state},
                {"subject.c", order.subject.country},
                {"key_spec", order.key_spec.ToString()},
                {"dns_names", absl::StrJoin(order.dns_names, "\n")}};
  return EncodeFields(fields);
}

absl::StatusOr<PrepareOrder> DecodePrepare(const JobRecord& job) {
  absl::StatusOr<Fields> fields = DecodeFields(job.spec);
  if (!fields.ok()) return fields.status();
  absl::StatusOr<crypto::KeySpec> key_spec = crypto::KeySpec::Parse(Get(*fields, "key_spec"));
  if (!key_spec.ok()) return key_spec.status();
  PrepareOrder order{.job_id = job.job_id,
                     .attempt = job.attempt,
                     .site_id = Get(*fields, "site_id"),
                     .temporary_site_name = Get(*fields, "temporary_site_name"),
                     .subject = {.common_name = Get(*fields, "subject.cn"),
                                 .organization = Get(*fields, "subject.o"),
                                 .organizational_unit = Get(*fields, "subject.ou"),
                                 .locality = Get(*fields, "subject.l"),
                                 .state = Get(*fields, "subject.st"),
                                 .country = Get(*fields, "subject.c")},
                     .dns_names = {},
                     .key_spec = *key_spec};
  const std::string names = Get(*fields, "dns_names");
  if (!names.empty()) order.dns_names = absl::StrSplit(names, '\n');
  return order;
}

std::string EncodeDeploy(const DeployOrder& order) {
  Fields fields{{"site_id", order.site_id},
                {"temporary_site_name", order.temporary_site_name},
                {"leaf", order.leaf.ToDer()},
                {"expected_thumbprint", order.expected_thumbprint},
                {"trusted_root", order.trusted_root.ToDer()},
                {"chain_size", std::to_string(order.chain.size())}};
  for (size_t i = 0; i < order.chain.size(); ++i) {
    fields[absl::StrCat("chain.", i)] = order.chain[i].ToDer();
  }
  if (order.backup) {
    fields["backup.folder"] = order.backup->folder.string();
    fields["backup.keep_last"] = std::to_string(order.backup->keep_last);
    fields["backup.encryption"] = std::to_string(static_cast<int>(order.backup->encryption));
  }
  return EncodeFields(fields);
}

absl::StatusOr<DeployOrder> DecodeDeploy(const JobRecord& job, const std::string& passphrase) {
  absl::StatusOr<Fields> fields = DecodeFields(job.spec);
  if (!fields.ok()) return fields.status();
  absl::StatusOr<crypto::Certificate> leaf = crypto::Certificate::FromDer(Get(*fields, "leaf"));
  if (!leaf.ok()) return leaf.status();
  absl::StatusOr<crypto::Certificate> root =
      crypto::Certificate::FromDer(Get(*fields, "trusted_root"));
  if (!root.ok()) return root.status();
  DeployOrder order{.job_id = job.job_id,
                    .attempt = job.attempt,
                    .site_id = Get(*fields, "site_id"),
                    .temporary_site_name = Get(*fields, "temporary_site_name"),
                    .leaf = *leaf,
                    .chain = {},
                    .expected_thumbprint = Get(*fields, "expected_thumbprint"),
                    .trusted_root = *root,
                    .backup = std::nullopt};
  size_t chain_size = 0;
  if (!absl::SimpleAtoi(Get(*fields, "chain_size"), &chain_size)) {
    return absl::DataLossError("a journaled deploy order has no chain size");
  }
  for (size_t i = 0; i < chain_size; ++i) {
    absl::StatusOr<crypto::Certificate> certificate =
        crypto::Certificate::FromDer(Get(*fields, absl::StrCat("chain.", i)));
    if (!certificate.ok()) return certificate.status();
    order.chain.push_back(*certificate);
  }
  if (fields->contains("backup.folder")) {
    BackupOptions backup;
    backup.folder = Get(*fields, "backup.folder");
    backup.passphrase = passphrase;
    int keep_last = 0;
    int encryption = 0;
    if (absl::SimpleAtoi(Get(*fields, "backup.keep_last"), &keep_last))
      backup.keep_last = keep_last;
    if (absl::SimpleAtoi(Get(*fields, "backup.encryption"), &encryption)) {
      backup.encryption = static_cast<crypto::Pkcs12Encryption>(encryption);
    }
    order.backup = backup;
  }
  return order;
}

bool SameThumbprint(std::string_view first, std::string_view second) {
  return absl::EqualsIgnoreCase(std::string(first), std::string(second));
}

std::string Describe(const absl::Status& status) { return std::string(status.message()); }

}  // namespace

RenewalExecutor::RenewalExecutor(HostDriver& driver, JobJournal& journal, StepReporter& reporter,
                                 Clock& clock, ExecutorSettings settings)
    : driver_(driver),
      journal_(journal),
      reporter_(reporter),
      clock_(clock),
      settings_(std::move(settings)) {}

absl::StatusOr<absl::Status> RenewalExecutor::RunStep(
    std::string_view job_id, int attempt, int index, std::string_view name,
    const std::function<absl::StatusOr<std::string>()>& body) {
  StepReport report{.job_id = std::string(job_id),
                    .attempt = attempt,
                    .step_name = std::string(name),
                    .step_index = index,
                    .started = clock_.Now(),
                    .finished = std::nullopt,
                    .outcome = std::nullopt,
                    .detail = ""};
  absl::StatusOr<int64_t> record = journal_.StartStep(job_id, attempt, index, name, report.started);
  if (!record.ok()) return record.status();
  reporter_.StepStarted(report);
  absl::StatusOr<std::string> detail = body();
  report.finished = clock_.Now();
  report.outcome = detail.ok() ? StepOutcome::kSucceeded : StepOutcome::kFailed;
  report.detail = detail.ok() ? *detail : Describe(detail.status());
  if (absl::Status status =
          journal_.FinishStep(*record, *report.outcome, report.detail, *report.finished);
      !status.ok()) {
    return status;
  }
  reporter_.StepFinished(report);
  return detail.ok() ? absl::OkStatus() : detail.status();
}

absl::Status RenewalExecutor::RecordSkipped(std::string_view job_id, int attempt, int index,
                                            std::string_view name, std::string_view detail) {
  StepReport report{.job_id = std::string(job_id),
                    .attempt = attempt,
                    .step_name = std::string(name),
                    .step_index = index,
                    .started = clock_.Now(),
                    .finished = std::nullopt,
                    .outcome = std::nullopt,
                    .detail = ""};
  absl::StatusOr<int64_t> record = journal_.StartStep(job_id, attempt, index, name, report.started);
  if (!record.ok()) return record.status();
  reporter_.StepStarted(report);
  report.finished = report.started;
  report.outcome = StepOutcome::kSkipped;
  report.detail = std::string(detail);
  if (absl::Status status =
          journal_.FinishStep(*record, StepOutcome::kSkipped, detail, *report.finished);
      !status.ok()) {
    return status;
  }
  reporter_.StepFinished(report);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RenewalExecutor::FindTemporarySite(std::string_view name) {
  absl::StatusOr<HostInventory> inventory = driver_.ScanInventory();
  if (!inventory.ok()) return inventory.status();
  for (const SiteInfo& site : inventory->sites) {
    if (site.name == name) return site.site_id;
  }
  return absl::NotFoundError(
      absl::StrCat("the host has no temporary site named '", std::string(name), "'"));
}

absl::StatusOr<crypto::CertificateRequest> RenewalExecutor::Prepare(const PrepareOrder& order) {
  if (order.job_id.empty() || order.site_id.empty() || order.temporary_site_name.empty()) {
    return absl::InvalidArgumentError(
        "a prepare order needs a job id, a site id and a temporary site name");
  }
  if (absl::Status status = journal_.BeginJob(order.job_id, order.attempt, kPrepareKind,
                                              EncodePrepare(order), clock_.Now());
      !status.ok()) {
    return status;
  }
  return RunPrepare(order);
}

absl::StatusOr<crypto::CertificateRequest> RenewalExecutor::RunPrepare(const PrepareOrder& order) {
  std::string temporary_site_id;
  absl::StatusOr<absl::Status> created = RunStep(
      order.job_id, order.attempt, kCreateTemporarySite, "create_temporary_site",
      [&]() -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> site_id =
            driver_.CreateTemporarySite(order.temporary_site_name);
        if (!site_id.ok()) return site_id.status();
        temporary_site_id = *site_id;
        return absl::StrCat("temporary site '", order.temporary_site_name, "' has id ", *site_id);
      });
  if (!created.ok()) return created.status();
  std::optional<crypto::CertificateRequest> request;
  absl::Status step_status = *created;
  if (step_status.ok()) {
    absl::StatusOr<absl::Status> requested = RunStep(
        order.job_id, order.attempt, kCreatePendingRequest, "create_pending_request",
        [&]() -> absl::StatusOr<std::string> {
          absl::StatusOr<crypto::CertificateRequest> csr = driver_.CreatePendingRequest(
              temporary_site_id, order.subject, order.dns_names, order.key_spec);
          if (!csr.ok()) return csr.status();
          request = *csr;
          absl::Status saved = journal_.SetValue(order.job_id, order.attempt, kCsr, csr->ToDer());
          if (!saved.ok()) return saved;
          return absl::StrCat("pending request for '", order.subject.ToString(), "' (",
                              order.key_spec.ToString(), ") on temporary site ", temporary_site_id);
        });
    if (!requested.ok()) return requested.status();
    step_status = *requested;
  }
  if (!step_status.ok()) {
    if (absl::Status status = journal_.FinishJob(order.job_id, order.attempt, JobState::kFailed,
                                                 Describe(step_status), clock_.Now());
        !status.ok()) {
      return status;
    }
    return step_status;
  }
  if (absl::Status status = journal_.FinishJob(order.job_id, order.attempt, JobState::kSucceeded,
                                               "CSR created", clock_.Now());
      !status.ok()) {
    return status;
  }
  return *request;
}

absl::StatusOr<DeployResult> RenewalExecutor::Deploy(const DeployOrder& order) {
  if (order.job_id.empty() || order.site_id.empty() || order.temporary_site_name.empty()) {
    return absl::InvalidArgumentError(
        "a deploy order needs a job id, a site id and a temporary site name");
  }
  if (!SameThumbprint(order.leaf.Thumbprint(), order.expected_thumbprint)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate's thumbprint is ", order.leaf.Thumbprint(),
                     ", not the expected ", order.expected_thumbprint, ": nothing was changed"));
  }
  if (absl::Status status = journal_.BeginJob(order.job_id, order.attempt, kDeployKind,
                                              EncodeDeploy(order), clock_.Now());
      !status.ok()) {
    return status;
  }
  return RunDeploy(order);
}

absl::StatusOr<DeployResult> RenewalExecutor::Finish(const DeployOrder& order, JobState state,
                                                     DeployResult result) {
  std::string detail = result.reason;
  if (state == JobState::kSucceeded && detail.empty()) {
    detail =
        absl::StrCat("site ", order.site_id, " serves ", order.expected_thumbprint, ", verified");
  }
  if (absl::Status status =
          journal_.FinishJob(order.job_id, order.attempt, state, detail, clock_.Now());
      !status.ok()) {
    return status;
  }
  return result;
}

absl::StatusOr<DeployResult> RenewalExecutor::RunDeploy(const DeployOrder& order) {
  const std::string& job = order.job_id;
  const int attempt = order.attempt;
  const std::string thumbprint = absl::AsciiStrToUpper(order.expected_thumbprint);

  absl::StatusOr<std::optional<std::string>> rollback_reason =
      journal_.GetValue(job, attempt, kRollbackReason);
  if (!rollback_reason.ok()) return rollback_reason.status();
  if (rollback_reason->has_value()) return RollBack(order, **rollback_reason);

  // Runs step `index` unless the journal shows it done. Returns the journal
  // error, or the step's status.
  auto step = [&](int index, const std::function<absl::StatusOr<std::string>()>& body)
      -> absl::StatusOr<absl::Status> {
    absl::StatusOr<bool> done = journal_.StepDone(job, attempt, StepName(index));
    if (!done.ok()) return done.status();
    if (*done) return absl::OkStatus();
    return RunStep(job, attempt, index, StepName(index), body);
  };
  auto failed = [&](const absl::Status& status, std::string_view what) {
    return Finish(order, JobState::kFailed,
                  DeployResult{.outcome = JobOutcome::kFailed,
                               .reason = absl::StrCat(std::string(what), ": ", Describe(status),
                                                      "; the site's binding was not changed"),
                               .previous_thumbprint = "",
                               .backup_path = std::nullopt});
  };

  // A cancelled job stops here while the site's binding is still untouched.
  auto stopped_on_request = [&](int next_step) -> absl::StatusOr<bool> {
    if (!settings_.stop_requested) return false;
    absl::StatusOr<bool> done = journal_.StepDone(job, attempt, StepName(next_step));
    if (!done.ok()) return done.status();
    return !*done && settings_.stop_requested(job, attempt);
  };
  auto stop = [&]() {
    return Finish(order, JobState::kFailed,
                  DeployResult{.outcome = JobOutcome::kFailed,
                               .reason = "stopped on request before the binding was changed",
                               .previous_thumbprint = "",
                               .backup_path = std::nullopt});
  };
  absl::StatusOr<bool> stop_now = stopped_on_request(kAcceptCertificate);
  if (!stop_now.ok()) return stop_now.status();
  if (*stop_now) return stop();

  absl::StatusOr<absl::Status> result =
      step(kAcceptCertificate, [&]() -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> temporary = FindTemporarySite(order.temporary_site_name);
        if (!temporary.ok()) {
          // Level-triggered: after delete_temporary_site the certificate is in
          // the personal store already.
          absl::StatusOr<HostInventory> inventory = driver_.ScanInventory();
          if (!inventory.ok()) return inventory.status();
          for (const StoredCertificate& stored : inventory->certificates) {
            if (stored.store == CertificateStore::kPersonal && stored.has_private_key &&
                SameThumbprint(stored.certificate.Thumbprint(), thumbprint)) {
              return absl::StrCat("certificate ", thumbprint,
                                  " is in the personal store with its key already");
            }
          }
          return temporary.status();
        }
        absl::Status accepted = driver_.AcceptCertificate(*temporary, order.leaf, order.chain);
        if (!accepted.ok()) return accepted;
        return absl::StrCat("certificate ", thumbprint, " ('", order.leaf.SubjectText(),
                            "') accepted on temporary site ", *temporary);
      });
  if (!result.ok()) return result.status();
  if (!result->ok()) return failed(*result, "accepting the certificate failed");

  result = step(kInstallChain, [&]() -> absl::StatusOr<std::string> {
    absl::Status installed = driver_.InstallChain(order.chain);
    if (!installed.ok()) return installed;
    return absl::StrCat(order.chain.size(), " chain certificate(s) installed or present");
  });
  if (!result.ok()) return result.status();
  if (!result->ok()) return failed(*result, "installing the chain failed");

  result = step(kReadBinding, [&]() -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> current = driver_.ReadBinding(order.site_id);
    if (!current.ok()) return current.status();
    absl::Status saved = journal_.SetValue(job, attempt, kPreviousThumbprint, *current);
    if (!saved.ok()) return saved;
    return current->empty() ? absl::StrCat("site ", order.site_id, " had no certificate bound")
                            : absl::StrCat("site ", order.site_id, " was bound to ", *current);
  });
  if (!result.ok()) return result.status();
  if (!result->ok()) return failed(*result, "reading the current binding failed");

  stop_now = stopped_on_request(kReplaceBinding);
  if (!stop_now.ok()) return stop_now.status();
  if (*stop_now) return stop();

  result = step(kReplaceBinding, [&]() -> absl::StatusOr<std::string> {
    absl::Status replaced = driver_.ReplaceBinding(order.site_id, thumbprint);
    if (!replaced.ok()) return replaced;
    return absl::StrCat("site ", order.site_id, " bound to ", thumbprint);
  });
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return RollBack(order, absl::StrCat("replacing the binding failed: ", Describe(*result)));
  }

  result = step(kDeleteTemporarySite, [&]() -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> temporary = FindTemporarySite(order.temporary_site_name);
    if (absl::IsNotFound(temporary.status())) return std::string("temporary site already gone");
    if (!temporary.ok()) return temporary.status();
    absl::Status deleted = driver_.DeleteSite(*temporary);
    if (!deleted.ok()) return deleted;
    return absl::StrCat("temporary site ", *temporary, " deleted");
  });
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return RollBack(order, absl::StrCat("deleting the temporary site failed: ", Describe(*result)));
  }

  // A restart not yet verified is always redone: the served state is what
  // the verify step judges, so both run together after a crash.
  absl::StatusOr<bool> verified = journal_.StepDone(job, attempt, StepName(kVerify));
  if (!verified.ok()) return verified.status();
  if (!*verified) {
    result =
        RunStep(job, attempt, kRestart, StepName(kRestart), [&]() -> absl::StatusOr<std::string> {
          absl::Status restarted = driver_.Restart();
          if (!restarted.ok()) return restarted;
          return std::string("web server restarted");
        });
    if (!result.ok()) return result.status();
    if (!result->ok()) {
      return RollBack(order, absl::StrCat("restarting the web server failed: ", Describe(*result)));
    }
    result = RunStep(job, attempt, kVerify, StepName(kVerify),
                     [&]() { return VerifyServed(order.site_id, thumbprint, order.trusted_root); });
    if (!result.ok()) return result.status();
    if (!result->ok()) {
      return RollBack(order, absl::StrCat("verification failed: ", Describe(*result)));
    }
  }

  absl::StatusOr<std::optional<std::string>> previous =
      journal_.GetValue(job, attempt, kPreviousThumbprint);
  if (!previous.ok()) return previous.status();
  DeployResult deployed{.outcome = JobOutcome::kSucceeded,
                        .reason = "",
                        .previous_thumbprint = previous->value_or(""),
                        .backup_path = std::nullopt};

  if (!order.backup.has_value() || order.backup->passphrase.empty()) {
    absl::StatusOr<bool> done = journal_.StepDone(job, attempt, StepName(kBackup));
    if (!done.ok()) return done.status();
    if (!*done) {
      if (absl::Status status = RecordSkipped(job, attempt, kBackup, StepName(kBackup),
                                              order.backup.has_value()
                                                  ? "no backup passphrase available after a restart"
                                                  : "no backup requested");
          !status.ok()) {
        return status;
      }
    }
  } else {
    result = step(kBackup, [&]() -> absl::StatusOr<std::string> {
      absl::StatusOr<std::filesystem::path> path =
          driver_.Backup(order.site_id, thumbprint, *order.backup);
      if (!path.ok()) return path.status();
      deployed.backup_path = *path;
      return absl::StrCat("backed up to ", path->string());
    });
    if (!result.ok()) return result.status();
    if (!result->ok()) {
      deployed.reason =
          absl::StrCat("deployed and verified, but the backup failed: ", Describe(*result));
    }
  }
  return Finish(order, JobState::kSucceeded, std::move(deployed));
}

absl::StatusOr<DeployResult> RenewalExecutor::RollBack(const DeployOrder& order,
                                                       std::string reason) {
  const std::string& job = order.job_id;
  const int attempt = order.attempt;
  if (absl::Status status = journal_.SetValue(job, attempt, kRollbackReason, reason);
      !status.ok()) {
    return status;
  }
  absl::StatusOr<std::optional<std::string>> previous =
      journal_.GetValue(job, attempt, kPreviousThumbprint);
  if (!previous.ok()) return previous.status();
  const std::string previous_thumbprint = previous->value_or("");
  auto ended = [&](JobState state, std::string why) {
    return Finish(order, state,
                  DeployResult{.outcome = state == JobState::kRolledBack ? JobOutcome::kRolledBack
                                                                         : JobOutcome::kFailed,
                               .reason = std::move(why),
                               .previous_thumbprint = previous_thumbprint,
                               .backup_path = std::nullopt});
  };
  if (previous_thumbprint.empty()) {
    return ended(JobState::kFailed,
                 absl::StrCat(reason,
                              "; the site had no certificate before, so there is "
                              "nothing to roll back to: it needs a person"));
  }
  auto step = [&](int index, const std::function<absl::StatusOr<std::string>()>& body)
      -> absl::StatusOr<absl::Status> {
    absl::StatusOr<bool> done = journal_.StepDone(job, attempt, StepName(index));
    if (!done.ok()) return done.status();
    if (*done) return absl::OkStatus();
    return RunStep(job, attempt, index, StepName(index), body);
  };
  absl::StatusOr<absl::Status> result =
      step(kRollbackBinding, [&]() -> absl::StatusOr<std::string> {
        absl::Status replaced = driver_.ReplaceBinding(order.site_id, previous_thumbprint);
        if (!replaced.ok()) return replaced;
        return absl::StrCat("site ", order.site_id, " bound back to ", previous_thumbprint);
      });
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return ended(JobState::kFailed,
                 absl::StrCat(reason, "; rolling back failed: ", Describe(*result)));
  }
  absl::StatusOr<bool> verified = journal_.StepDone(job, attempt, StepName(kRollbackVerify));
  if (!verified.ok()) return verified.status();
  if (!*verified) {
    result = RunStep(job, attempt, kRollbackRestart, StepName(kRollbackRestart),
                     [&]() -> absl::StatusOr<std::string> {
                       absl::Status restarted = driver_.Restart();
                       if (!restarted.ok()) return restarted;
                       return std::string("web server restarted");
                     });
    if (!result.ok()) return result.status();
    if (result->ok()) {
      // The previous certificate is judged by what is served, not by its
      // chain: the rollback restores what was there.
      result = RunStep(job, attempt, kRollbackVerify, StepName(kRollbackVerify), [&]() {
        return VerifyServed(order.site_id, previous_thumbprint, std::nullopt);
      });
      if (!result.ok()) return result.status();
    }
    if (!result->ok()) {
      return ended(JobState::kFailed, absl::StrCat(reason, "; rolled back to ", previous_thumbprint,
                                                   " but ", Describe(*result)));
    }
  }
  return ended(JobState::kRolledBack,
               absl::StrCat(reason, "; rolled back: ", previous_thumbprint, " is served again"));
}

absl::StatusOr<std::string> RenewalExecutor::VerifyServed(
    std::string_view site_id, std::string_view thumbprint,
    const std::optional<crypto::Certificate>& root) {
  absl::StatusOr<std::vector<SiteEndpoint>> endpoints = driver_.SecureEndpoints(site_id);
  if (!endpoints.ok()) return endpoints.status();
  if (endpoints->empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("site ", std::string(site_id), " has no secure endpoint to verify"));
  }
  std::vector<std::string> details;
  for (const SiteEndpoint& endpoint : *endpoints) {
    const std::string where = absl::StrCat(endpoint.address, ":", endpoint.port);
    tls::ProbeOptions options;
    options.host = endpoint.address;
    options.port = endpoint.port;
    options.timeout = settings_.probe_timeout;
    if (root.has_value()) options.trusted_roots = {*root};
    absl::StatusOr<tls::ProbeResult> probe = tls::ProbeTls(options);
    if (!probe.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the TLS handshake with ", where, " failed: ", Describe(probe.status())));
    }
    if (probe->served_chain.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(where, " served no certificate"));
    }
    const std::string served = probe->leaf().Thumbprint();
    if (!SameThumbprint(served, thumbprint)) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, " serves ", served, ", not ", std::string(thumbprint)));
    }
    if (root.has_value() && !probe->verification.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          where, " serves ", served, " but the served chain does not verify to '",
          root->SubjectText(), "' (", crypto::ChainProblemName(probe->verification.problem),
          "): ", probe->verification.reason));
    }
    details.push_back(absl::StrCat(where, " serves ", served, " over ", probe->protocol,
                                   root.has_value() ? " with a chain that verifies" : ""));
  }
  return absl::StrJoin(details, "; ");
}

absl::StatusOr<crypto::CertificateRequest> RenewalExecutor::PreparedRequest(std::string_view job_id,
                                                                            int attempt) {
  absl::StatusOr<std::optional<std::string>> der = journal_.GetValue(job_id, attempt, kCsr);
  if (!der.ok()) return der.status();
  if (!der->has_value()) {
    return absl::NotFoundError(absl::StrCat("job ", std::string(job_id), " attempt ", attempt,
                                            " has no CSR in the journal"));
  }
  return crypto::CertificateRequest::Parse(**der);
}

absl::StatusOr<DeployOrder> RenewalExecutor::JournaledDeployOrder(std::string_view job_id,
                                                                  int attempt) {
  absl::StatusOr<JobRecord> job = journal_.GetJob(job_id, attempt);
  if (!job.ok()) return job.status();
  if (job->kind != kDeployKind) {
    return absl::InvalidArgumentError(absl::StrCat("job ", std::string(job_id), " attempt ",
                                                   attempt, " is a ", job->kind, " job"));
  }
  return DecodeDeploy(*job, settings_.backup_passphrase);
}

absl::StatusOr<std::vector<ResumedJob>> RenewalExecutor::ResumeUnfinished() {
  absl::StatusOr<std::vector<JobRecord>> jobs = journal_.UnfinishedJobs();
  if (!jobs.ok()) return jobs.status();
  std::vector<ResumedJob> resumed;
  for (const JobRecord& job : *jobs) {
    if (job.kind == kPrepareKind) {
      absl::StatusOr<PrepareOrder> order = DecodePrepare(job);
      if (!order.ok()) {
        if (absl::Status status = journal_.FinishJob(job.job_id, job.attempt, JobState::kFailed,
                                                     Describe(order.status()), clock_.Now());
            !status.ok()) {
          return status;
        }
      } else {
        absl::StatusOr<crypto::CertificateRequest> request = RunPrepare(*order);
        (void)request;  // The outcome is in the journal; the controller asks again.
      }
    } else if (job.kind == kDeployKind) {
      absl::StatusOr<DeployOrder> order = DecodeDeploy(job, settings_.backup_passphrase);
      if (!order.ok()) {
        // A damaged order cannot be run; it must not block the other jobs.
        if (absl::Status status = journal_.FinishJob(
                job.job_id, job.attempt, JobState::kFailed,
                absl::StrCat("the journaled order cannot be read: ", Describe(order.status())),
                clock_.Now());
            !status.ok()) {
          return status;
        }
        absl::StatusOr<JobRecord> finished = journal_.GetJob(job.job_id, job.attempt);
        if (!finished.ok()) return finished.status();
        resumed.push_back(ResumedJob{.job_id = job.job_id,
                                     .attempt = job.attempt,
                                     .kind = job.kind,
                                     .state = finished->state,
                                     .detail = finished->detail});
        continue;
      }
      // Level-triggered: a site bound by someone else since is left alone.
      absl::StatusOr<std::optional<std::string>> previous =
          journal_.GetValue(job.job_id, job.attempt, kPreviousThumbprint);
      if (!previous.ok()) return previous.status();
      absl::StatusOr<std::string> current = driver_.ReadBinding(order->site_id);
      if (current.ok() && previous->has_value() && !SameThumbprint(*current, **previous) &&
          !SameThumbprint(*current, order->expected_thumbprint)) {
        if (absl::Status status = journal_.FinishJob(
                job.job_id, job.attempt, JobState::kFailed,
                absl::StrCat("site ", order->site_id, " is bound to ", *current,
                             ", neither the previous ", **previous, " nor the new ",
                             order->expected_thumbprint, ": changed by hand, left alone"),
                clock_.Now());
            !status.ok()) {
          return status;
        }
      } else {
        absl::StatusOr<DeployResult> result = RunDeploy(*order);
        if (!result.ok()) return result.status();
      }
    } else {
      if (absl::Status status =
              journal_.FinishJob(job.job_id, job.attempt, JobState::kFailed,
                                 absl::StrCat("unknown job kind '", job.kind, "'"), clock_.Now());
          !status.ok()) {
        return status;
      }
    }
    absl::StatusOr<JobRecord> finished = journal_.GetJob(job.job_id, job.attempt);
    if (!finished.ok()) return finished.status();
    resumed.push_back(ResumedJob{.job_id = job.job_id,
                                 .attempt = job.attempt,
                                 .kind = job.kind,
                                 .state = finished->state,
                                 .detail = finished->detail});
  }
  return resumed;
}

}  // namespace certfleet::agent
