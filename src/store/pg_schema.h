// PostgreSQL schema: Refinery's tables live in their own schema `refinery`,
// versioned by refinery.schema_migrations.
#pragma once

#include "core/status.h"
#include "store/pg_conn.h"

namespace refinery::pg {

// Creates or upgrades the schema. Run inside one transaction: it takes a
// transaction-scoped advisory lock first, so concurrent Migrate() calls from
// many processes apply each migration exactly once. Refuses (InvalidArgument)
// a `refinery` schema that holds tables but no schema_migrations table:
// those tables belong to someone else.
Status MigrateSchema(Conn& conn);
// MigrateSchema, stopping after migration `max_version` (tests use it to
// build an older schema and check the upgrade).
Status MigrateSchemaTo(Conn& conn, int max_version);

// The newest applied migration, 0 before the first Migrate(); the same
// refusal as MigrateSchema for a schema Refinery does not own.
Result<int> AppliedSchemaVersion(Conn& conn);

}  // namespace refinery::pg
