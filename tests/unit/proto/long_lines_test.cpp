// Lines over 998 bytes before SMTP: quoted-printable for plain text bodies (decoded back here and
// compared with what the caller wrote), Postfix-style breaks for what cannot be re-encoded, folded
// headers, and the common case left byte for byte.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nullq/long_lines.hpp"
#include "nullq/smtp.hpp"

namespace smtp = nullq::proto::smtp;

namespace {

std::string head_of(const std::string& m) { return m.substr(0, m.find("\n\n") + 1); }
std::string body_of(const std::string& m) {
  std::size_t p = m.find("\n\n");
  return p == std::string::npos ? "" : m.substr(p + 2);
}

// The unfolded value of the first field `name` (exact case), or "<none>".
std::string field(const std::string& m, const std::string& name) {
  std::string h = head_of(m);
  std::size_t p = h.rfind(name + ":", 0) == 0 ? 0 : h.find("\n" + name + ":");
  if (p == std::string::npos) return "<none>";
  if (p) ++p;
  std::string v;
  std::size_t i = p + name.size() + 1;
  for (;;) {
    std::size_t e = h.find('\n', i);
    v += h.substr(i, e - i);
    if (e + 1 >= h.size() || (h[e + 1] != ' ' && h[e + 1] != '\t')) break;
    i = e + 1;
  }
  return v;
}

std::size_t count(const std::string& s, const std::string& x) {
  std::size_t n = 0;
  for (std::size_t p = s.find(x); p != std::string::npos; p = s.find(x, p + 1)) ++n;
  return n;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 2045 §6.7 decoder, strict about what the encoder must produce: lines of at most 76
// characters, no blank at a line end, '=' only as "=XX" (upper-case hex) or a soft break.
std::string qp_decode(const std::string& enc) {
  std::string out;
  std::size_t start = 0;
  while (start < enc.size()) {
    std::size_t lf = enc.find('\n', start);
    EXPECT_NE(lf, std::string::npos) << "encoded body must end with a line end";
    std::string line = enc.substr(start, lf - start);
    start = lf + 1;
    EXPECT_LE(line.size(), 76u) << line;
    if (!line.empty()) {
      EXPECT_TRUE(line.back() != ' ' && line.back() != '\t') << "trailing blank: " << line;
    }
    bool soft = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      EXPECT_TRUE((c >= 32 && c <= 126) || c == '\t') << "raw byte " << int(c);
      if (c != '=') {
        out.push_back(static_cast<char>(c));
      } else if (i + 1 == line.size()) {
        soft = true;
      } else {
        int hi = i + 2 < line.size() ? hexval(line[i + 1]) : -1, lo = i + 2 < line.size() ? hexval(line[i + 2]) : -1;
        EXPECT_TRUE(hi >= 0 && lo >= 0) << "bad escape in " << line;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      }
    }
    if (!soft) out.push_back('\n');
  }
  return out;
}

// What the DATA encoder puts on the wire for `m`: every line at most 998 bytes plus CRLF, and
// wire_size (SIZE=) is that byte count.
void expect_wire_ok(const std::string& m) {
  smtp::BodyEncoder e;
  std::string wire;
  e.feed(m, wire);
  e.finish(wire);
  EXPECT_EQ(smtp::wire_size(m), wire.size());
  std::size_t start = 0, longest = 0;
  // RFC 5321 §4.5.3.1.6: 998 bytes "not counting the leading dot duplicated for transparency".
  for (std::size_t p = wire.find("\r\n"); p != std::string::npos; start = p + 2, p = wire.find("\r\n", start))
    longest = std::max(longest, p - start - (wire.compare(start, 2, "..") == 0 ? 1 : 0));
  EXPECT_LE(longest, 998u);
}

std::string crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::string remove_all(std::string s, const std::string& x) {
  for (std::size_t p = s.find(x); p != std::string::npos; p = s.find(x, p)) s.erase(p, x.size());
  return s;
}

const std::string kJson = "{\"data\":\"" + std::string(2990, 'A') + "\"}";  // 3000 bytes

// ---- quoted-printable: the decoded body is what the caller wrote ----

struct QpCase {
  const char* name;
  std::string headers;  // with its final LF, without the blank line ("" = no header at all)
  std::string body;
};

TEST(LongLines, PlainTextBodiesGoAsQuotedPrintableAndDecodeToTheOriginal) {
  const std::vector<QpCase> cases = {
      {"3000-byte line", "From: cron@example.org\nSubject: out\n", kJson + "\n"},
      {"100 kB line", "Subject: big\n", std::string(100 * 1024, 'x') + "\nend\n"},
      {"999 bytes (one over)", "Subject: edge\n", std::string(999, 'y') + "\n"},
      {"trailing blanks", "Subject: t\n", std::string(1200, 'z') + "   \nnext\t\n \n\t\nlast  \n"},
      {"'=' everywhere", "Subject: eq\n", "a=b ==3D =\n" + std::string(1500, '=') + "\n=\n"},
      {"8-bit, CR, dot, From", "Subject: x\n",
       "caf\xc3\xa9 " + std::string(1000, 'q') + "\n.\nFrom the start\nlone\rcr\n\x01\x7f\n"},
      {"no final line end", "Subject: x\n", std::string(1200, 'n') + "\nno newline "},
      {"a space at 75", "Subject: x\n", std::string(74, 'a') + " " + std::string(1000, 'b') + "\n"},
      {"no header at all", "", std::string(1500, 'h') + "\nsecond\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string in = c.headers.empty() ? c.body : c.headers + "\n" + c.body;
    auto p = smtp::prepare_for_smtp(in);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->done, "lines over 998 bytes: body sent as quoted-printable");
    EXPECT_EQ(field(p->bytes, "MIME-Version"), " 1.0");
    EXPECT_EQ(field(p->bytes, "Content-Type"), " text/plain");
    EXPECT_EQ(field(p->bytes, "Content-Transfer-Encoding"), " quoted-printable");
    EXPECT_EQ(head_of(p->bytes).rfind(c.headers, 0), 0u) << "the caller's headers stay first, unchanged";
    EXPECT_EQ(qp_decode(body_of(p->bytes)), c.body);
    EXPECT_FALSE(smtp::is_8bit(p->bytes)) << "quoted-printable is 7bit";
    expect_wire_ok(p->bytes);
  }
}

TEST(LongLines, CrlfInputDecodesToTheSameLines) {
  std::string body = kJson + "\nsecond line \n";
  auto p = smtp::prepare_for_smtp(crlf("Subject: crlf\n\n" + body));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(qp_decode(body_of(p->bytes)), body);
  EXPECT_EQ(field(p->bytes, "Subject"), " crlf");
  EXPECT_EQ(p->bytes.find('\r'), std::string::npos);
  expect_wire_ok(p->bytes);
}

TEST(LongLines, AlreadyMimeText8bitKeepsItsTypeAndCharset) {
  const std::string body = "gr\xc3\xbc\xc3\x9f " + kJson + "\n";
  for (std::string cte : {"8bit", "7bit", " 8BIT (comment-free)", ""}) {
    SCOPED_TRACE(cte);
    bool plain = cte == "8bit" || cte == "7bit" || cte.empty();
    std::string h = "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n" +
                    (cte.empty() ? "" : "Content-Transfer-Encoding: " + cte + "\n") + "Subject: s\n";
    auto p = smtp::prepare_for_smtp(h + "\n" + body);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(count(p->bytes, "MIME-Version:"), 1u);
    EXPECT_EQ(field(p->bytes, "Content-Type"), " text/plain; charset=utf-8");
    EXPECT_EQ(count(p->bytes, "Content-Transfer-Encoding:"), 1u);
    if (plain) {
      EXPECT_EQ(field(p->bytes, "Content-Transfer-Encoding"), " quoted-printable");
      EXPECT_EQ(qp_decode(body_of(p->bytes)), body);
    } else {
      // An encoding this code does not know is left alone: the line is broken instead.
      EXPECT_NE(p->done.find("broken"), std::string::npos) << p->done;
    }
    expect_wire_ok(p->bytes);
  }
}

// ---- what cannot be re-encoded: broken as Postfix's smtp client does ----

TEST(LongLines, MultipartAndEncodedPartsAreBrokenWithALineEndAndASpace) {
  const std::string b64 = std::string(2500, 'Q') + "==";
  const struct {
    const char* name;
    std::string headers;
    std::string body;
    const char* why;
  } cases[] = {
      {"multipart", "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n",
       "--b\nContent-Type: text/plain\n\n" + kJson + "\n--b--\n", "Content-Type multipart/mixed"},
      {"base64 part", "MIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n", b64 + "\n",
       "Content-Transfer-Encoding base64"},
      {"quoted-printable already", "MIME-Version: 1.0\nContent-Transfer-Encoding: Quoted-Printable\n", kJson,
       "Content-Transfer-Encoding quoted-printable"},
      {"application/json", "Content-Type: application/json\n", kJson + "\n", "Content-Type application/json"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string in = c.headers + "\n" + c.body;
    auto p = smtp::prepare_for_smtp(in);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(head_of(p->bytes), c.headers) << "headers are not touched";
    EXPECT_NE(p->done.find(std::string("(") + c.why + " cannot be re-encoded)"), std::string::npos) << p->done;
    EXPECT_EQ(remove_all(p->bytes, "\n "), remove_all(in, "\n ")) << "only line end + SPACE inserted";
    expect_wire_ok(p->bytes);
  }
  // 3000 bytes: breaks after 998, then every 997 more (the inserted SPACE counts): 8 bytes left.
  auto p = smtp::prepare_for_smtp("Content-Type: application/json\n\n" + kJson + "\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(body_of(p->bytes), kJson.substr(0, 998) + "\n " + kJson.substr(998, 997) + "\n " + kJson.substr(1995, 997) +
                                  "\n " + kJson.substr(2992) + "\n");
  EXPECT_NE(p->done.find("broken 3 times"), std::string::npos) << p->done;
}

// ---- headers ----

TEST(LongLines, LongHeaderIsFoldedAtBlanksAndUnfoldsToTheOriginal) {
  std::string words;
  while (words.size() < 3000) words += " word" + std::to_string(words.size());
  const std::string in = "Subject:" + words + "\nX-Token: " + std::string(2100, 't') + "\n\nshort body\n";
  auto p = smtp::prepare_for_smtp(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(field(p->bytes, "Subject"), words) << "folded before a blank: unfolding gives it back";
  EXPECT_EQ(body_of(p->bytes), "short body\n") << "a short body is not re-encoded";
  EXPECT_EQ(field(p->bytes, "MIME-Version"), "<none>");
  // No blank to fold at: a line end and a SPACE at the limit.
  EXPECT_EQ(remove_all(field(p->bytes, "X-Token"), " "), std::string(2100, 't'));
  EXPECT_NE(p->done.find("header lines over 998 bytes folded"), std::string::npos) << p->done;
  EXPECT_EQ(p->done.find("quoted-printable"), std::string::npos) << p->done;
  expect_wire_ok(p->bytes);

  // A long header and a long plain body: both.
  auto both = smtp::prepare_for_smtp("Subject:" + words + "\n\n" + kJson + "\n");
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->done, "lines over 998 bytes: body sent as quoted-printable; header lines over 998 bytes folded 3 times");
  EXPECT_EQ(qp_decode(body_of(both->bytes)), kJson + "\n");
  expect_wire_ok(both->bytes);
}

// Generated bodies (fixed seed): blanks, '=', CR, LF, 8-bit bytes and long runs anywhere. Every
// result is sendable, and a plain text body decodes back to itself (CR LF read as LF).
TEST(LongLines, GeneratedBodiesAlwaysGoOutWithin998AndRoundTrip) {
  std::uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u, seed >> 8; };
  const char alphabet[] = {' ', '\t', '=', '\r', '\n', '.', 'a', 'Z', '\xc3', '\xff', '\0', ':'};
  for (int n = 0; n < 300; ++n) {
    std::string body;
    std::size_t len = next() % 4000;
    while (body.size() < len) {
      if (next() % 8 == 0) body.append(next() % 1500, 'r');
      else body.push_back(alphabet[next() % sizeof alphabet]);
    }
    bool multipart = n % 3 == 0;
    std::string in = (multipart ? "Content-Type: multipart/mixed; boundary=b\n" : "Subject: gen\n") + std::string("\n") + body;
    SCOPED_TRACE(n);
    auto p = smtp::prepare_for_smtp(in);
    ASSERT_EQ(p.has_value(), smtp::has_long_line(in));
    if (!p) continue;
    expect_wire_ok(p->bytes);
    if (multipart) {
      // Every line end (CRLF, LF, lone CR: the DATA encoder sends each as CRLF) comes out as LF.
      std::string lf;
      for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') continue;
        lf.push_back(in[i] == '\r' ? '\n' : in[i]);
      }
      EXPECT_EQ(remove_all(p->bytes, "\n "), remove_all(lf, "\n "));
    } else {
      std::string want;
      for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') continue;
        want.push_back(body[i]);
      }
      EXPECT_EQ(qp_decode(body_of(p->bytes)), want);
    }
  }
}

// ---- the common case ----

TEST(LongLines, NoLongLineMeansNothingChanges) {
  const std::string cases[] = {
      "",
      "Subject: hi\n\nhello\n",
      "Subject: hi\n\n" + std::string(998, 'a') + "\n" + std::string(998, 'b'),
      crlf("Subject: hi\n\n" + std::string(998, 'a') + "\n"),
      "Subject: hi\n\n" + std::string(600, 'a') + "\r" + std::string(600, 'b') + "\n",  // a lone CR ends a line
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + std::string(900, '=') + "\n--b--\n",
  };
  for (const auto& in : cases) {
    EXPECT_FALSE(smtp::has_long_line(in));
    EXPECT_FALSE(smtp::prepare_for_smtp(in).has_value()) << in.substr(0, 60);
  }
  EXPECT_TRUE(smtp::has_long_line(std::string(999, 'a')));
  EXPECT_TRUE(smtp::has_long_line(crlf("a\n" + std::string(999, 'a') + "\n")));
}

}  // namespace
