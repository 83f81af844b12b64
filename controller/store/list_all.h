// Reading every page of a paginated store listing into one vector, for
// callers that need the whole set (planning passes, notifications).
//
// Thread safety: a function template without state; as thread-safe as the
// listing it calls.

#ifndef CERTFLEET_CONTROLLER_STORE_LIST_ALL_H_
#define CERTFLEET_CONTROLLER_STORE_LIST_ALL_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

// Every item of a listing: calls `list(PageRequest)` (returning
// absl::StatusOr<Page<Item>>) page after page, `page_size` items at a time,
// until the last page. Returns the first error.
template <typename Item, typename List>
absl::StatusOr<std::vector<Item>> ListAll(List list, int page_size = kMaximumPageSize) {
  std::vector<Item> all;
  PageRequest page{.page_size = page_size, .page_token = {}};
  while (true) {
    absl::StatusOr<Page<Item>> found = list(page);
    if (!found.ok()) return found.status();
    for (Item& item : found->items) all.push_back(std::move(item));
    if (found->next_page_token.empty()) return all;
    page.page_token = found->next_page_token;
  }
}

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_LIST_ALL_H_
