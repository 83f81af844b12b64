#include "controller/store/webhook_store.h"

namespace certfleet::controller::store {

std::string_view ToString(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kDelivered:
      return "delivered";
    case DeliveryState::kAbandoned:
      return "abandoned";
  }
  return "pending";
}

}  // namespace certfleet::controller::store
