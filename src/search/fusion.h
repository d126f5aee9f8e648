// Weighted reciprocal rank fusion (Cormack et al. 2009): merges rankings
// whose scores are not comparable (cosine similarity vs BM25) by rank only.
#pragma once

#include <cstdint>
#include <vector>

namespace refinery {

// The customary constant: damps the weight of the very first ranks so
// that one list's top hit cannot outvote agreement between lists.
constexpr double kRrfK = 60;

struct Ranking {
  std::vector<int64_t> ids;  // best first
  double weight = 1;         // how much this ranking's votes count
};

struct FusedRank {
  int64_t id = 0;
  double score = 0;  // sum over rankings of weight / (k + rank), rank from 1
};

// Fuses `rankings` (an id repeated in one ranking counts at its first
// rank). Best first; equal scores by id.
std::vector<FusedRank> ReciprocalRankFusion(const std::vector<Ranking>& rankings, double k = kRrfK);

}  // namespace refinery
