// The test identity provider's HTTP reader, table-driven: bytes in, a request or an HTTP status out.
#include <gtest/gtest.h>

#include <string>

#include "idp_http.hpp"

namespace http = nullq::testhost::http;

namespace {

TEST(IdpHttp, ReadsACompletePostWithItsBody) {
  std::string raw = "POST /token?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    "Content-Length: 9\r\n\r\ngrant=a+bEXTRA";
  http::Request r;
  auto used = http::parse(raw, r);
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, raw.size() - 5);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/token");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_EQ(r.headers["content-type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(r.body, "grant=a+b");
}

TEST(IdpHttp, WaitsForMoreWhileTheRequestIsIncomplete) {
  http::Request r;
  for (std::string part : {"POST /token HTTP/1.1\r\nHost: a\r\n", "POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab"}) {
    auto used = http::parse(part, r);
    ASSERT_TRUE(used) << part;
    EXPECT_EQ(*used, 0u) << part;
  }
}

TEST(IdpHttp, RefusesWhatIsOutsideItsGrammarWithTheRightStatus) {
  struct Case {
    std::string raw;
    int status;
  } cases[] = {
      {"POST /token HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400},                                   // no Host
      {"POST /token HTTP/1.0\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 400},                        // not 1.1
      {"POST token HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 400},                         // not origin-form
      {"POST /token HTTP/1.1\r\nHost: a\r\n\r\n", 411},                                             // no length
      {"POST /token HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501},               // chunked
      {"POST /token HTTP/1.1\r\nHost: a\r\nContent-Length: 99999\r\n\r\n", 413},                    // too large
      {"POST /token HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400},                       // bad length
      {"POST /token HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},  // repeated
      {"POST /token HTTP/1.1\r\nHost: a\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n", 400},         // header name
      {"POST /token HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\nContent-Length: 0\r\n\r\n", 400},        // control byte
      {"POST /token HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", 431},       // head too big
      {"POST /token HTTP/1.1\r\nHost: a\r\nX: " + std::string(9000, 'a'), 431},                     // ... unfinished
  };
  for (const auto& c : cases) {
    http::Request r;
    auto used = http::parse(c.raw, r);
    ASSERT_FALSE(used) << c.raw.substr(0, 80);
    EXPECT_EQ(used.error().code, c.status) << c.raw.substr(0, 80);
  }
}

TEST(IdpHttp, DecodesFormsAndRefusesBadEscapesAndRepeats) {
  auto f = http::decode_form("a=1&b=x%2By+z&c=&&d");
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)["a"], "1");
  EXPECT_EQ((*f)["b"], "x+y z");
  EXPECT_EQ((*f)["c"], "");
  EXPECT_EQ((*f)["d"], "");
  for (const char* bad : {"a=%2", "a=%zz", "a=1&a=2", "a=%"}) EXPECT_FALSE(http::decode_form(bad)) << bad;
  EXPECT_EQ(http::url_encode("a b/c~"), "a%20b%2Fc~");
}

}  // namespace
