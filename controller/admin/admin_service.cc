#include "controller/admin/admin_service.h"

#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "controller/admin/record_conversion.h"
#include "controller/agents/status_conversion.h"
#include "controller/identity/join_token.h"
#include "controller/issuance/ca_product_catalogue.h"
#include "controller/issuance/upload_matcher.h"
#include "controller/renewal/order_steps.h"
#include "controller/renewal/renewal_policy.h"

namespace certfleet::controller::admin {
namespace {

// store::ToString as a std::string (abseil's StrCat wants its own
// string_view).
template <typename Value>
std::string NameOf(Value value) {
  return std::string(store::ToString(value));
}

OrderStage StageOf(const store::OrderRecord& order) {
  if (!order.open) return OrderStage::kClosed;
  switch (order.state) {
    case store::OrderState::kAwaitingIssuance:
      return OrderStage::kAwaitingIssuance;
    case store::OrderState::kIssued:
    case store::OrderState::kDeploying:
    case store::OrderState::kVerifying:
      return OrderStage::kIssued;
    default:
      return OrderStage::kClosed;
  }
}

}  // namespace

AdminServiceImpl::AdminServiceImpl(const FleetAuthority& authority, store::Store& store,
                                   AdminServiceOptions options)
    : authority_(authority), store_(store), options_(std::move(options)) {}

grpc::ServerUnaryReactor* AdminServiceImpl::Read(
    grpc::CallbackServerContext* context,
    const std::function<absl::Status(const AdminPeer&)>& body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<AdminPeer> admin =
      AuthenticateAdmin(context->auth_context().get(), authority_, options_.clock());
  if (!admin.ok()) {
    reactor->Finish(agents::ToGrpcStatus(admin.status()));
    return reactor;
  }
  reactor->Finish(agents::ToGrpcStatus(body(*admin)));
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::Change(
    grpc::CallbackServerContext* context, std::string_view action, std::string target,
    const std::function<absl::Status(const AdminPeer&, std::string& detail)>& body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<AdminPeer> admin =
      AuthenticateAdmin(context->auth_context().get(), authority_, options_.clock());
  if (!admin.ok()) {
    reactor->Finish(agents::ToGrpcStatus(admin.status()));
    return reactor;
  }
  std::string detail;
  const absl::Status status = body(*admin, detail);
  store::AuditEventRecord event;
  event.occurred_at = options_.clock();
  event.actor = admin->name;
  event.action = std::string(action);
  event.target = std::move(target);
  event.succeeded = status.ok();
  event.detail = status.ok() ? detail : std::string(status.message());
  absl::StatusOr<store::AuditEventRecord> appended = store_.audit_log().AppendAuditEvent(event);
  if (!appended.ok()) {
    // The change itself is done (or refused); the caller still gets its
    // answer, and the operator of the controller sees the gap.
    std::cerr << "certfleet-controller: audit log append failed for " << event.action << " by "
              << event.actor << ": " << appended.status() << "\n";
  }
  reactor->Finish(agents::ToGrpcStatus(status));
  return reactor;
}

void AdminServiceImpl::WakeRenewals() const {
  if (options_.wake_renewals) options_.wake_renewals();
}

absl::StatusOr<std::string> AdminServiceImpl::HostnameOf(std::string_view host_id) {
  absl::StatusOr<store::HostRecord> host = store_.hosts().GetHost(host_id);
  if (!host.ok()) return host.status();
  return host->hostname;
}

// ---------------------------------------------------------------------------
// Hosts
// ---------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::ListHosts(grpc::CallbackServerContext* context,
                                                      const v1::ListHostsRequest* request,
                                                      v1::ListHostsResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    store::HostQuery query;
    query.selector = FromHostSelectorProto(request->hosts());
    query.connectivity =
        request->connectivity() == v1::CONNECTIVITY_FILTER_ONLINE    ? store::Connectivity::kOnline
        : request->connectivity() == v1::CONNECTIVITY_FILTER_OFFLINE ? store::Connectivity::kOffline
                                                                     : store::Connectivity::kAny;
    query.include_decommissioned = request->include_decommissioned();
    query.page = FromPageRequest(request->page());
    absl::StatusOr<store::Page<store::HostRecord>> page = store_.hosts().ListHosts(query);
    if (!page.ok()) return page.status();
    for (const store::HostRecord& host : page->items) *response->add_hosts() = ToHostProto(host);
    SetPageResponse(*page, response->mutable_page());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetHost(grpc::CallbackServerContext* context,
                                                    const v1::GetHostRequest* request,
                                                    v1::GetHostResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    absl::StatusOr<store::HostRecord> host = store_.hosts().GetHost(request->host_id());
    if (!host.ok()) return host.status();
    *response->mutable_host() = ToHostProto(*host);
    absl::StatusOr<std::vector<store::SiteRecord>> sites =
        store_.inventory().ListSites(host->host_id);
    if (!sites.ok()) return sites.status();
    for (const store::SiteRecord& site : *sites) *response->add_sites() = ToSiteProto(site);
    store::CertificateQuery certificates_query;
    certificates_query.host_id = host->host_id;
    certificates_query.scope = store::CertificateScope::kAll;
    certificates_query.include_decommissioned_hosts = true;
    certificates_query.page.page_size = store::kMaximumPageSize;
    absl::StatusOr<store::Page<store::CertificateRecord>> certificates =
        store_.inventory().ListCertificates(certificates_query);
    if (!certificates.ok()) return certificates.status();
    std::map<std::string, const store::CertificateRecord*> by_thumbprint;
    for (const store::CertificateRecord& certificate : certificates->items) {
      *response->add_certificates() = ToCertificateInfoProto(certificate);
      by_thumbprint.emplace(certificate.thumbprint_sha1, &certificate);
    }
    absl::StatusOr<std::vector<store::BindingRecord>> bindings =
        store_.inventory().ListBindings(host->host_id);
    if (!bindings.ok()) return bindings.status();
    absl::StatusOr<store::PolicyRecord> policy = renewal::PolicyFor(store_.policies(), *host);
    for (const store::BindingRecord& binding : *bindings) {
      v1::BindingView* view = response->add_bindings();
      view->set_host_id(host->host_id);
      view->set_hostname(host->hostname);
      view->set_site_name(binding.site_name);
      *view->mutable_binding() = ToBindingProto(binding);
      auto certificate = by_thumbprint.find(binding.certificate_thumbprint);
      if (certificate != by_thumbprint.end()) {
        *view->mutable_certificate() = ToCertificateInfoProto(*certificate->second);
      }
      view->set_served_status(ToServedStatusProto(binding.last_probe));
      if (binding.last_probe.has_value()) {
        *view->mutable_last_probe() = ToProbeResultProto(*binding.last_probe);
      }
      if (policy.ok()) view->set_policy_name(policy->name);
      absl::StatusOr<std::optional<store::OrderRecord>> open =
          store_.orders().FindOpenOrder(host->host_id, binding.binding_id);
      if (!open.ok()) return open.status();
      if (open->has_value()) {
        view->set_open_order_id((*open)->order_id);
        view->set_open_order_state(ToOrderStateProto((*open)->state));
      }
    }
    absl::StatusOr<std::vector<store::PendingRequestRecord>> pending =
        store_.inventory().ListPendingRequests(host->host_id);
    if (!pending.ok()) return pending.status();
    for (const store::PendingRequestRecord& request_record : *pending) {
      *response->add_pending_requests() = ToPendingRequestProto(request_record);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetHostLabels(grpc::CallbackServerContext* context,
                                                          const v1::SetHostLabelsRequest* request,
                                                          v1::SetHostLabelsResponse* response) {
  return Change(context, "SetHostLabels", absl::StrCat("host ", request->host_id()),
                [&](const AdminPeer&, std::string& detail) -> absl::Status {
                  std::map<std::string, std::string> labels(request->labels().begin(),
                                                            request->labels().end());
                  for (const auto& [key, value] : labels) {
                    const bool valid_length = !key.empty() && key.size() <= 63;
                    bool valid_characters = true;
                    for (char c : key) {
                      valid_characters =
                          valid_characters && (absl::ascii_islower(c) || absl::ascii_isdigit(c) ||
                                               c == '-' || c == '_' || c == '.' || c == '/');
                    }
                    if (!valid_length || !valid_characters) {
                      return absl::InvalidArgumentError(absl::StrCat(
                          "labels: key \"", key,
                          "\" must be 1 to 63 lower-case letters, digits, '-', '_', '.' or '/'"));
                    }
                  }
                  absl::StatusOr<store::HostRecord> host =
                      store_.hosts().SetLabels(request->host_id(), labels);
                  if (!host.ok()) return host.status();
                  *response->mutable_host() = ToHostProto(*host);
                  std::vector<std::string> pairs;
                  for (const auto& [key, value] : labels) pairs.push_back(key + "=" + value);
                  detail = absl::StrCat("labels: ", absl::StrJoin(pairs, ","));
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RescanHost(grpc::CallbackServerContext* context,
                                                       const v1::RescanHostRequest* request,
                                                       v1::RescanHostResponse* response) {
  return Change(context, "RescanHost", absl::StrCat("host ", request->host_id()),
                [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
                  const std::string reason = request->reason().empty()
                                                 ? absl::StrCat("rescan asked by ", admin.name)
                                                 : request->reason();
                  absl::StatusOr<std::string> job_id;
                  if (options_.request_inventory) {
                    job_id = options_.request_inventory(request->host_id(), reason);
                  } else {
                    v1::JobSpec spec;
                    spec.mutable_inventory()->set_reason(reason);
                    store::NewJob job;
                    job.host_id = request->host_id();
                    job.kind = store::JobKind::kInventory;
                    job.spec = spec.SerializeAsString();
                    job.created_at = options_.clock();
                    job.created_by = admin.name;
                    absl::StatusOr<store::JobRecord> created =
                        store_.jobs().CreateJob(job, std::nullopt);
                    if (!created.ok()) return created.status();
                    job_id = created->job_id;
                  }
                  if (!job_id.ok()) return job_id.status();
                  response->set_job_id(*job_id);
                  detail = absl::StrCat("inventory job ", *job_id, ": ", reason);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DecommissionHost(
    grpc::CallbackServerContext* context, const v1::DecommissionHostRequest* request,
    v1::DecommissionHostResponse* response) {
  return Change(
      context, "DecommissionHost", absl::StrCat("host ", request->host_id()),
      [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
        store::JobQuery running;
        running.host_id = request->host_id();
        running.kind = store::JobKind::kDeploy;
        running.statuses = {store::JobStatus::kRunning};
        absl::StatusOr<store::Page<store::JobRecord>> deploys = store_.jobs().ListJobs(running);
        if (!deploys.ok()) return deploys.status();
        if (!deploys->items.empty()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "host ", request->host_id(), " is running deploy job ", deploys->items.front().job_id,
              "; wait for it to finish (certfleetctl jobs show) and retry"));
        }
        const std::string reason = request->reason().empty()
                                       ? absl::StrCat("decommissioned by ", admin.name)
                                       : request->reason();
        absl::StatusOr<store::HostRecord> host =
            store_.hosts().DecommissionHost(request->host_id(), reason, options_.clock());
        if (!host.ok()) return host.status();
        *response->mutable_host() = ToHostProto(*host);
        detail = reason;
        return absl::OkStatus();
      });
}

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::ListCertificates(
    grpc::CallbackServerContext* context, const v1::ListCertificatesRequest* request,
    v1::ListCertificatesResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    store::CertificateQuery query;
    if (request->has_expiring_within()) {
      query.not_after_before = options_.clock() + FromDuration(request->expiring_within());
    }
    query.host_id = request->host_id();
    query.issuer_contains = request->issuer_contains();
    query.subject_contains = request->subject_contains();
    query.thumbprint = request->thumbprint();
    switch (request->scope()) {
      case v1::CERTIFICATE_SCOPE_ALL:
        query.scope = store::CertificateScope::kAll;
        break;
      case v1::CERTIFICATE_SCOPE_SERVER:
        query.scope = store::CertificateScope::kServer;
        break;
      default:
        query.scope = store::CertificateScope::kBound;
        break;
    }
    switch (request->sort_key()) {
      case v1::CERTIFICATE_SORT_KEY_HOSTNAME:
        query.sort_key = store::CertificateSortKey::kHostname;
        break;
      case v1::CERTIFICATE_SORT_KEY_SUBJECT:
        query.sort_key = store::CertificateSortKey::kSubject;
        break;
      case v1::CERTIFICATE_SORT_KEY_ISSUER:
        query.sort_key = store::CertificateSortKey::kIssuer;
        break;
      default:
        query.sort_key = store::CertificateSortKey::kNotAfter;
        break;
    }
    query.direction = request->sort_direction() == v1::SORT_DIRECTION_DESCENDING
                          ? store::SortDirection::kDescending
                          : store::SortDirection::kAscending;
    query.page = FromPageRequest(request->page());
    absl::StatusOr<store::Page<store::CertificateRecord>> page =
        store_.inventory().ListCertificates(query);
    if (!page.ok()) return page.status();
    std::map<std::string, std::vector<store::BindingRecord>> bindings_by_host;
    for (const store::CertificateRecord& certificate : page->items) {
      v1::CertificateRecord* row = response->add_certificates();
      *row->mutable_certificate() = ToCertificateInfoProto(certificate);
      row->set_host_id(certificate.host_id);
      row->set_hostname(certificate.hostname);
      SetTimestamp(certificate.first_seen_at, row->mutable_first_seen_at());
      row->set_served_status(v1::SERVED_STATUS_NOT_PROBED);
      auto bindings = bindings_by_host.find(certificate.host_id);
      if (bindings == bindings_by_host.end()) {
        absl::StatusOr<std::vector<store::BindingRecord>> listed =
            store_.inventory().ListBindings(certificate.host_id);
        if (!listed.ok()) return listed.status();
        bindings = bindings_by_host.emplace(certificate.host_id, *std::move(listed)).first;
      }
      for (const store::BindingRecord& binding : bindings->second) {
        if (binding.certificate_thumbprint != certificate.thumbprint_sha1) continue;
        v1::SiteReference* site = row->add_bound_sites();
        site->set_site_id(binding.site_id);
        site->set_site_name(binding.site_name);
        site->set_binding_id(binding.binding_id);
        row->set_served_status(
            WorseServedStatus(row->served_status(), ToServedStatusProto(binding.last_probe)));
        absl::StatusOr<std::optional<store::OrderRecord>> open =
            store_.orders().FindOpenOrder(certificate.host_id, binding.binding_id);
        if (!open.ok()) return open.status();
        if (open->has_value()) row->set_open_order_id((*open)->order_id);
      }
    }
    SetPageResponse(*page, response->mutable_page());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetCertificate(grpc::CallbackServerContext* context,
                                                           const v1::GetCertificateRequest* request,
                                                           v1::GetCertificateResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    if (request->thumbprint().empty()) {
      return absl::InvalidArgumentError("thumbprint is empty; give the SHA-1 thumbprint");
    }
    store::CertificateQuery query;
    query.thumbprint = request->thumbprint();
    query.scope = store::CertificateScope::kAll;
    query.include_der = true;
    query.include_decommissioned_hosts = true;
    query.page.page_size = store::kMaximumPageSize;
    absl::StatusOr<store::Page<store::CertificateRecord>> page =
        store_.inventory().ListCertificates(query);
    if (!page.ok()) return page.status();
    if (page->items.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no host holds a certificate with thumbprint ", request->thumbprint()));
    }
    *response->mutable_certificate() = ToCertificateInfoProto(page->items.front());
    for (const store::CertificateRecord& certificate : page->items) {
      v1::CertificateRecord* placement = response->add_placements();
      *placement->mutable_certificate() = ToCertificateInfoProto(certificate);
      placement->mutable_certificate()->clear_der();
      placement->set_host_id(certificate.host_id);
      placement->set_hostname(certificate.hostname);
      SetTimestamp(certificate.first_seen_at, placement->mutable_first_seen_at());
      placement->set_served_status(v1::SERVED_STATUS_NOT_PROBED);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetBindingHistory(
    grpc::CallbackServerContext* context, const v1::GetBindingHistoryRequest* request,
    v1::GetBindingHistoryResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    absl::StatusOr<store::Page<store::BindingChangeRecord>> page =
        store_.inventory().ListBindingHistory(request->host_id(), request->binding_id(),
                                              FromPageRequest(request->page()));
    if (!page.ok()) return page.status();
    // Newest first: a change's new certificate was bound until the change
    // after it (the entry before it in this list).
    std::optional<absl::Time> unbound_at;
    for (const store::BindingChangeRecord& change : page->items) {
      v1::BindingHistoryEntry* entry = response->add_entries();
      entry->set_thumbprint(change.new_thumbprint);
      entry->set_order_id(change.order_id);
      SetTimestamp(change.changed_at, entry->mutable_bound_at());
      if (unbound_at) SetTimestamp(*unbound_at, entry->mutable_unbound_at());
      unbound_at = change.changed_at;
      if (change.new_thumbprint.empty()) continue;
      store::CertificateQuery query;
      query.thumbprint = change.new_thumbprint;
      query.host_id = request->host_id();
      query.include_decommissioned_hosts = true;
      query.page.page_size = 1;
      absl::StatusOr<store::Page<store::CertificateRecord>> certificate =
          store_.inventory().ListCertificates(query);
      if (certificate.ok() && !certificate->items.empty()) {
        entry->set_subject(certificate->items.front().subject);
        SetTimestamp(certificate->items.front().not_after, entry->mutable_not_after());
      }
    }
    SetPageResponse(*page, response->mutable_page());
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::ListOrders(grpc::CallbackServerContext* context,
                                                       const v1::ListOrdersRequest* request,
                                                       v1::ListOrdersResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    store::OrderQuery query;
    for (int state : request->states()) {
      absl::StatusOr<store::OrderState> parsed =
          FromOrderStateProto(static_cast<v1::OrderState>(state));
      if (!parsed.ok())
        return absl::InvalidArgumentError(absl::StrCat("states: ", parsed.status().message()));
      query.states.push_back(*parsed);
    }
    query.host_id = request->host_id();
    query.site_id = request->site_id();
    query.campaign_id = request->campaign_id();
    query.page = FromPageRequest(request->page());
    absl::StatusOr<store::Page<store::OrderRecord>> page = store_.orders().ListOrders(query);
    if (!page.ok()) return page.status();
    std::map<std::string, std::string> hostnames;
    for (const store::OrderRecord& order : page->items) {
      auto hostname = hostnames.find(order.host_id);
      if (hostname == hostnames.end()) {
        absl::StatusOr<std::string> name = HostnameOf(order.host_id);
        hostname = hostnames.emplace(order.host_id, name.ok() ? *name : std::string()).first;
      }
      *response->add_orders() = ToOrderProto(order, hostname->second);
    }
    SetPageResponse(*page, response->mutable_page());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetOrder(grpc::CallbackServerContext* context,
                                                     const v1::GetOrderRequest* request,
                                                     v1::GetOrderResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    absl::StatusOr<store::OrderRecord> order = store_.orders().GetOrder(request->order_id());
    if (!order.ok()) return order.status();
    absl::StatusOr<std::string> hostname = HostnameOf(order->host_id);
    *response->mutable_order() = ToOrderProto(*order, hostname.ok() ? *hostname : "");
    store::JobQuery query;
    query.order_id = order->order_id;
    query.page.page_size = store::kMaximumPageSize;
    absl::StatusOr<store::Page<store::JobRecord>> jobs = store_.jobs().ListJobs(query);
    if (!jobs.ok()) return jobs.status();
    for (const store::JobRecord& listed : jobs->items) {
      absl::StatusOr<store::JobRecord> job = store_.jobs().GetJob(listed.job_id);
      if (!job.ok()) return job.status();
      *response->add_jobs() = ToJobProto(*job);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RenewNow(grpc::CallbackServerContext* context,
                                                     const v1::RenewNowRequest* request,
                                                     v1::RenewNowResponse* response) {
  std::string target = absl::StrCat("host ", request->host_id());
  if (!request->site_id().empty()) absl::StrAppend(&target, " site ", request->site_id());
  return Change(
      context, "RenewNow", std::move(target),
      [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
        absl::StatusOr<store::HostRecord> host = store_.hosts().GetHost(request->host_id());
        if (!host.ok()) return host.status();
        if (host->state == store::HostState::kDecommissioned) {
          return absl::FailedPreconditionError(
              absl::StrCat("host ", host->hostname, " is decommissioned; enroll it again first"));
        }
        absl::StatusOr<std::vector<store::BindingRecord>> bindings =
            store_.inventory().ListBindings(host->host_id);
        if (!bindings.ok()) return bindings.status();
        std::vector<store::BindingRecord> selected;
        for (const store::BindingRecord& binding : *bindings) {
          if (!request->site_id().empty() && binding.site_id != request->site_id()) continue;
          if (binding.certificate_thumbprint.empty() && binding.secure_endpoints.empty()) continue;
          selected.push_back(binding);
        }
        if (selected.empty()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "host ", host->hostname, " has no TLS binding",
              request->site_id().empty() ? "" : absl::StrCat(" on site ", request->site_id()),
              " in its last inventory; check the site id (certfleetctl hosts show ", host->hostname,
              ") or rescan the host"));
        }
        absl::StatusOr<store::PolicyRecord> policy = renewal::PolicyFor(store_.policies(), *host);
        if (!policy.ok()) return policy.status();
        const absl::Time now = options_.clock();
        std::vector<std::string> created;
        std::vector<std::string> in_flight;
        for (const store::BindingRecord& binding : selected) {
          store::NewOrder order;
          order.host_id = host->host_id;
          order.site_id = binding.site_id;
          order.binding_id = binding.binding_id;
          order.trigger = store::OrderTrigger::kOperator;
          order.policy_name = policy->name;
          order.connector = policy->connector;
          order.ca_product = policy->ca_product;
          order.key_spec = policy->key_spec;
          order.signature_hash = policy->signature_hash;
          order.previous_thumbprint = binding.certificate_thumbprint;
          order.created_at = now;
          order.created_by = admin.name;
          order.reason = request->reason().empty() ? absl::StrCat("renewal asked by ", admin.name)
                                                   : request->reason();
          std::optional<store::CertificateRecord> current;
          if (!binding.certificate_thumbprint.empty()) {
            store::CertificateQuery query;
            query.host_id = host->host_id;
            query.thumbprint = binding.certificate_thumbprint;
            query.page.page_size = 1;
            absl::StatusOr<store::Page<store::CertificateRecord>> found =
                store_.inventory().ListCertificates(query);
            if (!found.ok()) return found.status();
            if (!found->items.empty()) current = found->items.front();
          }
          renewal::RequestedNames names = renewal::RequestedNamesFor(
              current.has_value() ? &*current : nullptr, ToPolicyProto(*policy).subject(),
              renewal::FallbackCommonName(binding, *host));
          order.subject = std::move(names.subject);
          order.subject_alternative_names = std::move(names.subject_alternative_names);
          v1::RenewNowResult* result = response->add_results();
          result->set_binding_id(binding.binding_id);
          absl::StatusOr<store::OrderRecord> made = store_.orders().CreateOrder(order);
          if (absl::IsAlreadyExists(made.status())) {
            absl::StatusOr<std::optional<store::OrderRecord>> open =
                store_.orders().FindOpenOrder(host->host_id, binding.binding_id);
            if (!open.ok()) return open.status();
            if (!open->has_value()) return made.status();
            result->set_already_in_flight(true);
            *result->mutable_order() = ToOrderProto(**open, host->hostname);
            in_flight.push_back(absl::StrCat(binding.binding_id, " (order ", (*open)->order_id,
                                             ", ", NameOf((*open)->state), ")"));
            continue;
          }
          if (!made.ok()) return made.status();
          *result->mutable_order() = ToOrderProto(*made, host->hostname);
          created.push_back(made->order_id);
        }
        if (created.empty()) {
          response->Clear();
          return absl::AlreadyExistsError(
              absl::StrCat("every selected binding already has an order in flight: ",
                           absl::StrJoin(in_flight, ", "),
                           "; follow it with certfleetctl orders show, or cancel it first"));
        }
        detail = absl::StrCat(
            "created ", absl::StrJoin(created, ", "),
            in_flight.empty() ? "" : "; already in flight: ", absl::StrJoin(in_flight, ", "));
        WakeRenewals();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::CancelOrder(grpc::CallbackServerContext* context,
                                                        const v1::CancelOrderRequest* request,
                                                        v1::CancelOrderResponse* response) {
  return Change(
      context, "CancelOrder", absl::StrCat("order ", request->order_id()),
      [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
        absl::StatusOr<store::OrderRecord> order = store_.orders().GetOrder(request->order_id());
        if (!order.ok()) return order.status();
        if (!order->open) {
          return absl::FailedPreconditionError(absl::StrCat("order ", order->order_id,
                                                            " is already ", NameOf(order->state),
                                                            "; nothing to cancel"));
        }
        store::OrderTransition transition;
        transition.order_id = order->order_id;
        transition.expected_state = order->state;
        transition.to = store::OrderState::kCancelled;
        transition.at = options_.clock();
        transition.reason = request->reason().empty() ? absl::StrCat("cancelled by ", admin.name)
                                                      : request->reason();
        transition.actor = admin.name;
        absl::StatusOr<store::OrderRecord> cancelled = store_.orders().TransitionOrder(transition);
        if (!cancelled.ok()) return cancelled.status();
        // Its jobs stop too: a queued one at once, a running one winds down
        // (a deploy that started switching the site finishes or rolls back).
        store::JobQuery open_jobs;
        open_jobs.order_id = order->order_id;
        open_jobs.statuses = {store::JobStatus::kQueued, store::JobStatus::kRunning};
        absl::StatusOr<store::Page<store::JobRecord>> jobs = store_.jobs().ListJobs(open_jobs);
        if (!jobs.ok()) return jobs.status();
        for (const store::JobRecord& job : jobs->items) {
          absl::StatusOr<store::JobRecord> stopped =
              store_.jobs().CancelJob(job.job_id, transition.reason, transition.at);
          if (!stopped.ok()) return stopped.status();
        }
        absl::StatusOr<std::string> hostname = HostnameOf(cancelled->host_id);
        *response->mutable_order() = ToOrderProto(*cancelled, hostname.ok() ? *hostname : "");
        detail = absl::StrCat("was ", NameOf(order->state), ": ", transition.reason);
        WakeRenewals();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetOrderCsr(grpc::CallbackServerContext* context,
                                                        const v1::GetOrderCsrRequest* request,
                                                        v1::GetOrderCsrResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    absl::StatusOr<store::OrderRecord> order = store_.orders().GetOrder(request->order_id());
    if (!order.ok()) return order.status();
    if (order->csr_pem.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "order ", order->order_id, " has no CSR yet (state ", NameOf(order->state),
          "); the host makes it in the prepare job: retry once the order is awaiting_issuance"));
    }
    response->set_csr_pem(order->csr_pem);
    *response->mutable_subject() = ToDistinguishedNameProto(order->subject);
    for (const std::string& name : order->subject_alternative_names) {
      *response->add_subject_alternative_names() = ToSubjectAlternativeNameProto(name);
    }
    v1::KeySpec key_spec = v1::KEY_SPEC_UNSPECIFIED;
    if (v1::KeySpec_Parse(absl::StrCat("KEY_SPEC_", order->key_spec), &key_spec)) {
      response->set_key_spec(key_spec);
    }
    response->set_public_key_sha256(order->public_key_sha256);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::UploadCertificate(
    grpc::CallbackServerContext* context, const v1::UploadCertificateRequest* request,
    v1::UploadCertificateResponse* response) {
  const std::string file_name = request->file_name().empty() ? "the file" : request->file_name();
  std::string target = absl::StrCat("file ", file_name);
  if (!request->order_id().empty()) absl::StrAppend(&target, " for order ", request->order_id());
  return Change(
      context, "UploadCertificate", std::move(target),
      [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
        const absl::Time now = options_.clock();
        UploadCandidates candidates;
        std::set<std::string> seen_orders;
        std::map<std::string, std::string> hostnames;
        auto hostname_of = [&](const std::string& host_id) {
          auto found = hostnames.find(host_id);
          if (found == hostnames.end()) {
            absl::StatusOr<std::string> name = HostnameOf(host_id);
            found = hostnames.emplace(host_id, name.ok() ? *name : host_id).first;
          }
          return found->second;
        };
        auto add_order = [&](const store::OrderRecord& order) -> absl::Status {
          if (order.csr_pem.empty() || !seen_orders.insert(order.order_id).second) {
            return absl::OkStatus();
          }
          absl::StatusOr<crypto::CertificateRequest> csr =
              crypto::CertificateRequest::Parse(order.csr_pem);
          if (!csr.ok()) return absl::OkStatus();  // A damaged CSR answers nothing.
          absl::StatusOr<store::BindingRecord> binding =
              store_.inventory().GetBinding(order.host_id, order.binding_id);
          candidates.orders.push_back(
              OrderCandidate{.order_id = order.order_id,
                             .host_id = order.host_id,
                             .hostname = hostname_of(order.host_id),
                             .site_id = order.site_id,
                             .site_name = binding.ok() ? binding->site_name : order.site_id,
                             .request_key = csr->public_key(),
                             .request_created_at = order.created_at,
                             .stage = StageOf(order),
                             .issued_thumbprint = order.issued_thumbprint,
                             .state_name = NameOf(order.state)});
          return absl::OkStatus();
        };
        // Every order awaiting its certificate, so that a file answering
        // none of them is diagnosed against all.
        store::OrderQuery awaiting;
        awaiting.states = {store::OrderState::kAwaitingIssuance};
        awaiting.page.page_size = store::kMaximumPageSize;
        for (;;) {
          absl::StatusOr<store::Page<store::OrderRecord>> page =
              store_.orders().ListOrders(awaiting);
          if (!page.ok()) return page.status();
          for (const store::OrderRecord& listed : page->items) {
            absl::StatusOr<store::OrderRecord> order = store_.orders().GetOrder(listed.order_id);
            if (!order.ok()) return order.status();
            if (absl::Status added = add_order(*order); !added.ok()) return added;
          }
          if (page->next_page_token.empty()) break;
          awaiting.page.page_token = page->next_page_token;
        }
        // Orders, inventory certificates and pending requests with the
        // public key of any certificate in the file: a repeated upload, an
        // older certificate of a host, another site's request.
        absl::StatusOr<crypto::CertificateFile> file = crypto::ReadCertificates(request->content());
        if (file.ok()) {
          for (const crypto::Certificate& certificate : file->certificates) {
            const std::string key_sha256 = certificate.public_key().Sha256Fingerprint();
            absl::StatusOr<std::vector<store::OrderRecord>> orders =
                store_.orders().FindOrdersByPublicKey(key_sha256);
            if (!orders.ok()) return orders.status();
            for (const store::OrderRecord& order : *orders) {
              if (absl::Status added = add_order(order); !added.ok()) return added;
            }
            store::CertificateQuery query;
            query.public_key_sha256 = key_sha256;
            query.scope = store::CertificateScope::kAll;
            query.include_der = true;
            query.page.page_size = store::kMaximumPageSize;
            absl::StatusOr<store::Page<store::CertificateRecord>> known =
                store_.inventory().ListCertificates(query);
            if (!known.ok()) return known.status();
            for (const store::CertificateRecord& record : known->items) {
              absl::StatusOr<crypto::Certificate> parsed =
                  crypto::ReadSingleCertificate(record.der);
              if (!parsed.ok()) continue;
              absl::StatusOr<std::vector<store::BindingRecord>> bindings =
                  store_.inventory().ListBindings(record.host_id);
              if (!bindings.ok()) return bindings.status();
              bool bound = false;
              for (const store::BindingRecord& binding : *bindings) {
                if (binding.certificate_thumbprint != record.thumbprint_sha1) continue;
                bound = true;
                candidates.inventory.push_back(
                    InventoryCertificate{.host_id = record.host_id,
                                         .hostname = record.hostname,
                                         .site_id = binding.site_id,
                                         .site_name = binding.site_name,
                                         .thumbprint = record.thumbprint_sha1,
                                         .public_key = parsed->public_key(),
                                         .not_before = record.not_before});
              }
              if (!bound) {
                candidates.inventory.push_back(
                    InventoryCertificate{.host_id = record.host_id,
                                         .hostname = record.hostname,
                                         .thumbprint = record.thumbprint_sha1,
                                         .public_key = parsed->public_key(),
                                         .not_before = record.not_before});
              }
            }
            absl::StatusOr<std::vector<store::PendingRequestRecord>> pending =
                store_.inventory().FindPendingRequestsByPublicKey(key_sha256);
            if (!pending.ok()) return pending.status();
            for (const store::PendingRequestRecord& record : *pending) {
              absl::StatusOr<crypto::CertificateRequest> csr =
                  crypto::CertificateRequest::Parse(record.csr_pem);
              if (!csr.ok()) continue;
              candidates.pending_requests.push_back(PendingRequestRecord{
                  .host_id = record.host_id,
                  .hostname = hostname_of(record.host_id),
                  .site_id = record.site_id,
                  .site_name = record.site_id,
                  .public_key = csr->public_key(),
                  .order_id = record.order_id,
                  .created_at = record.created_at.value_or(absl::InfinitePast())});
            }
          }
        }
        absl::StatusOr<UploadOutcome> outcome = MatchUpload(
            request->content(), candidates,
            UploadOptions{
                .file_name = request->file_name(), .order_id = request->order_id(), .now = now});
        if (!outcome.ok()) return outcome.status();
        if (outcome->diagnosis) {
          *response->mutable_diagnosis() = ToDiagnosisProto(*outcome->diagnosis);
          detail = absl::StrCat("refused (", DiagnosisKindName(outcome->diagnosis->kind),
                                "): ", outcome->diagnosis->message);
          return absl::OkStatus();
        }
        const UploadAcceptance& accepted = *outcome->accepted;
        absl::StatusOr<store::OrderRecord> order;
        if (accepted.already_uploaded) {
          order = store_.orders().GetOrder(accepted.order_id);
        } else {
          store::OrderTransition transition;
          transition.order_id = accepted.order_id;
          transition.expected_state = store::OrderState::kAwaitingIssuance;
          transition.to = store::OrderState::kIssued;
          transition.at = now;
          transition.reason = absl::StrCat("certificate ", accepted.leaf.Thumbprint(),
                                           " uploaded (", file_name, ")");
          transition.actor = admin.name;
          transition.certificate_pem = accepted.leaf.ToPem();
          transition.chain_pem = crypto::ToPemBundle(accepted.chain);
          transition.issued_thumbprint = accepted.leaf.Thumbprint();
          order = store_.orders().TransitionOrder(transition);
        }
        if (!order.ok()) return order.status();
        v1::UploadAccepted* answer = response->mutable_accepted();
        *answer->mutable_order() = ToOrderProto(*order, hostname_of(order->host_id));
        *answer->mutable_certificate() = ToCertificateInfoProto(accepted.leaf);
        for (const crypto::Certificate& certificate : accepted.chain) {
          *answer->add_chain() = ToCertificateInfoProto(certificate);
        }
        for (const std::string& note : accepted.notes) {
          v1::ChainWarning* warning = answer->add_warnings();
          warning->set_message(note);
        }
        answer->set_detected_format(ToFileFormatProto(accepted.format));
        answer->set_already_uploaded(accepted.already_uploaded);
        detail =
            absl::StrCat(accepted.already_uploaded ? "already uploaded: " : "accepted: ", "order ",
                         accepted.order_id, " certificate ", accepted.leaf.Thumbprint());
        if (!accepted.already_uploaded) WakeRenewals();
        return absl::OkStatus();
      });
}

// ---------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                     const v1::ListJobsRequest* request,
                                                     v1::ListJobsResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    store::JobQuery query;
    query.host_id = request->host_id();
    query.order_id = request->order_id();
    if (request->kind() != v1::JOB_KIND_UNSPECIFIED) {
      absl::StatusOr<store::JobKind> kind = FromJobKindProto(request->kind());
      if (!kind.ok()) return kind.status();
      query.kind = *kind;
    }
    for (int status : request->statuses()) {
      absl::StatusOr<store::JobStatus> parsed =
          FromJobStatusProto(static_cast<v1::JobStatus>(status));
      if (!parsed.ok()) return parsed.status();
      query.statuses.push_back(*parsed);
    }
    query.page = FromPageRequest(request->page());
    absl::StatusOr<store::Page<store::JobRecord>> page = store_.jobs().ListJobs(query);
    if (!page.ok()) return page.status();
    for (const store::JobRecord& job : page->items) *response->add_jobs() = ToJobProto(job);
    SetPageResponse(*page, response->mutable_page());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                   const v1::GetJobRequest* request,
                                                   v1::GetJobResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    absl::StatusOr<store::JobRecord> job = store_.jobs().GetJob(request->job_id());
    if (!job.ok()) return job.status();
    *response->mutable_job() = ToJobProto(*job);
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------
// Join tokens
// ---------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::CreateJoinToken(
    grpc::CallbackServerContext* context, const v1::CreateJoinTokenRequest* request,
    v1::CreateJoinTokenResponse* response) {
  return Change(
      context, "CreateJoinToken",
      request->bound_hostname().empty()
          ? std::string("token for any host")
          : absl::StrCat("token for host ", request->bound_hostname()),
      [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
        const absl::Duration time_to_live =
            request->has_time_to_live() ? FromDuration(request->time_to_live()) : absl::Hours(1);
        if (time_to_live <= absl::ZeroDuration()) {
          return absl::InvalidArgumentError("time_to_live must be positive (for example 1h)");
        }
        const absl::Time now = options_.clock();
        const std::string secret = GenerateJoinTokenSecret();
        store::NewJoinToken token;
        token.secret_sha256 = HashJoinTokenSecret(secret);
        token.description = request->description();
        token.bound_hostname = request->bound_hostname();
        token.labels.insert(request->labels().begin(), request->labels().end());
        token.created_at = now;
        token.expires_at = now + time_to_live;
        token.created_by = admin.name;
        absl::StatusOr<store::JoinTokenRecord> created =
            store_.join_tokens().CreateJoinToken(token);
        if (!created.ok()) return created.status();
        *response->mutable_token() = ToJoinTokenProto(*created, now);
        response->set_secret(secret);
        detail = absl::StrCat("token ", created->token_id, " expires ",
                              absl::FormatTime(created->expires_at));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListJoinTokens(grpc::CallbackServerContext* context,
                                                           const v1::ListJoinTokensRequest* request,
                                                           v1::ListJoinTokensResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    store::JoinTokenQuery query;
    query.now = options_.clock();
    for (int state : request->states()) {
      switch (static_cast<v1::JoinTokenState>(state)) {
        case v1::JOIN_TOKEN_STATE_ACTIVE:
          query.states.push_back(store::JoinTokenState::kActive);
          break;
        case v1::JOIN_TOKEN_STATE_USED:
          query.states.push_back(store::JoinTokenState::kUsed);
          break;
        case v1::JOIN_TOKEN_STATE_EXPIRED:
          query.states.push_back(store::JoinTokenState::kExpired);
          break;
        case v1::JOIN_TOKEN_STATE_REVOKED:
          query.states.push_back(store::JoinTokenState::kRevoked);
          break;
        default:
          return absl::InvalidArgumentError(
              "states: use active, used, expired or revoked (unset is not a state)");
      }
    }
    query.page = FromPageRequest(request->page());
    absl::StatusOr<store::Page<store::JoinTokenRecord>> page =
        store_.join_tokens().ListJoinTokens(query);
    if (!page.ok()) return page.status();
    for (const store::JoinTokenRecord& token : page->items) {
      *response->add_tokens() = ToJoinTokenProto(token, query.now);
    }
    SetPageResponse(*page, response->mutable_page());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RevokeJoinToken(
    grpc::CallbackServerContext* context, const v1::RevokeJoinTokenRequest* request,
    v1::RevokeJoinTokenResponse* response) {
  return Change(context, "RevokeJoinToken", absl::StrCat("token ", request->token_id()),
                [&](const AdminPeer&, std::string&) -> absl::Status {
                  const absl::Time now = options_.clock();
                  absl::StatusOr<store::JoinTokenRecord> token =
                      store_.join_tokens().RevokeJoinToken(request->token_id(), now);
                  if (!token.ok()) return token.status();
                  *response->mutable_token() = ToJoinTokenProto(*token, now);
                  return absl::OkStatus();
                });
}

// ---------------------------------------------------------------------------
// Policies and CA products
// ---------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::ListPolicies(grpc::CallbackServerContext* context,
                                                         const v1::ListPoliciesRequest*,
                                                         v1::ListPoliciesResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    absl::StatusOr<std::vector<store::PolicyRecord>> policies = store_.policies().ListPolicies();
    if (!policies.ok()) return policies.status();
    for (const store::PolicyRecord& policy : *policies) {
      *response->add_policies() = ToPolicyProto(policy);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetPolicy(grpc::CallbackServerContext* context,
                                                      const v1::SetPolicyRequest* request,
                                                      v1::SetPolicyResponse* response) {
  return Change(
      context, "SetPolicy", absl::StrCat("policy ", request->policy().name()),
      [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
        absl::StatusOr<store::PolicyRecord> policy = FromPolicyProto(request->policy());
        if (!policy.ok()) return policy.status();
        if (policy->connector != "local" && policy->connector != "manual") {
          return absl::InvalidArgumentError(absl::StrCat("policy.connector \"", policy->connector,
                                                         "\" is unknown; use local or manual"));
        }
        if (!policy->ca_product.empty()) {
          absl::StatusOr<CaProductCatalogue> catalogue = CaProductCatalogue::Builtin();
          if (!catalogue.ok()) return catalogue.status();
          absl::StatusOr<CaProduct> product = catalogue->Find(policy->ca_product);
          if (!product.ok()) {
            return absl::InvalidArgumentError(
                absl::StrCat("policy.ca_product: ", product.status().message()));
          }
        }
        policy->updated_at = options_.clock();
        policy->updated_by = admin.name;
        absl::StatusOr<store::PolicyRecord> stored = store_.policies().SetPolicy(*policy);
        if (!stored.ok()) return stored.status();
        *response->mutable_policy() = ToPolicyProto(*stored);
        detail =
            absl::StrCat("connector ", stored->connector, ", key ", stored->key_spec, ", renew at ",
                         stored->renew_when_remaining_fraction, " of the lifetime");
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeletePolicy(grpc::CallbackServerContext* context,
                                                         const v1::DeletePolicyRequest* request,
                                                         v1::DeletePolicyResponse*) {
  return Change(context, "DeletePolicy", absl::StrCat("policy ", request->name()),
                [&](const AdminPeer&, std::string&) -> absl::Status {
                  return store_.policies().DeletePolicy(request->name());
                });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListCaProducts(grpc::CallbackServerContext* context,
                                                           const v1::ListCaProductsRequest*,
                                                           v1::ListCaProductsResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    absl::StatusOr<CaProductCatalogue> catalogue = CaProductCatalogue::Builtin();
    if (!catalogue.ok()) return catalogue.status();
    for (const CaProduct& product : catalogue->products()) {
      v1::CaProduct* proto = response->add_products();
      proto->set_name(product.name);
      proto->set_vendor(product.vendor);
      v1::SignatureHash hash = v1::SIGNATURE_HASH_UNSPECIFIED;
      if (v1::SignatureHash_Parse(
              absl::StrCat("SIGNATURE_HASH_", absl::AsciiStrToUpper(product.signature_hash)),
              &hash)) {
        proto->set_signature_hash(hash);
      }
      for (const ChainRule& rule : product.rules) {
        v1::ChainRule* rule_proto = proto->add_rules();
        if (rule.applies_from) SetTimestamp(*rule.applies_from, rule_proto->mutable_applies_from());
        if (rule.applies_until) {
          SetTimestamp(*rule.applies_until, rule_proto->mutable_applies_until());
        }
        rule_proto->set_description(rule.description);
        for (const std::string& name : rule.intermediate_file_names) {
          rule_proto->add_intermediate_file_names(name);
        }
        rule_proto->set_root_file_name(rule.root_file_name);
      }
      for (const std::string& note : product.notes) proto->add_notes(note);
    }
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------
// Campaigns (CampaignEngine does the work; every change is audited)
// ---------------------------------------------------------------------------

namespace {

absl::Status NoCampaignEngine() {
  return absl::FailedPreconditionError(
      "this controller runs no campaign engine (started without the renewal engine)");
}

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::PlanCampaign(grpc::CallbackServerContext* context,
                                                         const v1::PlanCampaignRequest* request,
                                                         v1::PlanCampaignResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    if (options_.campaigns == nullptr) return NoCampaignEngine();
    absl::StatusOr<v1::CampaignPlan> plan = options_.campaigns->Plan(request->spec());
    if (!plan.ok()) return plan.status();
    *response->mutable_plan() = *std::move(plan);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::CreateCampaign(grpc::CallbackServerContext* context,
                                                           const v1::CreateCampaignRequest* request,
                                                           v1::CreateCampaignResponse* response) {
  return Change(context, "CreateCampaign", absl::StrCat("campaign ", request->spec().name()),
                [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
                  if (options_.campaigns == nullptr) return NoCampaignEngine();
                  absl::StatusOr<store::CampaignRecord> created = options_.campaigns->Create(
                      request->spec(), request->plan_fingerprint(), admin.name);
                  if (!created.ok()) return created.status();
                  absl::StatusOr<v1::Campaign> shown =
                      options_.campaigns->Describe(*created, /*with_targets=*/false);
                  if (!shown.ok()) return shown.status();
                  *response->mutable_campaign() = *std::move(shown);
                  detail = absl::StrCat(created->campaign_id, ": ", created->state_reason);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* AdminServiceImpl::CampaignAction(
    grpc::CallbackServerContext* context, std::string_view action, const std::string& campaign_id,
    const std::function<absl::StatusOr<store::CampaignRecord>(const AdminPeer&)>& act,
    v1::Campaign* shown) {
  return Change(context, action, absl::StrCat("campaign ", campaign_id),
                [&](const AdminPeer& admin, std::string& detail) -> absl::Status {
                  if (options_.campaigns == nullptr) return NoCampaignEngine();
                  absl::StatusOr<store::CampaignRecord> campaign = act(admin);
                  if (!campaign.ok()) return campaign.status();
                  absl::StatusOr<v1::Campaign> described =
                      options_.campaigns->Describe(*campaign, /*with_targets=*/false);
                  if (!described.ok()) return described.status();
                  *shown = *std::move(described);
                  detail = absl::StrCat(NameOf(campaign->state), ": ", campaign->state_reason);
                  WakeRenewals();
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* AdminServiceImpl::StartCampaign(grpc::CallbackServerContext* context,
                                                          const v1::StartCampaignRequest* request,
                                                          v1::StartCampaignResponse* response) {
  return CampaignAction(
      context, "StartCampaign", request->campaign_id(),
      [&](const AdminPeer& admin) {
        return options_.campaigns->Start(request->campaign_id(), admin.name);
      },
      response->mutable_campaign());
}

grpc::ServerUnaryReactor* AdminServiceImpl::PauseCampaign(grpc::CallbackServerContext* context,
                                                          const v1::PauseCampaignRequest* request,
                                                          v1::PauseCampaignResponse* response) {
  return CampaignAction(
      context, "PauseCampaign", request->campaign_id(),
      [&](const AdminPeer& admin) {
        return options_.campaigns->Pause(request->campaign_id(), request->reason(), admin.name);
      },
      response->mutable_campaign());
}

grpc::ServerUnaryReactor* AdminServiceImpl::ResumeCampaign(grpc::CallbackServerContext* context,
                                                           const v1::ResumeCampaignRequest* request,
                                                           v1::ResumeCampaignResponse* response) {
  return CampaignAction(
      context, "ResumeCampaign", request->campaign_id(),
      [&](const AdminPeer& admin) {
        return options_.campaigns->Resume(request->campaign_id(), admin.name);
      },
      response->mutable_campaign());
}

grpc::ServerUnaryReactor* AdminServiceImpl::AbortCampaign(grpc::CallbackServerContext* context,
                                                          const v1::AbortCampaignRequest* request,
                                                          v1::AbortCampaignResponse* response) {
  return CampaignAction(
      context, "AbortCampaign", request->campaign_id(),
      [&](const AdminPeer& admin) {
        return options_.campaigns->Abort(request->campaign_id(), request->reason(), admin.name);
      },
      response->mutable_campaign());
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListCampaigns(grpc::CallbackServerContext* context,
                                                          const v1::ListCampaignsRequest* request,
                                                          v1::ListCampaignsResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    if (options_.campaigns == nullptr) return NoCampaignEngine();
    store::CampaignQuery query;
    for (int state : request->states()) {
      absl::StatusOr<store::CampaignState> parsed =
          store::ParseCampaignState(absl::AsciiStrToLower(absl::StripPrefix(
              v1::CampaignState_Name(static_cast<v1::CampaignState>(state)), "CAMPAIGN_STATE_")));
      if (!parsed.ok()) return parsed.status();
      query.states.push_back(*parsed);
    }
    query.page = FromPageRequest(request->page());
    absl::StatusOr<store::Page<store::CampaignRecord>> page =
        store_.campaigns().ListCampaigns(query);
    if (!page.ok()) return page.status();
    for (const store::CampaignRecord& campaign : page->items) {
      absl::StatusOr<v1::Campaign> shown =
          options_.campaigns->Describe(campaign, /*with_targets=*/false);
      if (!shown.ok()) return shown.status();
      *response->add_campaigns() = *std::move(shown);
    }
    SetPageResponse(*page, response->mutable_page());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetCampaign(grpc::CallbackServerContext* context,
                                                        const v1::GetCampaignRequest* request,
                                                        v1::GetCampaignResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    if (options_.campaigns == nullptr) return NoCampaignEngine();
    absl::StatusOr<store::CampaignRecord> campaign =
        store_.campaigns().GetCampaign(request->campaign_id());
    if (!campaign.ok()) return campaign.status();
    absl::StatusOr<v1::Campaign> shown =
        options_.campaigns->Describe(*campaign, /*with_targets=*/true);
    if (!shown.ok()) return shown.status();
    *response->mutable_campaign() = *std::move(shown);
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------
// Webhooks (the store keeps them; the controller's WebhookNotifier delivers)
// ---------------------------------------------------------------------------

namespace {

v1::Webhook ToWebhookProto(const store::WebhookRecord& webhook) {
  v1::Webhook proto;
  proto.set_webhook_id(webhook.webhook_id);
  proto.set_name(webhook.name);
  proto.set_url(webhook.url);
  for (const std::string& event : webhook.events) {
    v1::WebhookEvent value;
    if (v1::WebhookEvent_Parse("WEBHOOK_EVENT_" + absl::AsciiStrToUpper(event), &value)) {
      proto.add_events(value);
    }
  }
  proto.set_enabled(webhook.enabled);
  proto.set_has_secret(!webhook.secret.empty());
  if (webhook.last_delivery_at) {
    SetTimestamp(*webhook.last_delivery_at, proto.mutable_last_delivery_at());
  }
  proto.set_last_delivery_result(webhook.last_delivery_result);
  proto.set_consecutive_failures(static_cast<uint32_t>(webhook.consecutive_failures));
  return proto;
}

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::ListWebhooks(grpc::CallbackServerContext* context,
                                                         const v1::ListWebhooksRequest*,
                                                         v1::ListWebhooksResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    absl::StatusOr<std::vector<store::WebhookRecord>> webhooks = store_.webhooks().ListWebhooks();
    if (!webhooks.ok()) return webhooks.status();
    for (const store::WebhookRecord& webhook : *webhooks) {
      *response->add_webhooks() = ToWebhookProto(webhook);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetWebhook(grpc::CallbackServerContext* context,
                                                       const v1::SetWebhookRequest* request,
                                                       v1::SetWebhookResponse* response) {
  return Change(
      context, "SetWebhook", absl::StrCat("webhook ", request->webhook().name()),
      [&](const AdminPeer&, std::string& detail) -> absl::Status {
        const v1::Webhook& asked = request->webhook();
        store::WebhookRecord webhook;
        webhook.webhook_id = asked.webhook_id();
        webhook.name = asked.name();
        webhook.url = asked.url();
        for (int event : asked.events()) {
          if (event == v1::WEBHOOK_EVENT_UNSPECIFIED || !v1::WebhookEvent_IsValid(event)) {
            return absl::InvalidArgumentError(
                absl::StrCat("webhook ", asked.name(), ": event ", event,
                             " is not one of the events a webhook can receive"));
          }
          webhook.events.push_back(absl::AsciiStrToLower(absl::StripPrefix(
              v1::WebhookEvent_Name(static_cast<v1::WebhookEvent>(event)), "WEBHOOK_EVENT_")));
        }
        webhook.enabled = asked.enabled();
        webhook.secret = asked.secret();
        webhook.updated_at = options_.clock();
        absl::StatusOr<store::WebhookRecord> stored = store_.webhooks().SetWebhook(webhook);
        if (!stored.ok()) return stored.status();
        *response->mutable_webhook() = ToWebhookProto(*stored);
        // The URL, never the secret, goes to the audit log.
        detail = absl::StrCat(stored->webhook_id, " ", stored->url,
                              stored->enabled ? "" : " (disabled)");
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeleteWebhook(grpc::CallbackServerContext* context,
                                                          const v1::DeleteWebhookRequest* request,
                                                          v1::DeleteWebhookResponse*) {
  return Change(context, "DeleteWebhook", absl::StrCat("webhook ", request->webhook_id()),
                [&](const AdminPeer&, std::string& detail) -> absl::Status {
                  detail = "deleted with its queued deliveries";
                  return store_.webhooks().DeleteWebhook(request->webhook_id());
                });
}

// ---------------------------------------------------------------------------
// Dashboard and audit
// ---------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::GetFleetSummary(grpc::CallbackServerContext* context,
                                                            const v1::GetFleetSummaryRequest*,
                                                            v1::GetFleetSummaryResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    const absl::Time now = options_.clock();
    absl::StatusOr<store::FleetCounts> counts = store_.inventory().CountFleet(now);
    if (!counts.ok()) return counts.status();
    SetTimestamp(now, response->mutable_generated_at());
    response->set_hosts(static_cast<uint32_t>(counts->hosts));
    response->set_agents_online(static_cast<uint32_t>(counts->agents_online));
    response->set_agents_offline(static_cast<uint32_t>(counts->agents_offline));
    response->set_hosts_with_inventory_failure(
        static_cast<uint32_t>(counts->hosts_with_inventory_failure));
    v1::ExpiryBuckets* buckets = response->mutable_certificates_by_expiry();
    buckets->set_expired(static_cast<uint32_t>(counts->certificates_by_expiry.expired));
    buckets->set_under_7_days(static_cast<uint32_t>(counts->certificates_by_expiry.under_7_days));
    buckets->set_under_30_days(static_cast<uint32_t>(counts->certificates_by_expiry.under_30_days));
    buckets->set_under_90_days(static_cast<uint32_t>(counts->certificates_by_expiry.under_90_days));
    buckets->set_later(static_cast<uint32_t>(counts->certificates_by_expiry.later));
    absl::StatusOr<std::map<store::OrderState, int64_t>> orders =
        store_.orders().CountOrdersByState();
    if (!orders.ok()) return orders.status();
    for (const auto& [state, count] : *orders) {
      v1::OrderStateCount* entry = response->add_orders_by_state();
      entry->set_state(ToOrderStateProto(state));
      entry->set_orders(static_cast<uint32_t>(count));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListAuditEvents(
    grpc::CallbackServerContext* context, const v1::ListAuditEventsRequest* request,
    v1::ListAuditEventsResponse* response) {
  return Read(context, [&](const AdminPeer&) -> absl::Status {
    store::AuditQuery query;
    query.actor = request->actor();
    if (request->has_since()) query.since = FromTimestamp(request->since());
    query.page = FromPageRequest(request->page());
    absl::StatusOr<store::Page<store::AuditEventRecord>> page =
        store_.audit_log().ListAuditEvents(query);
    if (!page.ok()) return page.status();
    for (const store::AuditEventRecord& event : page->items) {
      *response->add_events() = ToAuditEventProto(event);
    }
    SetPageResponse(*page, response->mutable_page());
    return absl::OkStatus();
  });
}

}  // namespace certfleet::controller::admin
