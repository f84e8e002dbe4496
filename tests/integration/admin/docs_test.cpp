// The documentation against the programs: every key the configuration loader accepts
// (config::accepted_keys(), made from the lists the loader checks keys against) appears in the
// example etc/nullq.yaml (as "key:", commented out or not) and in nullq.yaml(5) (in bold), and
// every `nullq` command (admin::command_names, which main.cpp dispatches on) in nullq(8).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "commands.hpp"
#include "nullq/config.hpp"
#include "process.hpp"

namespace {

std::string source(const std::string& rel) {
  const char* root = std::getenv("NULLQ_SOURCE_ROOT");
  return std::string(root ? root : ".") + "/" + rel;
}

bool word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

// `word` in `text` with no word character on either side; `then` (if not 0) must follow it.
bool has_word(const std::string& text, const std::string& word, char then = 0) {
  for (std::size_t p = text.find(word); p != std::string::npos; p = text.find(word, p + 1)) {
    const std::size_t end = p + word.size();
    if (p > 0 && word_char(text[p - 1])) continue;
    if (then ? end < text.size() && text[end] == then : end == text.size() || !word_char(text[end])) return true;
  }
  return false;
}

// The bold text of a man page: the lines of .B, .BR, .BI, .RB and .IB requests and what \fB
// starts, with the escapes of the words removed (\- is a hyphen).
std::string bold_text(const std::string& page) {
  std::string out;
  std::size_t pos = 0;
  while (pos < page.size()) {
    std::size_t eol = page.find('\n', pos);
    if (eol == std::string::npos) eol = page.size();
    std::string line = page.substr(pos, eol - pos);
    pos = eol + 1;
    for (std::size_t p; (p = line.find("\\-")) != std::string::npos;) line.replace(p, 2, "-");
    for (const char* req : {".B ", ".BR ", ".BI ", ".RB ", ".IB "})
      if (line.rfind(req, 0) == 0) out += line + "\n";
    for (std::size_t p = line.find("\\fB"); p != std::string::npos; p = line.find("\\fB", p + 1))
      out += line.substr(p + 3, line.find("\\f", p + 3) - (p + 3)) + "\n";
  }
  return out;
}

std::string leaf(const std::string& key) { return key.substr(key.rfind('.') + 1); }

TEST(Docs, EveryConfigKeyIsInTheExampleFile) {
  const std::string example = nullq::testing::read_file(source("etc/nullq.yaml"));
  ASSERT_FALSE(example.empty());
  const auto keys = nullq::config::accepted_keys();
  ASSERT_GT(keys.size(), 40u);
  for (const auto& k : keys) {
    // Accepted only to be refused with a pointer to password_file: the example must not show it.
    if (k == "smarthosts[].auth.password") continue;
    EXPECT_TRUE(has_word(example, leaf(k), ':')) << k << " is not in etc/nullq.yaml";
  }
}

TEST(Docs, EveryConfigKeyIsInTheManualPage) {
  const std::string page = bold_text(nullq::testing::read_file(source("doc/man/nullq.yaml.5")));
  ASSERT_FALSE(page.empty());
  for (const auto& k : nullq::config::accepted_keys()) {
    // "queue.dir" as written in the page, or the key alone under its section's heading.
    EXPECT_TRUE(has_word(page, k.rfind("smarthosts[].", 0) == 0 ? leaf(k) : k) || has_word(page, leaf(k)))
        << k << " is not in nullq.yaml(5)";
  }
}

TEST(Docs, EveryCommandIsInTheManualPage) {
  const std::string page = bold_text(nullq::testing::read_file(source("doc/man/nullq.8")));
  ASSERT_FALSE(page.empty());
  for (std::string_view c : nullq::admin::command_names)
    EXPECT_TRUE(has_word(page, std::string(c))) << c << " is not in nullq(8)";
}

}  // namespace
