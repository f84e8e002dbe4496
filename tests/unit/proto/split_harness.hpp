// split_harness.hpp — "one answer regardless of read boundaries" for every reply reader.
//
// Purpose:   feed the same byte stream to a reader split into two reads at every position, and
//            byte by byte, and require the same outcome each time. A reader plugs in with one
//            function that runs it over a list of chunks and describes what it concluded as a
//            string (verdicts, texts, failure); see split_test.cpp for QMQP and QMTP. A new reader
//            (the SMTP reply parser) is one new file, split_<name>_test.cpp, in this directory:
//            tests/unit/proto/meson.build builds every such file it finds.
// Trust:     none.
// Errors:    gtest failures.
// Threading: test thread.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nullq::test {

using Chunks = std::vector<std::string_view>;
using RunReader = std::function<std::string(const Chunks&)>;

// Returns the outcome of the unsplit stream, after checking that every split gives it too.
inline std::string expect_same_outcome_at_every_split(std::string_view stream, const RunReader& run) {
  const std::string whole = run(Chunks{stream});
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    EXPECT_EQ(run(Chunks{stream.substr(0, cut), stream.substr(cut)}), whole)
        << "split at " << cut << " of " << stream.size();
  }
  Chunks bytes;
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.push_back(stream.substr(i, 1));
  EXPECT_EQ(run(bytes), whole) << "byte by byte";
  return whole;
}

}  // namespace nullq::test
