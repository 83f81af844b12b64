#include "controller/campaigns/wave_planner.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "controller/admin/record_conversion.h"

namespace certfleet::controller::campaigns {
namespace {

// Length-prefixed, so that no two different plans serialize alike whatever
// characters the ids contain.
void AppendField(std::string& out, std::string_view field) {
  absl::StrAppend(&out, field.size(), ":", std::string(field), ";");
}

}  // namespace

absl::StatusOr<WavePlanSettings> FromWavePlanProto(const v1::WavePlan& plan) {
  WavePlanSettings settings;
  settings.canary_hosts =
      std::max(1, static_cast<int>(std::min<uint32_t>(plan.canary_hosts(), INT32_MAX)));
  int previous = 0;
  for (int i = 0; i < plan.cumulative_percentages_size(); ++i) {
    const uint32_t percentage = plan.cumulative_percentages(i);
    if (percentage == 0 || percentage > 100) {
      return absl::InvalidArgumentError(absl::StrCat("wave_plan.cumulative_percentages[", i,
                                                     "] is ", percentage,
                                                     "; each must be between 1 and 100"));
    }
    if (static_cast<int>(percentage) <= previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("wave_plan.cumulative_percentages[", i, "] is ", percentage,
                       ", not more than the previous ", previous, "; they must increase"));
    }
    previous = static_cast<int>(percentage);
    settings.cumulative_percentages.push_back(previous);
  }
  if (plan.has_soak_time()) {
    settings.soak_time = admin::FromDuration(plan.soak_time());
    if (settings.soak_time < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("wave_plan.soak_time must not be negative");
    }
  }
  return settings;
}

std::vector<Wave> PlanWaves(std::vector<PlannedTarget> targets, const WavePlanSettings& settings) {
  auto sort_key = [](const PlannedTarget& target) {
    return std::make_tuple(absl::AsciiStrToLower(target.hostname), target.host_id, target.site_id,
                           target.binding_id);
  };
  std::sort(targets.begin(), targets.end(), [&](const PlannedTarget& a, const PlannedTarget& b) {
    return sort_key(a) < sort_key(b);
  });

  // Hosts in order, each as the range of its targets.
  struct HostRange {
    size_t begin = 0;
    size_t end = 0;
  };
  std::vector<HostRange> hosts;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (hosts.empty() || targets[hosts.back().begin].host_id != targets[i].host_id) {
      hosts.push_back({i, i});
    }
    hosts.back().end = i + 1;
  }

  const int64_t host_count = static_cast<int64_t>(hosts.size());
  // How many hosts have been started by the end of each wave.
  std::vector<int64_t> wave_ends;
  int64_t assigned = std::min<int64_t>(std::max(1, settings.canary_hosts), host_count);
  if (assigned > 0) wave_ends.push_back(assigned);
  for (const int percentage : settings.cumulative_percentages) {
    if (assigned >= host_count) break;
    const int64_t reach = (host_count * percentage + 99) / 100;
    assigned = std::min(host_count, std::max(reach, assigned + 1));
    wave_ends.push_back(assigned);
  }
  if (assigned < host_count) wave_ends.push_back(host_count);

  std::vector<Wave> waves;
  int64_t first_host = 0;
  for (const int64_t end : wave_ends) {
    Wave wave;
    wave.index = static_cast<int>(waves.size());
    wave.host_count = static_cast<int>(end - first_host);
    for (int64_t host = first_host; host < end; ++host) {
      for (size_t i = hosts[host].begin; i < hosts[host].end; ++i) {
        wave.targets.push_back(std::move(targets[i]));
      }
    }
    waves.push_back(std::move(wave));
    first_host = end;
  }
  return waves;
}

std::string PlanFingerprint(const std::vector<Wave>& waves) {
  std::string canonical = "certfleet campaign plan v1;";
  for (const Wave& wave : waves) {
    AppendField(canonical, "wave");
    AppendField(canonical, absl::StrCat(wave.index));
    for (const PlannedTarget& target : wave.targets) {
      AppendField(canonical, "target");
      AppendField(canonical, target.host_id);
      AppendField(canonical, target.binding_id);
      AppendField(canonical, absl::AsciiStrToUpper(target.current_thumbprint));
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(canonical.data(), canonical.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::AsciiStrToUpper(
      absl::BytesToHexString(std::string(reinterpret_cast<const char*>(digest), length)));
}

std::vector<store::CampaignTargetRecord> ToCampaignTargets(const std::vector<Wave>& waves) {
  std::vector<store::CampaignTargetRecord> records;
  for (const Wave& wave : waves) {
    for (const PlannedTarget& target : wave.targets) {
      store::CampaignTargetRecord record;
      record.wave_index = wave.index;
      record.host_id = target.host_id;
      record.binding_id = target.binding_id;
      record.site_id = target.site_id;
      record.planned_thumbprint = target.current_thumbprint;
      record.hostname = target.hostname;
      record.site_name = target.site_name;
      records.push_back(std::move(record));
    }
  }
  return records;
}

}  // namespace certfleet::controller::campaigns
