// The nullq-sendmail test fixture, shared by the sendmail suites: a private spool and config, the
// program run as a caller runs it, and what landed in new/.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "nullq/envelope.hpp"
#include "process.hpp"

namespace nullq::sendmail_it {

using nullq::testing::list_dir;
using nullq::testing::program;
using nullq::testing::read_file;
using nullq::testing::run;
using nullq::testing::RunOptions;
using nullq::testing::TempDir;

struct Queued {
  nullq::envelope::Envelope env;
  std::string message;
};

class Sendmail : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.write("nullq.yaml", "hostname: box.example.org\ndomain: example.org\nsmarthosts: [qmtp://127.0.0.1:1]\n"
                             "queue:\n  dir: " + spool() + "\n  max_message_size: 100KB\n");
  }
  std::string spool() const { return tmp_ / "spool"; }
  nullq::testing::Run sendmail(std::vector<std::string> args, const std::string& input, const std::string& argv0 = "sendmail",
                               std::map<std::string, std::string> env = {}) {
    RunOptions o;
    o.input = input;
    o.argv0 = argv0;
    o.env = std::move(env);
    o.env.emplace("NULLQ_CONFIG", tmp_ / "nullq.yaml");
    args.insert(args.begin(), program("nullq-sendmail"));
    return run(args, o);
  }
  std::vector<Queued> queued() {
    std::vector<Queued> out;
    for (const auto& name : list_dir(spool() + "/new")) {
      std::string file = read_file(spool() + "/new/" + name);
      std::size_t body = 0;
      auto env = nullq::envelope::decode(file, &body);
      EXPECT_TRUE(env.ok()) << name;
      if (env.ok()) out.push_back({*env, file.substr(body)});
    }
    return out;
  }
  void expect_nothing_queued() {
    EXPECT_TRUE(list_dir(spool() + "/new").empty());
    EXPECT_TRUE(list_dir(spool() + "/tmp").empty());
  }
  TempDir tmp_;
};

inline const std::string plain = "Subject: test\n\nline one\n.\nline after a lone dot\n";

}  // namespace nullq::sendmail_it
