#include "support/test_support.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace refinery::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/refinery-test-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ignored;  // best effort: a leftover temp dir is not worth failing a test
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace refinery::testing
