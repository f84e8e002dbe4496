// Helpers of the config unit tests: text that must load, and text that must be refused with one
// line (ErrorDomain::config, permanent) whose detail is returned.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "nullq/config.hpp"

namespace nullq::config::testing {

inline Config ok(const std::string& text) {
  auto c = parse_only(text, "nullq.yaml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().detail);
  return c.ok() ? *c : Config{};
}

inline std::string err(const std::string& text) {
  auto c = parse_only(text, "nullq.yaml");
  if (c.ok()) {
    ADD_FAILURE() << "accepted: " << text;
    return {};
  }
  EXPECT_EQ(c.error().domain, nullq::ErrorDomain::config);
  EXPECT_TRUE(c.error().is_permanent());
  EXPECT_EQ(c.error().detail.find('\n'), std::string::npos) << "one line";
  return c.error().detail;
}

}  // namespace nullq::config::testing
