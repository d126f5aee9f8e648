#include "pipeline/pipeline.h"

#include <filesystem>
#include <system_error>

namespace refinery {

Result<Services> OpenServices(const Config& config, bool migrate) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return Status::InvalidArgument("REFINERY_DATA_DIR: cannot create '" + config.data_dir + "': " + ec.message());
  }
  Services services;
  services.config = config;
  auto store = OpenStore(config);
  if (!store.ok()) return store.status();
  services.store = std::move(store).value();
  if (migrate) REFINERY_RETURN_IF_ERROR(services.store->Migrate());
  auto queue = OpenQueue(config);
  if (!queue.ok()) return queue.status();
  services.queue = std::move(queue).value();
  auto blobs = OpenBlobStore(config);
  if (!blobs.ok()) return blobs.status();
  services.blobs = std::move(blobs).value();
  auto embedder = OpenEmbedder(config);
  if (!embedder.ok()) return embedder.status();
  services.embedder = std::move(embedder).value();
  return services;
}

}  // namespace refinery
