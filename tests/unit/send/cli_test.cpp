#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <cstring>

#include "nullq/send/flusher.hpp"
#include "nullq/send/lock.hpp"
#include "nullq/send/notify.hpp"

namespace nullq::send {
namespace {

TEST(Cli, Arguments) {
  Options o;
  std::string err;
  ASSERT_TRUE(parse_args({"--once", "--config", "/tmp/x.yaml", "--stderr"}, o, err));
  EXPECT_TRUE(o.once);
  EXPECT_TRUE(o.force_stderr);
  EXPECT_FALSE(o.quiet);
  EXPECT_EQ(o.config_path, "/tmp/x.yaml");
  ASSERT_TRUE(parse_args({"--config=/a.yaml", "--once", "--quiet"}, o, err));
  EXPECT_EQ(o.config_path, "/a.yaml");
  EXPECT_TRUE(o.quiet);
  ASSERT_TRUE(parse_args({"--config=/a.yaml"}, o, err));
  EXPECT_FALSE(o.once);
  EXPECT_FALSE(o.quiet);
  EXPECT_FALSE(parse_args({"--config"}, o, err));
  EXPECT_EQ(err, "--config needs a file name");
  EXPECT_FALSE(parse_args({"--bogus"}, o, err));
  EXPECT_EQ(err, "unknown argument '--bogus'");
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/nullq-send-unit.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

using Lock = TempDir;

TEST_F(Lock, OnlyOneHolder) {
  auto a = SpoolLock::try_acquire(dir_ + "/lock");
  ASSERT_TRUE(a.ok()) << a.error().message();
  auto b = SpoolLock::try_acquire(dir_ + "/lock");
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(SpoolLock::is_busy(b.error()));
  { SpoolLock released = std::move(a).value(); }
  auto c = SpoolLock::try_acquire(dir_ + "/lock");
  EXPECT_TRUE(c.ok());
  auto d = SpoolLock::try_acquire(dir_ + "/missing/lock");
  ASSERT_FALSE(d.ok());
  EXPECT_FALSE(SpoolLock::is_busy(d.error()));
}

using Notify = TempDir;

TEST_F(Notify, SendsOneDatagram) {
  std::string path = dir_ + "/notify";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_TRUE(sd_notify_to(path, "READY=1\nSTATUS=3 queued").ok());
  char buf[128] = {};
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "READY=1\nSTATUS=3 queued");
  ::close(fd);
  EXPECT_TRUE(sd_notify_to("", "READY=1").ok()) << "no socket: nothing to do";
  EXPECT_TRUE(sd_notify_to("relative/path", "READY=1").ok()) << "ignored";
  EXPECT_FALSE(sd_notify_to(dir_ + "/nobody", "READY=1").ok());
}

}  // namespace
}  // namespace nullq::send
