// The automotive profile through `refinery up` with the built-in rule
// evaluator and extractors (the scenario: automotive_scenario.h).
#include "e2e/automotive_scenario.h"

namespace refinery::testing {
namespace {

TEST(AutomotiveEndToEnd, DtcCodesCausesStepsAndConflictsAreExact) { automotive_scenario::RunScenario({}, {}, nullptr); }

}  // namespace
}  // namespace refinery::testing
