// harness.hpp — helpers for nullq-send's integration tests: a temporary spool and config, running
// the real programs from NULLQ_BIN_DIR, injecting messages, and waiting with deadlines.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nullq::send::it {

std::string bin_dir();

// mkdtemp under $TMPDIR or /tmp; removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);
// Regular files in `dir` (names only, sorted); empty when the directory does not exist.
std::vector<std::string> list_dir(const std::string& dir);

bool contains(const std::string& s, const std::string& part);
bool ends_with(const std::string& s, const std::string& tail);
std::size_t count_of(const std::string& s, const std::string& part);  // occurrences, overlapping too
// A queue file's name, "ID,ATTEMPTS,NEXT", taken apart.
struct QueueName {
  std::string id;
  unsigned attempts = 0;
  long long next = 0;
};
QueueName parse_name(const std::string& name);
// A port on 127.0.0.1 that nothing listens on (bound, then closed).
std::uint16_t closed_port();
// Recipients still pending in a queue file (its T records; the envelope ends at a blank line).
std::vector<std::string> pending_rcpts(const std::string& file);

struct RunResult {
  int status = -1;       // exit status, or 128 + signal
  std::string err;       // stderr
};

// A child process with stderr going to a file.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, const std::string& err_path,
        const std::string& stdin_data = "");
  ~Child();  // kills (SIGKILL) and reaps if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signo);
  // Waits up to `limit`; returns false on timeout.
  bool wait(std::chrono::milliseconds limit, int& status);
  bool running();
  std::string err() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  std::string err_path_;
};

// Runs to completion (bounded by `limit`; killed if it overruns, status then -1).
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
        const std::string& stdin_data = "", std::chrono::milliseconds limit = std::chrono::seconds(30));

// Polls `pred` every few milliseconds until it holds or `limit` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(10));

// The drop-pipe framing nullq-queue reads: NS(NS(sender) NS(rcpt)...) then the message.
std::string drop_frame(const std::string& sender, const std::vector<std::string>& rcpts, const std::string& message);

// A test spool and config. `smarthosts` lines are YAML list items ("qmtp://127.0.0.1:1234").
struct TestSpool {
  TempDir dir;
  std::string spool;   // dir/spool
  std::string config;  // dir/nullq.yaml
  std::string log;     // dir/send.log (stderr of the last run)

  TestSpool();
  // `queue_extra`: more keys under queue: ("  retry_min: 5m\n"); `extra_yaml`: more top-level sections.
  void write_config(const std::vector<std::string>& smarthosts, const std::string& extra_yaml = "",
                    const std::string& queue_extra = "");
  // Injects with the real nullq-queue -d spool; returns the new queue id (from new/ listing) or "".
  std::string inject(const std::string& sender, const std::vector<std::string>& rcpts, const std::string& message);
  // nullq-send --once --stderr --config ...
  RunResult once(const std::vector<std::string>& extra_env = {});
  std::vector<std::string> queued() const { return list_dir(spool + "/queue"); }
  std::vector<std::string> incoming() const { return list_dir(spool + "/new"); }
  std::vector<std::string> failed() const { return list_dir(spool + "/failed"); }
};

}  // namespace nullq::send::it
