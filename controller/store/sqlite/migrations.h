// Internal to controller/store/sqlite: the store's schema as an ordered list
// of migrations (see docs/store.md, "Adding a migration"). A released
// migration is never edited; changes go into a new one at the end.
//
// Thread safety: constant data.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_MIGRATIONS_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_MIGRATIONS_H_

#include <span>

#include "common/sqlite/migration.h"

namespace certfleet::controller::store::sqlite_backend {

// Every migration of the controller store, oldest first.
std::span<const sqlite::Migration> StoreMigrations();

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_MIGRATIONS_H_
