// Thin main: everything lives in the cli module.
#include "cli/cli.h"

int main(int argc, char** argv) { return refinery::cli::Main(argc, argv); }
