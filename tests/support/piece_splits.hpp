// Test support: the ways a sans-I/O parser's input is cut into pieces, so a parser is seen
// to give the same result however the bytes arrive: whole, in pieces of 1, 2, 3, 5, 7 and
// 13 bytes, and split in two at every byte (for input over 600 bytes, at every byte of its
// first 40). Each split is the list of piece lengths, summing to `size`.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace sockit::test {

inline std::vector<std::vector<std::size_t>> piece_splits(std::size_t size) {
  std::vector<std::vector<std::size_t>> out;
  out.push_back({size});
  for (std::size_t step : {1, 2, 3, 5, 7, 13}) {
    std::vector<std::size_t> lengths;
    for (std::size_t at = 0; at < size; at += step)
      lengths.push_back(std::min(step, size - at));
    out.push_back(std::move(lengths));
  }
  const std::size_t cut_until = size <= 600 ? size : 40;
  for (std::size_t at = 1; at < cut_until; ++at)
    out.push_back({at, size - at});
  return out;
}

}  // namespace sockit::test
