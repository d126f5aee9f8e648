// The SQLite store's schema as numbered migrations, recorded in
// schema_migrations(version, applied_at).
#pragma once

#include "core/sqlite.h"
#include "core/status.h"

namespace refinery::sqlite {

// Applies every migration newer than the recorded version, all in one
// IMMEDIATE transaction, so two processes migrating at once serialize and
// the second finds nothing left to do.
Status MigrateSchema(Connection& conn);
// MigrateSchema, stopping after migration `max_version` (tests use it to
// build an older schema and check the upgrade).
Status MigrateSchemaTo(Connection& conn, int max_version);

// The highest applied migration; 0 for a database never migrated.
Result<int> AppliedSchemaVersion(Connection& conn);

}  // namespace refinery::sqlite
