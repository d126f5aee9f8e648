// Reciprocal rank fusion (Cormack et al. 2009): merges rankings whose
// scores are not comparable (cosine similarity vs BM25) using ranks only.
#pragma once

#include <cstdint>
#include <vector>

namespace refinery {

// The customary constant: damps the weight of the very first ranks so
// that one list's top hit cannot outvote agreement between lists.
constexpr double kRrfK = 60;

struct FusedRank {
  int64_t id = 0;
  double score = 0;  // sum over lists of 1 / (k + rank), rank from 1
};

// Fuses rankings of ids (each best first; an id repeated in one list
// counts at its first rank). Best first; equal scores by id.
std::vector<FusedRank> ReciprocalRankFusion(const std::vector<std::vector<int64_t>>& rankings,
                                            double k = kRrfK);

}  // namespace refinery
