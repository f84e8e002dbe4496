#include "harness.hpp"

#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace nullq::send::it {

std::string bin_dir() {
  const char* d = std::getenv("NULLQ_BIN_DIR");
  if (!d || !*d) throw std::runtime_error("NULLQ_BIN_DIR is not set");
  return d;
}

TempDir::TempDir() {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t && *t ? t : "/tmp") + "/nullq-send-it.XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Child::Child(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
             const std::string& err_path, const std::string& stdin_data)
    : err_path_(err_path) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const auto& e : extra_env) env.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    int fd = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) ::dup2(fd, 2);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1);
    ::execve(argp[0], argp.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  const char* p = stdin_data.data();
  std::size_t left = stdin_data.size();
  ::signal(SIGPIPE, SIG_IGN);
  while (left > 0) {
    ssize_t n = ::write(in[1], p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(in[1]);
}

Child::~Child() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
}

void Child::signal(int signo) {
  if (!reaped_) ::kill(pid_, signo);
}

bool Child::wait(std::chrono::milliseconds limit, int& status) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!reaped_) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  status = status_;
  return true;
}

bool Child::running() {
  int st;
  return !wait(std::chrono::milliseconds(0), st);
}

std::string Child::err() const { return read_file(err_path_); }

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, const std::string& stdin_data,
        std::chrono::milliseconds limit) {
  TempDir d;
  RunResult r;
  Child c(argv, extra_env, d.path() + "/stderr", stdin_data);
  if (!c.wait(limit, r.status)) {
    c.signal(SIGKILL);
    int st;
    c.wait(std::chrono::seconds(5), st);
    r.status = -1;
  }
  r.err = c.err();
  return r;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

QueueName parse_name(const std::string& name) {
  QueueName out;
  const auto c1 = name.find(','), c2 = name.rfind(',');
  out.id = name.substr(0, c1);
  out.attempts = static_cast<unsigned>(std::stoul(name.substr(c1 + 1, c2 - c1 - 1)));
  out.next = std::stoll(name.substr(c2 + 1));
  return out;
}

std::size_t count_of(const std::string& s, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t i = s.find(part); i != std::string::npos; i = s.find(part, i + 1)) ++n;
  return n;
}

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

std::vector<std::string> pending_rcpts(const std::string& file) {
  std::string text = read_file(file);
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos || eol == pos) break;
    if (text[pos] == 'T') {
      std::size_t colon = text.find(':', pos);
      std::size_t len = std::stoul(text.substr(pos + 1, colon - pos - 1));
      out.push_back(text.substr(colon + 1, len));
      eol = text.find('\n', colon + 1 + len);
    }
    pos = eol + 1;
  }
  return out;
}

namespace {
std::string ns(const std::string& s) { return std::to_string(s.size()) + ":" + s + ","; }
}  // namespace

std::string drop_frame(const std::string& sender, const std::vector<std::string>& rcpts, const std::string& message) {
  std::string inner = ns(sender);
  for (const auto& r : rcpts) inner += ns(r);
  return ns(inner) + message;
}

TestSpool::TestSpool() {
  spool = dir.path() + "/spool";
  config = dir.path() + "/nullq.yaml";
  log = dir.path() + "/send.log";
  // The tree nullq-send would create (queue::ensure_spool), so that injecting first works too.
  ::mkdir(spool.c_str(), 0700);
  for (const char* d : {"/tmp", "/new", "/queue", "/failed"}) ::mkdir((spool + d).c_str(), 0700);
  ::mkfifo((spool + "/trigger").c_str(), 0600);
}

void TestSpool::write_config(const std::vector<std::string>& smarthosts, const std::string& extra_yaml,
                         const std::string& queue_extra) {
  std::string y = "hostname: test.example\nsmarthosts:\n";
  for (const auto& h : smarthosts) y += "  - " + h + "\n";
  y += "queue:\n  dir: " + spool + "\n" + queue_extra;
  y += extra_yaml;
  write_file(config, y);
}

std::string TestSpool::inject(const std::string& sender, const std::vector<std::string>& rcpts, const std::string& message) {
  nullq::testing::RunOptions o;
  o.input = drop_frame(sender, rcpts, message);
  auto r = nullq::testing::run({bin_dir() + "/nullq-queue", "-d", spool}, o);
  if (r.code != 0) throw std::runtime_error("nullq-queue failed (" + std::to_string(r.code) + "): " + r.err);
  // nullq-queue prints the id; a running daemon may already have moved the file out of new/.
  return r.out.substr(0, r.out.find('\n'));
}

RunResult TestSpool::once(const std::vector<std::string>& extra_env) {
  return run({bin_dir() + "/nullq-send", "--once", "--stderr", "--config", config}, extra_env, "",
             std::chrono::seconds(60));
}

}  // namespace nullq::send::it
