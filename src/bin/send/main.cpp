// nullq-send: the queue flusher. All logic lives in src/send (flusher.cpp).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "nullq/send/flusher.hpp"
#include "nullq_build_config.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  nullq::send::Options options;
  std::string error;
  if (!nullq::send::parse_args(args, options, error)) {
    std::fprintf(stderr, "nullq-send: %s\n%s", error.c_str(), nullq::send::usage());
    return 64;
  }
  if (options.help) {
    std::fputs(nullq::send::usage(), stdout);
    return 0;
  }
  if (options.version) {
    std::printf("nullq-send %s\n", NULLQ_VERSION);
    return 0;
  }
#ifdef NULLQ_TEST_USER
  // A test build (tests/integration/owner): its own system spool, user and account files.
  options.owner = {NULLQ_TEST_SPOOL_DIR, NULLQ_TEST_USER, {NULLQ_TEST_PASSWD_FILE, NULLQ_TEST_GROUP_FILE}};
#endif
  try {
    return nullq::send::run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nullq-send: %s\n", e.what());
    return 75;
  }
}
